package dev.frugal.trainer.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Parsing of {@code --schedule} specs, their errors, and the schedules' edge cases. */
class LrSchedulesTest {
    private static String error(String spec, long totalSteps) {
        return assertThrows(IllegalArgumentException.class, () -> LrSchedules.parse(spec, 0.1, totalSteps)).getMessage();
    }

    @Test
    void parsesEveryName() {
        assertInstanceOf(ConstantSchedule.class, LrSchedules.parse(" constant ", 0.1, 0));
        assertInstanceOf(StepSchedule.class, LrSchedules.parse("step:every=10", 0.1, 0));
        assertInstanceOf(WarmupCosineSchedule.class, LrSchedules.parse("warmup-cosine:warmup=3", 0.1, 10));
        assertInstanceOf(OneCycleSchedule.class, LrSchedules.parse("one-cycle", 0.1, 10));
        assertInstanceOf(OneCycleSchedule.class, LrSchedules.parse("one-cycle:", 0.1, 10));
        assertEquals("step(base=0.1, every=10, gamma=0.5)", LrSchedules.parse("step:every=10, gamma=0.5", 0.1, 0).describe());
        assertEquals("warmup-cosine(base=0.1, warmup=3, total=10, min=0.01)",
            LrSchedules.parse("warmup-cosine:warmup=3,min=0.01", 0.1, 10).describe());
        assertEquals("one-cycle(max=0.1, total=10, pct=0.3, div=25.0, final-div=10000.0)",
            LrSchedules.parse("one-cycle", 0.1, 10).describe());
        assertEquals("constant(lr=0.1)", LrSchedules.parse("constant", 0.1, 0).describe());
    }

    @Test
    void unknownNameListsTheValidOnes() {
        String message = error("cosine", 100);
        assertTrue(message.contains("'cosine'"), message);
        for (String valid : LrSchedules.SYNTAX) {
            assertTrue(message.contains(valid), message);
        }
        assertTrue(error("", 100).contains("warmup-cosine"));
    }

    @Test
    void unknownKeyListsTheValidOnes() {
        String message = error("step:every=3,factor=0.5", 0);
        assertTrue(message.contains("'factor'") && message.contains("step:every=N[,gamma=G]"), message);
        message = error("one-cycle:pct_start=0.3", 100);
        assertTrue(message.contains("'pct_start'") && message.contains("final-div=F"), message);
        assertTrue(error("constant:lr=3", 0).contains("takes no keys"));
    }

    @Test
    void warmupMayBeAShareOfThePlannedSteps() {
        assertEquals("warmup-cosine(base=0.1, warmup=200, total=7500, min=0.0)",
            LrSchedules.parse("warmup-cosine:warmup=2.67%", 0.1, 7500).describe());
        // the same spec on a short run: rounded, and always below the total
        assertEquals("warmup-cosine(base=0.1, warmup=2, total=80, min=0.0)",
            LrSchedules.parse("warmup-cosine:warmup=2.67%", 0.1, 80).describe());
        assertEquals("warmup-cosine(base=0.1, warmup=0, total=1, min=0.0)",
            LrSchedules.parse("warmup-cosine:warmup=99%", 0.1, 1).describe());
        assertTrue(error("warmup-cosine:warmup=100%", 10).contains("below 100%"));
        assertTrue(error("warmup-cosine:warmup=-1%", 10).contains("at least 0%"));
        assertTrue(error("warmup-cosine:warmup=a lot%", 10).contains("percentage such as 2.5%"));
    }

    @Test
    void malformedSpecsAreRejected() {
        assertTrue(error("step", 0).contains("missing required key 'every'"));
        assertTrue(error("warmup-cosine:min=0", 100).contains("missing required key 'warmup'"));
        assertTrue(error("step:every", 0).contains("key=value"));
        assertTrue(error("step:every=3,every=4", 0).contains("given twice"));
        assertTrue(error("step:every=2.5", 0).contains("whole number"));
        assertTrue(error("step:every=3,gamma=half", 0).contains("must be a number"));
        assertTrue(error("step:every=0", 0).contains("positive"));
        assertTrue(error("warmup-cosine:warmup=10", 10).contains("warmup must be between"));
        assertTrue(error("warmup-cosine:warmup=1,min=1", 10).contains("must not exceed"));
        assertTrue(error("one-cycle:pct=1", 10).contains("strictly between"));
        assertTrue(error("one-cycle:div=0", 10).contains("div"));
    }

    @Test
    void scheduleNeedingTheLengthSaysSo() {
        assertTrue(error("one-cycle", 0).contains("total number of steps"));
        assertTrue(error("warmup-cosine:warmup=1", 0).contains("--steps"));
    }

    @Test
    void negativeStepIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new ConstantSchedule(0.1).lr(-1));
        assertThrows(IllegalArgumentException.class, () -> new OneCycleSchedule(0.1, 10).lr(-1));
        assertThrows(IllegalArgumentException.class, () -> new ConstantSchedule(Double.NaN));
    }

    @Test
    void pastTheEndKeepsTheFinalRate() {
        LrSchedule cosine = new WarmupCosineSchedule(0.1, 2, 10, 0.001);
        assertEquals(0.0, cosine.lr(0));
        assertEquals(0.05, cosine.lr(1), 1e-15);
        assertEquals(0.1, cosine.lr(2), 1e-15);
        assertEquals(0.001, cosine.lr(10));
        assertEquals(0.001, cosine.lr(1_000_000));
        LrSchedule oneCycle = new OneCycleSchedule(0.1, 10);
        assertEquals(0.1 / 25 / 1e4, oneCycle.lr(9), 1e-18);
        assertEquals(0.1 / 25 / 1e4, oneCycle.lr(50));
        assertEquals(0.1 / 25, oneCycle.lr(0), 1e-15);
    }

    @Test
    void stepDecayDoesNotUnderflowIntoNaN() {
        LrSchedule step = new StepSchedule(0.1, 1, 0.5);
        assertEquals(0.0, step.lr(Long.MAX_VALUE));
    }
}
