package dev.frugal.runtime.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Places buffers with known lifetimes at offsets in one arena so that no two buffers alive at the
 * same time overlap: the size-ordered best-fit assignment of TensorFlow Lite's and llm.c's
 * planners. Buffers are taken largest first (ties: longer lifetime, then earlier start); each goes
 * into the smallest gap, among the buffers already placed whose lifetimes overlap its own, that
 * is large enough, else above the highest of them.
 *
 * <p>Lifetimes are closed intervals of schedule positions: a buffer written at t and last read at
 * t' occupies [t, t']. A kernel's output is written at the kernel's position and its inputs are
 * read there too, so an output never shares memory with the kernel's own inputs.
 */
final class ArenaPlanner {
    /** Offsets are multiples of this: a cache line, and more than any vector load needs. */
    static final long ALIGNMENT = 64;

    /** One buffer to place: its size and lifetime. */
    record Request(long bytes, int first, int last) {
        Request {
            if (bytes < 0 || first > last) {
                throw new IllegalArgumentException("bad arena request: " + bytes + " bytes over [" + first + ", " + last + "]");
            }
        }
    }

    /**
     * The placement: one offset per request, in request order, the arena's size, and the largest
     * sum of aligned sizes alive at one position with the first position where it is reached.
     */
    record Placement(long[] offsets, long arenaBytes, long liveBytesPeak, int liveBytesPeakAt) {
    }

    private ArenaPlanner() {
    }

    /** Rounds a size up to {@link #ALIGNMENT}. */
    static long aligned(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /**
     * Places {@code requests}. The arena's size is at least the largest sum of aligned sizes alive
     * at one position ({@code liveBytesPeak}, the bound no placement can beat) and usually equal to it.
     */
    static Placement place(List<Request> requests) {
        int n = requests.size();
        long[] offsets = new long[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> -aligned(requests.get(i).bytes()))
                .thenComparingInt(i -> -(requests.get(i).last() - requests.get(i).first()))
                .thenComparingInt(i -> requests.get(i).first()));
        // Placed buffers sorted by offset, so each request scans the gaps in address order.
        List<Integer> placed = new ArrayList<>(n);
        long arena = 0;
        for (int idx : order) {
            Request r = requests.get(idx);
            long size = aligned(r.bytes());
            if (size == 0) {
                offsets[idx] = 0;
                continue;
            }
            long cursor = 0;
            long bestOffset = -1;
            long bestGap = Long.MAX_VALUE;
            for (int p : placed) {
                Request q = requests.get(p);
                if (q.last() < r.first() || q.first() > r.last()) {
                    continue; // not alive at the same time
                }
                long qStart = offsets[p];
                long gap = qStart - cursor;
                if (gap >= size && gap < bestGap) {
                    bestGap = gap;
                    bestOffset = cursor;
                }
                cursor = Math.max(cursor, qStart + aligned(q.bytes()));
            }
            offsets[idx] = bestOffset >= 0 ? bestOffset : cursor;
            arena = Math.max(arena, offsets[idx] + size);
            int at = insertionPoint(placed, offsets, offsets[idx]);
            placed.add(at, idx);
        }
        long[] peak = livePeak(requests);
        return new Placement(offsets, arena, peak[0], (int) peak[1]);
    }

    private static int insertionPoint(List<Integer> placed, long[] offsets, long offset) {
        int lo = 0;
        int hi = placed.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (offsets[placed.get(mid)] <= offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** {the largest sum of aligned sizes alive at one position, the first position where it is}. */
    private static long[] livePeak(List<Request> requests) {
        int end = 0;
        for (Request r : requests) {
            end = Math.max(end, r.last() + 2);
        }
        long[] delta = new long[end + 1];
        for (Request r : requests) {
            delta[r.first()] += aligned(r.bytes());
            delta[r.last() + 1] -= aligned(r.bytes());
        }
        long live = 0;
        long peak = 0;
        int at = 0;
        for (int t = 0; t < delta.length; t++) {
            live += delta[t];
            if (live > peak) {
                peak = live;
                at = t;
            }
        }
        return new long[] {peak, at};
    }
}
