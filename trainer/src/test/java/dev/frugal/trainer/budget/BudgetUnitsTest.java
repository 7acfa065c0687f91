package dev.frugal.trainer.budget;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Budget options: durations, energies, guardrail lists, and clear messages for malformed ones. */
class BudgetUnitsTest {
    @Test
    void durationsInEveryForm() {
        assertEquals(600, BudgetUnits.parseDuration("t", "10m"), 1e-9);
        assertEquals(5400, BudgetUnits.parseDuration("t", "1h30m"), 1e-9);
        assertEquals(90, BudgetUnits.parseDuration("t", "90"), 1e-9);
        assertEquals(90, BudgetUnits.parseDuration("t", "90s"), 1e-9);
        assertEquals(150, BudgetUnits.parseDuration("t", "2.5m"), 1e-9);
        assertEquals(0.25, BudgetUnits.parseDuration("t", "250ms"), 1e-9);
        assertEquals(3723, BudgetUnits.parseDuration("t", "1h 2m 3s"), 1e-9);
        assertEquals("2m0s", BudgetUnits.formatDuration(120));
        assertEquals("1h2m3s", BudgetUnits.formatDuration(3723));
        assertEquals("4.2s", BudgetUnits.formatDuration(4.2));
    }

    @Test
    void energiesInEveryUnit() {
        assertEquals(50_000, BudgetUnits.parseEnergy("e", "50kJ"), 1e-6);
        assertEquals(300, BudgetUnits.parseEnergy("e", "300J"), 1e-9);
        assertEquals(300, BudgetUnits.parseEnergy("e", "300"), 1e-9);
        assertEquals(1.5e6, BudgetUnits.parseEnergy("e", "1.5MJ"), 1e-3);
        assertEquals(720_000, BudgetUnits.parseEnergy("e", "0.2kWh"), 1e-3);
        assertEquals(3600, BudgetUnits.parseEnergy("e", "1 Wh"), 1e-9);
        assertEquals("50.0 kJ", BudgetUnits.formatEnergy(50_000));
    }

    @Test
    void malformedBudgetsSayWhatIsExpected() {
        IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> BudgetUnits.parseDuration("budget-time", "10 parsecs"));
        assertTrue(t.getMessage().contains("budget-time") && t.getMessage().contains("'10 parsecs'") && t.getMessage().contains("1h30m"),
                t.getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BudgetUnits.parseEnergy("budget-energy", "5 calories"));
        assertTrue(e.getMessage().contains("budget-energy") && e.getMessage().contains("kJ"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BudgetUnits.parseDuration("budget-time", "0s"));
        assertThrows(IllegalArgumentException.class, () -> BudgetUnits.parseDuration("budget-time", ""));
        assertThrows(IllegalArgumentException.class, () -> BudgetUnits.parseEnergy("budget-energy", "0kJ"));
        IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> Budgets.parse(null, null, "2 GiBs", null));
        assertTrue(m.getMessage().startsWith("budget-memory"), m.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Budgets.parse(null, null, null, 0L));
    }

    @Test
    void budgetsAndGuardrails() {
        Budgets b = Budgets.parse("2m", "50kJ", "1GiB", 100L);
        assertEquals(120, b.timeSeconds(), 1e-9);
        assertEquals(50_000, b.energyJoules(), 1e-6);
        assertEquals(1L << 30, b.memoryBytes());
        assertEquals(100, b.steps());
        assertTrue(b.any() && b.watchesRun());
        assertEquals("time 2m0s, energy 50.0 kJ, memory 1.0 GiB, steps 100", b.describe());
        assertFalse(Budgets.NONE.any());
        assertFalse(new Budgets(-1, -1, 1024, -1).watchesRun(), "memory alone is settled before the first step");
        assertEquals(Guardrail.DEFAULT, Guardrail.parseList("evaluate-less,checkpoint,shrink-batch,stop"));
        assertEquals(List.of(Guardrail.STOP, Guardrail.EVALUATE_LESS), Guardrail.parseList(" stop , evaluate-less "));
        assertEquals(List.of(), Guardrail.parseList("none"));
        IllegalArgumentException g = assertThrows(IllegalArgumentException.class, () -> Guardrail.parseList("stop,panic"));
        assertTrue(g.getMessage().contains("'panic'") && g.getMessage().contains("evaluate-less"), g.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Guardrail.parseList("stop,stop"));
    }
}
