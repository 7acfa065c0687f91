package dev.frugal.runtime.exec;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checkpoint planner on chains whose memory is measured by a simple exact model (kept bytes,
 * checkpoints of recomputed segments, the largest recomputed segment): it fits the budget, and on
 * chains small enough to try every segmentation its recompute cost is the optimum.
 */
class CheckpointPlannerTest {

    /** The memory of a choice under the model the planner optimises, computed directly. */
    private static long modelArena(CheckpointPlanner.Chain chain, CheckpointPlanner.Choice c) {
        long kept = 0;
        long largest = 0;
        int n = chain.length();
        for (int i = 0; i < n; ) {
            if (c.segmentOf()[i] < 0) {
                kept += chain.saved()[i];
                i++;
                continue;
            }
            int end = c.segmentEnds()[c.segmentOf()[i]];
            kept += i == 0 ? 0 : chain.crossing()[i - 1];
            long seg = 0;
            for (int j = i; j <= end; j++) {
                seg += chain.saved()[j];
            }
            largest = Math.max(largest, seg);
            i = end + 1;
        }
        return kept + largest;
    }

    /** The fewest recomputed FLOPs over every segmentation (each segment stored or recomputed) that fits. */
    private static long bruteForce(CheckpointPlanner.Chain chain, long budget) {
        int n = chain.length();
        long best = Long.MAX_VALUE;
        // Each position: 0 stored, 1 starts a recomputed segment, 2 continues the previous recomputed segment.
        int[] code = new int[n];
        long combinations = (long) Math.pow(3, n);
        for (long k = 0; k < combinations; k++) {
            long x = k;
            boolean valid = true;
            for (int i = 0; i < n; i++) {
                code[i] = (int) (x % 3);
                x /= 3;
                if (code[i] == 2 && (i == 0 || code[i - 1] == 0)) {
                    valid = false;
                }
            }
            if (!valid) {
                continue;
            }
            int[] seg = new int[n];
            Arrays.fill(seg, -1);
            int count = -1;
            int[] ends = new int[n];
            long flops = 0;
            for (int i = 0; i < n; i++) {
                if (code[i] == 1) {
                    count++;
                }
                if (code[i] != 0) {
                    seg[i] = count;
                    ends[count] = i;
                    flops += chain.flops()[i];
                }
            }
            CheckpointPlanner.Choice c = new CheckpointPlanner.Choice(seg, Arrays.copyOf(ends, count + 1), flops);
            if (modelArena(chain, c) <= budget) {
                best = Math.min(best, flops);
            }
        }
        return best;
    }

    @Test
    void aUniformChainAtHalfItsMemoryRecomputesAtMostOneForward() {
        int n = 12;
        long[] saved = new long[n];
        long[] flops = new long[n];
        long[] crossing = new long[n - 1];
        Arrays.fill(saved, 1 << 20);
        Arrays.fill(flops, 1000);
        Arrays.fill(crossing, 1 << 20);
        CheckpointPlanner.Chain chain = new CheckpointPlanner.Chain(saved, flops, crossing);
        CheckpointPlanner planner = new CheckpointPlanner(chain, c -> modelArena(chain, c));
        long all = 12L << 20;
        CheckpointPlanner.Result r = planner.choose(all / 2, all);
        assertNotNull(r);
        assertTrue(r.arenaBytes() <= all / 2);
        assertTrue(r.choice().recomputeFlops() <= n * 1000, "at most one extra forward: " + r.choice().recomputeFlops());
        assertEquals(bruteForce(chain, all / 2), r.choice().recomputeFlops(), "the optimum for a uniform chain");
    }

    @Test
    void randomChainsGetTheOptimum() {
        Random rnd = new Random(5);
        for (int round = 0; round < 30; round++) {
            int n = 4 + rnd.nextInt(6);
            long[] saved = new long[n];
            long[] flops = new long[n];
            long[] crossing = new long[n - 1];
            long total = 0;
            for (int i = 0; i < n; i++) {
                saved[i] = (1 + rnd.nextInt(8)) * 4096L;
                flops[i] = 1 + rnd.nextInt(1000);
                total += saved[i];
                if (i < n - 1) {
                    crossing[i] = (1 + rnd.nextInt(4)) * 4096L;
                }
            }
            CheckpointPlanner.Chain chain = new CheckpointPlanner.Chain(saved, flops, crossing);
            long budget = total * (40 + rnd.nextInt(50)) / 100;
            long optimum = bruteForce(chain, budget);
            CheckpointPlanner.Result r = new CheckpointPlanner(chain, c -> modelArena(chain, c)).choose(budget, total);
            if (optimum == Long.MAX_VALUE) {
                assertNull(r == null || r.arenaBytes() > budget ? null : r, "nothing fits, so nothing may be claimed to");
                continue;
            }
            assertNotNull(r, "round " + round + ": the optimum recomputes " + optimum + " FLOPs within " + budget);
            assertTrue(r.arenaBytes() <= budget);
            assertTrue(r.choice().recomputeFlops() <= optimum,
                    "round " + round + ": planner " + r.choice().recomputeFlops() + " FLOPs, optimum " + optimum);
        }
    }

    @Test
    void theSmallestArenaIsBelowTheUnplannedOne() {
        int n = 24;
        long[] saved = new long[n];
        long[] flops = new long[n];
        long[] crossing = new long[n - 1];
        Arrays.fill(saved, 4096);
        Arrays.fill(flops, 10);
        Arrays.fill(crossing, 4096);
        CheckpointPlanner.Chain chain = new CheckpointPlanner.Chain(saved, flops, crossing);
        CheckpointPlanner.Result r = new CheckpointPlanner(chain, c -> modelArena(chain, c)).smallest();
        assertNotNull(r);
        // sqrt(24) ~ 5: about 5 checkpoints and a segment of about 5 layers
        assertTrue(r.arenaBytes() <= 11 * 4096, "smallest " + r.arenaBytes());
    }
}
