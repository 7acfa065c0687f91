package dev.frugal.trainer.budget;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The budget guard on simulated runs: it stops before a step would pass a budget, and evaluates less when the rest would. */
class BudgetGuardTest {
    private static Usage used(double seconds, double joules) {
        return new Usage(seconds, seconds, joules, 0, -1, -1);
    }

    /**
     * Runs steps of {@code stepSeconds} (the first {@code firstSeconds}, the JIT's warm-up) until
     * the guard stops; then a final evaluation and checkpoint of {@code finalSeconds}. Returns the
     * wall time at the end.
     */
    private static double simulate(BudgetGuard guard, double firstSeconds, double stepSeconds, double finalSeconds, long[] stepsOut) {
        double t = 0;
        long steps = 0;
        while (guard.stopBeforeStep(used(t, t * 50), steps, finalSeconds) == null) {
            double dt = steps == 0 ? firstSeconds : stepSeconds;
            t += dt;
            steps++;
            guard.recordStep(dt, dt * 50);
        }
        stepsOut[0] = steps;
        return t + finalSeconds;
    }

    @Test
    void aTimeBudgetEndsWithRoomForTheFinalEvaluationAndCheckpoint() {
        BudgetGuard guard = new BudgetGuard(new Budgets(60, -1, -1, -1), Guardrail.DEFAULT, 1);
        long[] steps = new long[1];
        double end = simulate(guard, 4.0, 0.1, 2.0, steps);
        assertTrue(end <= 60 + 0.1, "ends within the budget and one step: " + end);
        assertTrue(end > 60 - 1.5 - 0.2, "and does not stop long before it: " + end + " (checkpoint guess 1 s)");
        assertEquals(1, guard.actions().size());
        GuardrailAction a = guard.actions().getFirst();
        assertEquals(Guardrail.STOP, a.guardrail());
        assertEquals("budget-time", a.budget());
        assertEquals(steps[0], a.step());
        assertTrue(a.reason().contains("of 1m0s"), a.reason());
    }

    @Test
    void theWarmUpStepAloneDoesNotEndTheRun() {
        // a first step 100 times slower than the rest would make any final evaluation look huge
        BudgetGuard guard = new BudgetGuard(new Budgets(30, -1, -1, -1), Guardrail.DEFAULT, 1);
        long[] steps = new long[1];
        simulate(guard, 5.0, 0.05, 1.0, steps);
        assertTrue(steps[0] > 400, "steps " + steps[0]);
    }

    @Test
    void slowWarmUpStepsDoNotEndARunOnAGuessedEvaluation() {
        // 20 slow steps while the JIT warms up make an unmeasured evaluation look 10x too expensive
        BudgetGuard guard = new BudgetGuard(new Budgets(30, -1, -1, -1), Guardrail.DEFAULT, 1);
        double t = 0;
        long steps = 0;
        while (guard.stopBeforeStep(used(t, 0), steps, 20 * (steps < 20 ? 1.0 : 0.1)) == null) {
            double dt = steps < 20 ? 0.2 : 0.02;
            t += dt;
            steps++;
            guard.recordStep(dt, 0);
        }
        assertTrue(steps > 20, "the run went past its warm-up: " + steps + " steps");
        assertTrue(t + 2 + 1 <= 30 + 0.02, "and still ends in time for the real evaluation (2 s) and checkpoint: " + t);
    }

    @Test
    void anEnergyBudgetUsesTheEnergyOfASteps() {
        BudgetGuard guard = new BudgetGuard(new Budgets(-1, 10_000, -1, -1), Guardrail.DEFAULT, 1);
        long[] steps = new long[1];
        double end = simulate(guard, 1.0, 0.2, 2.0, steps);
        assertTrue(end * 50 <= 10_000 + 0.2 * 50, "joules at the end " + end * 50);
        assertEquals("budget-energy", guard.actions().getFirst().budget());
    }

    @Test
    void aStepBudgetEndsAtItsStep() {
        BudgetGuard guard = new BudgetGuard(new Budgets(-1, -1, -1, 7), List.of(), 1);
        long[] steps = new long[1];
        simulate(guard, 0.1, 0.1, 0.1, steps);
        assertEquals(7, steps[0]);
        assertEquals("budget-steps", guard.actions().getFirst().budget());
    }

    @Test
    void evaluationsThinOutWhenTheRestWouldOverrun() {
        BudgetGuard guard = new BudgetGuard(new Budgets(100, -1, -1, -1), Guardrail.DEFAULT, 1);
        guard.recordStep(1, 1);
        guard.recordStep(0.1, 1);
        guard.recordEvaluation(5, 5);
        // 10 epochs left of 100 steps: 10 s of steps + 10 evaluations of 5 s, after 50 s: 110 s > 100 s
        assertEquals(2, guard.evalEvery(used(50, 0), 100, 100, 10));
        assertEquals(Guardrail.EVALUATE_LESS, guard.drainNew().getFirst().guardrail());
        // now 10 s + 5 x 5 s = 35 s after 50 s: fits, stays at 2
        assertEquals(2, guard.evalEvery(used(50, 0), 100, 100, 10));
        assertTrue(guard.drainNew().isEmpty());
        // without the guardrail, nothing changes
        BudgetGuard strict = new BudgetGuard(new Budgets(100, -1, -1, -1), List.of(Guardrail.STOP), 1);
        strict.recordStep(1, 1);
        strict.recordStep(0.1, 1);
        strict.recordEvaluation(5, 5);
        assertEquals(1, strict.evalEvery(used(50, 0), 100, 100, 10));
    }

    @Test
    void aBudgetAlreadySpentRefusesToStart() {
        BudgetGuard guard = new BudgetGuard(new Budgets(60, 1000, -1, 10), Guardrail.DEFAULT, 1);
        IllegalStateException t = assertThrows(IllegalStateException.class, () -> guard.checkNotSpent(used(61, 0), 0));
        assertTrue(t.getMessage().contains("budget-time 1m0s is already spent") && t.getMessage().contains("1m1s"), t.getMessage());
        assertThrows(IllegalStateException.class, () -> guard.checkNotSpent(used(1, 1000), 0));
        assertThrows(IllegalStateException.class, () -> guard.checkNotSpent(used(1, 1), 10));
        guard.checkNotSpent(used(1, 1), 9);
        assertNull(guard.stopBeforeStep(used(0, 0), 0, 1), "nothing measured: the first step runs");
    }
}
