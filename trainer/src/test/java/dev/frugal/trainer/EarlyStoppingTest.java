package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When {@link EarlyStopping} says stop, and what it remembers as best. */
class EarlyStoppingTest {
    @Test
    void stopsAfterPatienceEvaluationsWithoutImprovement() {
        EarlyStopping stop = new EarlyStopping("test_accuracy", true, 2, 0.0);
        assertEquals("test_accuracy", stop.metric());
        assertTrue(Double.isNaN(stop.best()));
        assertEquals(-1, stop.bestIndex());
        assertFalse(stop.update(0.80));
        assertFalse(stop.update(0.85));
        assertFalse(stop.update(0.84));
        assertTrue(stop.update(0.85), "equal to the best is no improvement");
        assertEquals(0.85, stop.best());
        assertEquals(1, stop.bestIndex());
        assertTrue(stop.update(0.83), "stays stopped");
    }

    @Test
    void improvementResetsTheCount() {
        EarlyStopping stop = new EarlyStopping("test_accuracy", true, 2, 0.0);
        stop.update(0.5);
        assertFalse(stop.update(0.4));
        assertFalse(stop.update(0.6));
        assertEquals(0, stop.evaluationsSinceBest());
        assertFalse(stop.update(0.6));
        assertTrue(stop.update(0.59));
        assertEquals(2, stop.bestIndex());
    }

    @Test
    void lowerIsBetterForLosses() {
        EarlyStopping stop = new EarlyStopping("test_loss", false, 1, 0.0);
        assertFalse(stop.update(1.0));
        assertFalse(stop.update(0.9));
        assertTrue(stop.update(0.95));
        assertEquals(0.9, stop.best());
        assertEquals(1, stop.bestIndex());
    }

    @Test
    void gainsNotAboveMinDeltaDoNotCount() {
        // binary-exact values, so "exactly min-delta" really is exact
        EarlyStopping stop = new EarlyStopping("test_loss", false, 2, 0.25);
        stop.update(1.0);
        assertFalse(stop.update(0.875));
        assertTrue(stop.update(0.75), "exactly min-delta is not greater than it");
        assertEquals(1.0, stop.best(), "a value within min-delta does not become the best");
        EarlyStopping up = new EarlyStopping("test_accuracy", true, 1, 0.01);
        up.update(0.5);
        assertFalse(up.update(0.52));
        assertEquals(0.52, up.best());
    }

    @Test
    void nonFiniteValuesNeverImprove() {
        EarlyStopping stop = new EarlyStopping("test_loss", false, 2, 0.0);
        assertFalse(stop.update(Double.NaN));
        assertTrue(Double.isNaN(stop.best()));
        assertEquals(-1, stop.bestIndex());
        assertTrue(stop.update(Double.NEGATIVE_INFINITY), "an infinite loss is divergence, not progress");
        assertFalse(stop.update(3.0));
        assertEquals(2, stop.bestIndex());
        assertFalse(stop.update(Double.NaN));
        assertTrue(stop.update(Double.NaN));
        assertEquals(3.0, stop.best());
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new EarlyStopping("m", true, 0, 0.0));
        assertThrows(IllegalArgumentException.class, () -> new EarlyStopping("m", true, 1, -0.1));
        assertThrows(IllegalArgumentException.class, () -> new EarlyStopping("m", true, 1, Double.NaN));
        assertThrows(NullPointerException.class, () -> new EarlyStopping(null, true, 1, 0.0));
    }
}
