package dev.frugal.trainer.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PruningScheduleTest {
    @Test
    void cubicRampFollowsZhuAndGupta() {
        // 1000 steps, ramp over steps 100..600, every 50
        PruningSchedule s = new PruningSchedule(PruningSpec.parse("magnitude:0.8,start=10%,end=60%,every=50"), 1000);
        assertEquals(100, s.firstStep());
        assertEquals(600, s.lastStep());
        assertEquals(0, s.sparsityAt(99));
        assertEquals(0, s.sparsityAt(100));
        double p = 250.0 / 500;
        assertEquals(0.8 * (1 - Math.pow(1 - p, 3)), s.sparsityAt(350), 1e-12);
        assertEquals(0.8, s.sparsityAt(600));
        assertEquals(0.8, s.sparsityAt(999));
        List<Long> updates = new ArrayList<>();
        for (long t = 0; t < 1000; t++) {
            if (s.updatesAt(t)) {
                updates.add(t);
            }
        }
        assertEquals(List.of(100L, 150L, 200L, 250L, 300L, 350L, 400L, 450L, 500L, 550L, 600L), updates);
        for (int i = 1; i < updates.size(); i++) {
            assertTrue(s.sparsityAt(updates.get(i)) > s.sparsityAt(updates.get(i - 1)), "the ramp rises");
        }
        // a run stopped early keeps the masks of the last update it made
        assertEquals(0, s.sparsityAfter(100), "the first update happens before step 101");
        assertEquals(s.sparsityAt(100), s.sparsityAfter(101));
        assertEquals(s.sparsityAt(350), s.sparsityAfter(399));
        assertEquals(s.sparsityAt(550), s.sparsityAfter(600));
        assertEquals(0.8, s.sparsityAfter(601));
        assertEquals(0.8, s.sparsityAfter(1000));
    }

    @Test
    void defaultIncrementsAndTheLastStepIsAlwaysAnUpdate() {
        PruningSchedule s = new PruningSchedule(PruningSpec.parse("structured:0.5,start=0,end=0.5"), 1001);
        assertEquals(0, s.firstStep());
        assertEquals(501, s.lastStep());
        assertTrue(s.updatesAt(0));
        assertTrue(s.updatesAt(25)); // (501 - 0) / 20 = 25 steps apart
        assertFalse(s.updatesAt(26));
        assertTrue(s.updatesAt(501), "the final sparsity is reached exactly at the end of the ramp");
    }

    @Test
    void onceMeansOneUpdateToTheFinalSparsity() {
        PruningSchedule s = new PruningSchedule(PruningSpec.parse("structured:0.5,schedule=once,at=0.75"), 400);
        assertEquals(300, s.firstStep());
        for (long t = 0; t < 400; t++) {
            assertEquals(t == 300, s.updatesAt(t), "step " + t);
        }
        assertEquals(0, s.sparsityAt(299));
        assertEquals(0.5, s.sparsityAt(300));
        // at=0 prunes before the first step: fine-tuning an already trained network (--init-from)
        assertTrue(new PruningSchedule(PruningSpec.parse("structured:0.5,schedule=once,at=0"), 10).updatesAt(0));
        // at=100% still prunes, before the last step
        assertTrue(new PruningSchedule(PruningSpec.parse("structured:0.5,schedule=once,at=1"), 10).updatesAt(9));
    }
}
