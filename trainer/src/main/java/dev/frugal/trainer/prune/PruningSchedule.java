package dev.frugal.trainer.prune;

/**
 * When a run's masks change and to what sparsity: Zhu and Gupta's gradual cubic ramp
 * ({@code s(t) = S (1 - (1 - p)^3)}, fast at first while the network has slack, slow at the end),
 * or everything at one step. Steps count optimizer steps done before the masks change: an update
 * at step 0 prunes before the first step.
 */
public final class PruningSchedule {
    private final PruningSpec spec;
    private final long first;
    private final long last;
    private final long every;

    /**
     * The schedule of {@code spec} over a run of {@code totalSteps} optimizer steps.
     *
     * @throws IllegalArgumentException when {@code totalSteps < 1}
     */
    public PruningSchedule(PruningSpec spec, long totalSteps) {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("pruning schedule over " + totalSteps + " steps, expected at least 1");
        }
        this.spec = spec;
        if (spec.schedule() == PruningSpec.Schedule.ONCE) {
            first = last = Math.min(totalSteps - 1, Math.round(spec.at() * totalSteps));
            every = 1;
        } else {
            first = Math.min(totalSteps - 1, Math.round(spec.start() * totalSteps));
            last = Math.max(first, Math.min(totalSteps - 1, Math.round(spec.end() * totalSteps)));
            every = spec.every() > 0 ? spec.every() : Math.max(1, (last - first) / 20);
        }
    }

    /** Whether the masks are recomputed before optimizer step {@code step} (0-based). */
    public boolean updatesAt(long step) {
        return step >= first && step <= last && ((step - first) % every == 0 || step == last);
    }

    /** The sparsity the masks take at {@code step}: 0 before the start, the final sparsity from the end on. */
    public double sparsityAt(long step) {
        if (step < first) {
            return 0;
        }
        if (step >= last) {
            return spec.sparsity();
        }
        double p = (double) (step - first) / (last - first);
        return spec.sparsity() * (1 - Math.pow(1 - p, 3));
    }

    /**
     * The sparsity the masks have after {@code stepsDone} optimizer steps: that of the last update
     * before them (0 before the first). Below the final sparsity when a run ends before the
     * schedule does (a time, energy or step budget stopped it early).
     */
    public double sparsityAfter(long stepsDone) {
        for (long step = Math.min(stepsDone - 1, last); step >= first; step--) {
            if (updatesAt(step)) {
                return sparsityAt(step);
            }
        }
        return 0;
    }

    /** The step of the first mask update. */
    public long firstStep() {
        return first;
    }

    /** The step from which the final sparsity holds. */
    public long lastStep() {
        return last;
    }
}
