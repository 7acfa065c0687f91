package dev.frugal.runtime.exec;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Size-ordered best-fit placement: never overlaps live buffers, and reaches the live-bytes bound on simple cases. */
class ArenaPlannerTest {

    private static void assertNoOverlap(List<ArenaPlanner.Request> requests, ArenaPlanner.Placement p) {
        for (int i = 0; i < requests.size(); i++) {
            ArenaPlanner.Request a = requests.get(i);
            long aEnd = p.offsets()[i] + ArenaPlanner.aligned(a.bytes());
            assertEquals(0, p.offsets()[i] % ArenaPlanner.ALIGNMENT, "aligned offset");
            assertTrue(aEnd <= p.arenaBytes());
            for (int j = i + 1; j < requests.size(); j++) {
                ArenaPlanner.Request b = requests.get(j);
                boolean together = a.first() <= b.last() && b.first() <= a.last();
                long bEnd = p.offsets()[j] + ArenaPlanner.aligned(b.bytes());
                boolean apart = aEnd <= p.offsets()[j] || bEnd <= p.offsets()[i] || a.bytes() == 0 || b.bytes() == 0;
                assertTrue(!together || apart, "requests " + i + " " + a + " and " + j + " " + b + " overlap");
            }
        }
    }

    @Test
    void aChainReusesTwoBuffers() {
        // x0 -> x1 -> x2 -> x3: each value is read by the next call only
        List<ArenaPlanner.Request> chain = List.of(
                new ArenaPlanner.Request(1024, 0, 1), new ArenaPlanner.Request(1024, 1, 2),
                new ArenaPlanner.Request(1024, 2, 3), new ArenaPlanner.Request(1024, 3, 4));
        ArenaPlanner.Placement p = ArenaPlanner.place(chain);
        assertNoOverlap(chain, p);
        assertEquals(2048, p.arenaBytes());
        assertEquals(2048, p.liveBytesPeak());
    }

    @Test
    void aSmallBufferGoesIntoTheGapABigOneLeaves() {
        List<ArenaPlanner.Request> r = List.of(
                new ArenaPlanner.Request(4096, 0, 2),    // big, early
                new ArenaPlanner.Request(4096, 3, 5),    // big, late: reuses the first's place
                new ArenaPlanner.Request(1024, 0, 5),    // alive throughout
                new ArenaPlanner.Request(1000, 2, 3));   // straddles the two big ones
        ArenaPlanner.Placement p = ArenaPlanner.place(r);
        assertNoOverlap(r, p);
        assertEquals(4096 + 1024 + 1024, p.arenaBytes());
        assertEquals(p.liveBytesPeak(), p.arenaBytes());
    }

    @Test
    void randomLifetimesNeverOverlapAndStayNearTheBound() {
        Random rnd = new Random(11);
        for (int round = 0; round < 50; round++) {
            List<ArenaPlanner.Request> r = new ArrayList<>();
            int n = 1 + rnd.nextInt(200);
            for (int i = 0; i < n; i++) {
                int first = rnd.nextInt(300);
                int last = first + rnd.nextInt(40);
                long bytes = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(1 << (4 + rnd.nextInt(14)));
                r.add(new ArenaPlanner.Request(bytes, first, last));
            }
            ArenaPlanner.Placement p = ArenaPlanner.place(r);
            assertNoOverlap(r, p);
            assertTrue(p.arenaBytes() >= p.liveBytesPeak());
            assertTrue(p.arenaBytes() <= 2 * p.liveBytesPeak() + ArenaPlanner.ALIGNMENT,
                    "best fit should stay within twice the bound: " + p.arenaBytes() + " vs " + p.liveBytesPeak());
        }
    }

    @Test
    void badRequestsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ArenaPlanner.Request(-1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new ArenaPlanner.Request(8, 3, 2));
    }
}
