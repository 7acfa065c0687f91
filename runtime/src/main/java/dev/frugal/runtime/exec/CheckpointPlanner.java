package dev.frugal.runtime.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Chooses which forward activations to drop and recompute in the backward pass so that a training
 * program's activation arena fits a budget, recomputing as few FLOPs as it can.
 *
 * <p>The forward part of the program is a sequence of kernel calls (positions). A <em>cut</em>
 * after position j separates the values made at or before j from the calls after it; the values
 * that cross a cut (made before it, read by a forward call after it) are its <em>checkpoint</em>.
 * Cuts split the forward part into segments, and each segment is either <em>stored</em> (every
 * activation the backward pass reads is kept, as without checkpointing) or <em>recomputed</em>
 * (its activations are freed after their last forward use, and just before the backward pass
 * first needs one of them the segment is run again from its checkpoint). This is the segment
 * scheme of Chen et al. 2016 (sqrt(n) memory for one extra forward pass); which segments to
 * recompute, and where to cut, is chosen here, not fixed.
 *
 * <p>Because a value that crosses a cut is always kept, the scheme is sound for any graph, with
 * skip connections or attention: a recomputed segment never needs a value that was dropped
 * outside it. For chains the choice is exact under the cost model below by dynamic programming
 * over the cut positions; for graphs with long skips the crossing sets are large except at the
 * natural block boundaries, so the same program puts its cuts there.
 *
 * <p>Cost model: the arena's peak is modelled as {@code base + (bytes kept by stored segments) +
 * (checkpoints of recomputed segments) + (the largest recomputed segment's activations)}, the
 * last because recomputed segments are rematerialised one at a time as the backward pass walks
 * back. For each cap on that largest segment (a geometric grid), a dynamic program over the cuts
 * minimises recomputed FLOPs subject to the modelled peak; the best choice is then measured
 * exactly by planning its schedule ({@link Evaluator}), and the model's budget is tightened by
 * any excess until the exact peak fits. {@code base} (gradients and backward temporaries) starts
 * as the unplanned peak minus every saved activation and is corrected by the same loop.
 */
final class CheckpointPlanner {
    /** At most this many cut positions are considered: those with the smallest checkpoints. */
    static final int MAX_CUTS = 160;
    /** Memory resolution of the dynamic program: the model's budget in this many steps. */
    private static final int MEMORY_STEPS = 256;
    /** The dynamic program counts memory exactly (in units of the sizes' common divisor) up to this many units. */
    private static final int EXACT_MEMORY_STEPS = 1024;
    /** Up to this many distinct segment sizes, every one is tried as the cap (exact); beyond, a grid. */
    private static final int EXACT_CAPS = 256;
    /** Ratio between successive caps on the largest recomputed segment when they are too many to try all. */
    private static final double CAP_RATIO = 1.15;
    /** Rounds of tightening the model's budget against the exact peak. */
    private static final int MAX_ROUNDS = 12;

    /**
     * The forward part as the planner sees it, one entry per position.
     *
     * @param saved    bytes of each position's outputs that the backward pass reads (kept unless recomputed)
     * @param flops    FLOPs of each position's call
     * @param crossing bytes of the checkpoint of the cut after each position ({@code n - 1} entries)
     */
    record Chain(long[] saved, long[] flops, long[] crossing) {
        Chain {
            if (flops.length != saved.length || crossing.length != Math.max(0, saved.length - 1)) {
                throw new IllegalArgumentException("chain arrays disagree: " + saved.length + " saved, " + flops.length
                        + " flops, " + crossing.length + " crossings");
            }
        }

        int length() {
            return saved.length;
        }
    }

    /**
     * A choice: per position, the recomputed segment it belongs to (segments numbered in forward
     * order), or -1 when its segment is stored.
     *
     * @param segmentOf     per position
     * @param segmentEnds   last position of each recomputed segment
     * @param recomputeFlops the model's FLOPs to recompute (every call of every recomputed segment)
     */
    record Choice(int[] segmentOf, int[] segmentEnds, long recomputeFlops) {
        int segments() {
            return segmentEnds.length;
        }

        /** Keep everything: no checkpointing. */
        static Choice none(int length) {
            int[] seg = new int[length];
            Arrays.fill(seg, -1);
            return new Choice(seg, new int[0], 0);
        }
    }

    /** Measures a choice exactly: the activation arena its schedule needs. */
    @FunctionalInterface
    interface Evaluator {
        long arenaBytes(Choice choice);
    }

    /** The chosen plan and what it was measured to need. */
    record Result(Choice choice, long arenaBytes) {
    }

    private final Chain chain;
    private final Evaluator exact;
    private final int[] cuts; // candidate boundaries: -1, chosen cut positions ascending, n - 1
    private final long[] savedPrefix;
    private final long[] flopsPrefix;

    CheckpointPlanner(Chain chain, Evaluator exact) {
        this.chain = chain;
        this.exact = exact;
        int n = chain.length();
        savedPrefix = new long[n + 1];
        flopsPrefix = new long[n + 1];
        for (int i = 0; i < n; i++) {
            savedPrefix[i + 1] = savedPrefix[i] + chain.saved()[i];
            flopsPrefix[i + 1] = flopsPrefix[i] + chain.flops()[i];
        }
        cuts = candidateCuts(chain);
        long g = 0;
        for (long v : chain.saved()) {
            g = gcd(g, v);
        }
        for (long v : chain.crossing()) {
            g = gcd(g, v);
        }
        granularity = Math.max(1, g);
    }

    /** The greatest common divisor of every size in the chain: the unit memory is counted in. */
    private final long granularity;

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /** -1, the (at most {@link #MAX_CUTS}) positions with the smallest checkpoints in order, and n - 1. */
    private static int[] candidateCuts(Chain chain) {
        int n = chain.length();
        Integer[] positions = new Integer[Math.max(0, n - 1)];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
        }
        Arrays.sort(positions, Comparator.<Integer>comparingLong(i -> chain.crossing()[i]).thenComparingInt(i -> i));
        int keep = Math.min(MAX_CUTS, positions.length);
        int[] chosen = new int[keep];
        for (int i = 0; i < keep; i++) {
            chosen[i] = positions[i];
        }
        Arrays.sort(chosen);
        int[] all = new int[keep + 2];
        all[0] = -1;
        System.arraycopy(chosen, 0, all, 1, keep);
        all[keep + 1] = n - 1;
        return all;
    }

    private long saved(int afterCut, int toPosition) {
        return savedPrefix[toPosition + 1] - savedPrefix[afterCut + 1];
    }

    private long flops(int afterCut, int toPosition) {
        return flopsPrefix[toPosition + 1] - flopsPrefix[afterCut + 1];
    }

    private long checkpoint(int cut) {
        return cut < 0 ? 0 : chain.crossing()[cut];
    }

    /**
     * The choice with the fewest recomputed FLOPs whose exact arena fits {@code arenaBudget}, or
     * null when the planner finds none.
     *
     * @param unplannedArena the arena without checkpointing (which does not fit)
     */
    Result choose(long arenaBudget, long unplannedArena) {
        long totalSaved = savedPrefix[chain.length()];
        long base = Math.max(0, unplannedArena - totalSaved);
        long target = arenaBudget;
        Result best = null;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            Choice c = cheapest(target - base);
            if (c == null) {
                break;
            }
            long arena = exact.arenaBytes(c);
            if (arena <= arenaBudget) {
                if (best == null || c.recomputeFlops() < best.choice().recomputeFlops()) {
                    best = new Result(c, arena);
                }
                break;
            }
            // Tighten by the excess (at least one memory step), so the next round keeps more headroom.
            target -= Math.max(arena - arenaBudget, Math.max(1, (target - base) / MEMORY_STEPS));
        }
        if (best == null) {
            // The model may be too pessimistic near the limit: the leanest choice might still fit.
            Result leanest = smallest();
            if (leanest != null && leanest.arenaBytes() <= arenaBudget) {
                best = leanest;
            }
        }
        return best;
    }

    /**
     * The smallest arena the planner can reach (at any recompute cost), measured exactly: the
     * memory-minimal choice for each cap, the best few measured.
     */
    Result smallest() {
        List<Result> candidates = new ArrayList<>();
        long total = savedPrefix[chain.length()];
        long budget = Math.max(1, total + maxCheckpoint());
        for (long cap : caps()) {
            Choice c = run(cap, budget, true);
            if (c != null) {
                candidates.add(new Result(c, modelled(c)));
            }
        }
        candidates.sort(Comparator.comparingLong(Result::arenaBytes));
        Result best = null;
        for (int i = 0; i < Math.min(4, candidates.size()); i++) {
            Choice c = candidates.get(i).choice();
            long arena = exact.arenaBytes(c);
            if (best == null || arena < best.arenaBytes()) {
                best = new Result(c, arena);
            }
        }
        return best;
    }

    private long maxCheckpoint() {
        long m = 0;
        for (long c : chain.crossing()) {
            m = Math.max(m, c);
        }
        return m;
    }

    /** The model's activation bytes for a choice (without base). */
    private long modelled(Choice c) {
        long total = 0;
        long largest = 0;
        int n = chain.length();
        int i = 0;
        while (i < n) {
            if (c.segmentOf()[i] < 0) {
                total += chain.saved()[i];
                i++;
                continue;
            }
            int s = c.segmentOf()[i];
            int end = c.segmentEnds()[s];
            total += checkpoint(i - 1);
            largest = Math.max(largest, saved(i - 1, end));
            i = end + 1;
        }
        return total + largest;
    }

    /**
     * The caps on the largest recomputed segment: 0, then every distinct saved size of a stretch
     * between candidate cuts when there are few (so the dynamic program is exact), else a
     * geometric grid up to all saved bytes.
     */
    private List<Long> caps() {
        if (caps != null) {
            return caps;
        }
        java.util.TreeSet<Long> distinct = new java.util.TreeSet<>();
        distinct.add(0L);
        outer:
        for (int b = 0; b < cuts.length - 1; b++) {
            for (int e = b + 1; e < cuts.length; e++) {
                distinct.add(saved(cuts[b], cuts[e]));
                if (distinct.size() > EXACT_CAPS) {
                    break outer;
                }
            }
        }
        if (distinct.size() <= EXACT_CAPS) {
            caps = new ArrayList<>(distinct);
            return caps;
        }
        caps = new ArrayList<>();
        long total = savedPrefix[chain.length()];
        long smallest = Long.MAX_VALUE;
        for (long s : chain.saved()) {
            if (s > 0) {
                smallest = Math.min(smallest, s);
            }
        }
        caps.add(0L);
        if (smallest == Long.MAX_VALUE) {
            return caps;
        }
        for (double cap = smallest; cap < total * CAP_RATIO; cap *= CAP_RATIO) {
            caps.add(Math.min(total, (long) Math.ceil(cap)));
        }
        return caps;
    }

    private List<Long> caps;

    /** The cheapest choice over all caps whose modelled activations fit {@code modelBudget}, or null. */
    private Choice cheapest(long modelBudget) {
        if (modelBudget <= 0) {
            return null;
        }
        Choice best = null;
        for (long cap : caps()) {
            if (cap > modelBudget) {
                break;
            }
            Choice c = run(cap, modelBudget, false);
            if (c != null && (best == null || c.recomputeFlops() < best.recomputeFlops())) {
                best = c;
            }
        }
        return best;
    }

    /**
     * The dynamic program for one cap: over candidate cuts b and memory m (in steps of
     * {@code budget / MEMORY_STEPS}, rounded up so the model never undercounts), the fewest FLOPs
     * covering the positions up to cut b with m memory kept. A step to the next candidate cut
     * stores that stretch; a step to any later cut recomputes the stretch between, if its saved
     * bytes fit the cap. With {@code minimiseMemory} it finds the least memory instead (ties: fewest FLOPs).
     */
    private Choice run(long cap, long modelBudget, boolean minimiseMemory) {
        long room = modelBudget - cap;
        if (room < 0) {
            return null;
        }
        int k = cuts.length;
        // Exact when every size is a multiple of a common unit that divides the budget finely enough.
        long quantum = modelBudget / granularity <= EXACT_MEMORY_STEPS
                ? granularity
                : Math.max(1, (modelBudget + MEMORY_STEPS - 1) / MEMORY_STEPS);
        int steps = (int) Math.min(Math.max(MEMORY_STEPS, EXACT_MEMORY_STEPS), room / quantum);
        long[][] best = new long[k][steps + 1];
        int[][] from = new int[k][steps + 1];
        boolean[][] recomputed = new boolean[k][steps + 1];
        for (long[] row : best) {
            Arrays.fill(row, Long.MAX_VALUE);
        }
        best[0][0] = 0;
        for (int b = 0; b < k - 1; b++) {
            for (int m = 0; m <= steps; m++) {
                long f = best[b][m];
                if (f == Long.MAX_VALUE) {
                    continue;
                }
                // store the stretch to the next cut
                int stored = m + (int) Math.min(Integer.MAX_VALUE / 2, ceilDiv(saved(cuts[b], cuts[b + 1]), quantum));
                relax(best, from, recomputed, b + 1, stored, steps, f, b * (steps + 1) + m, false);
                // recompute the stretch to any later cut whose activations fit the cap
                if (cap == 0) {
                    continue;
                }
                int kept = m + (int) Math.min(Integer.MAX_VALUE / 2, ceilDiv(checkpoint(cuts[b]), quantum));
                if (kept > steps) {
                    continue;
                }
                for (int e = b + 1; e < k; e++) {
                    if (saved(cuts[b], cuts[e]) > cap) {
                        break;
                    }
                    relax(best, from, recomputed, e, kept, steps, f + flops(cuts[b], cuts[e]), b * (steps + 1) + m, true);
                }
            }
        }
        int end = -1;
        for (int m = 0; m <= steps; m++) {
            if (best[k - 1][m] == Long.MAX_VALUE) {
                continue;
            }
            if (minimiseMemory) {
                end = m; // the least memory that covers everything
                break;
            }
            if (end < 0 || best[k - 1][m] < best[k - 1][end]) {
                end = m;
            }
        }
        if (end < 0) {
            return null;
        }
        // Walk back to the segmentation.
        int n = chain.length();
        int[] segmentOf = new int[n];
        Arrays.fill(segmentOf, -1);
        List<int[]> segments = new ArrayList<>();
        int b = k - 1;
        int m = end;
        while (b > 0) {
            int packed = from[b][m];
            int pb = packed / (steps + 1);
            int pm = packed % (steps + 1);
            if (recomputed[b][m]) {
                segments.add(new int[] {cuts[pb] + 1, cuts[b]});
            }
            b = pb;
            m = pm;
        }
        segments.sort(Comparator.comparingInt(s -> s[0]));
        int[] ends = new int[segments.size()];
        long recomputeFlops = 0;
        for (int s = 0; s < segments.size(); s++) {
            int[] seg = segments.get(s);
            for (int i = seg[0]; i <= seg[1]; i++) {
                segmentOf[i] = s;
            }
            ends[s] = seg[1];
            recomputeFlops += flops(seg[0] - 1, seg[1]);
        }
        return new Choice(segmentOf, ends, recomputeFlops);
    }

    private static void relax(long[][] best, int[][] from, boolean[][] recomputed, int b, int m, int steps, long f, int packedFrom,
                              boolean recompute) {
        if (m > steps || f >= best[b][m]) {
            return;
        }
        best[b][m] = f;
        from[b][m] = packedFrom;
        recomputed[b][m] = recompute;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
