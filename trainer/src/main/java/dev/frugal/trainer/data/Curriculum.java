package dev.frugal.trainer.data;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;

/**
 * Competence-based curriculum learning (Platanios et al. 2019) for a {@link DataLoader}: the
 * training samples are ranked by a difficulty score (lower is easier), and during the curriculum
 * each batch is drawn from the easiest {@code c(t)} share of them, {@code c} growing by a
 * {@link Pacing} from {@code start} to 1 over {@code steps} steps.
 *
 * <p>The curriculum covers the optimizer steps {@code startStep .. startStep + steps - 1} (step
 * {@code s} is batch {@code s - epoch * batchesPerEpoch} of its epoch, as the trainer counts).
 * Batches before it (a warm-up) and from its end on are exactly the batches the loader serves
 * without a curriculum. Inside it, the batch of step {@code s} holds distinct samples drawn
 * uniformly from the pool of the {@link #poolSize} easiest ones by a generator keyed by (seed,
 * step), so a resumed run, or a second run with the same seed, gets the same batches; a sample
 * may come up in several batches of an epoch and others in none, as in the paper. The number and
 * sizes of batches per epoch do not change.
 *
 * <p>The scores may come later than the loader's start ({@link #setScores}, from the per-sample
 * losses after a warm-up, see {@link CurriculumWarmup}): the loader's background thread then
 * waits for them before it fills the first batch of the curriculum.
 */
public final class Curriculum {
    /** Below this, a competence times the sample count is taken as a whole number (rounding slack for the ceiling). */
    private static final double SLACK = 1e-9;

    private final Pacing pacing;
    private final double start;
    private final long steps;
    private final long startStep;
    private final CountDownLatch scored = new CountDownLatch(1);
    private volatile int[] ranking;

    /**
     * A curriculum whose scores are given later, with {@link #setScores}.
     *
     * @param pacing how the competence grows
     * @param start {@code c0}, the share of the samples (easiest first) at the curriculum's first step, in (0, 1]
     * @param steps {@code T}, the curriculum's length in steps: from then on the full set; at least 1
     * @param startStep the optimizer step the curriculum starts at (the warm-up's length; 0 for none)
     * @throws IllegalArgumentException when a value is out of range
     */
    public Curriculum(Pacing pacing, double start, long steps, long startStep) {
        this.pacing = Objects.requireNonNull(pacing, "pacing");
        if (!(start > 0 && start <= 1)) {
            throw new IllegalArgumentException("curriculum: start must be above 0 and at most 1, got " + start);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("curriculum: steps must be at least 1, got " + steps);
        }
        if (startStep < 0) {
            throw new IllegalArgumentException("curriculum: warm-up must be 0 steps or more, got " + startStep);
        }
        this.start = start;
        this.steps = steps;
        this.startStep = startStep;
    }

    /**
     * A curriculum over known scores.
     *
     * @param scores one difficulty score per training sample (lower is easier), finite
     * @param pacing how the competence grows
     * @param start {@code c0}, in (0, 1]
     * @param steps {@code T}, at least 1
     * @param startStep the optimizer step the curriculum starts at
     * @return the curriculum
     */
    public static Curriculum of(double[] scores, Pacing pacing, double start, long steps, long startStep) {
        Curriculum c = new Curriculum(pacing, start, steps, startStep);
        c.setScores(scores);
        return c;
    }

    /**
     * The samples from easiest to hardest: ascending score, ties in index order.
     *
     * @param scores one finite score per sample
     * @return the sample indices, easiest first
     * @throws IllegalArgumentException when a score is not finite (naming the sample)
     */
    public static int[] rank(double[] scores) {
        for (int i = 0; i < scores.length; i++) {
            if (!Double.isFinite(scores[i])) {
                throw new IllegalArgumentException("curriculum: the score of sample " + i + " is " + scores[i] + ", expected a finite number");
            }
        }
        // a stable sort, so equal scores keep index order
        return IntStream.range(0, scores.length).boxed()
            .sorted(Comparator.comparingDouble(i -> scores[i]))
            .mapToInt(Integer::intValue).toArray();
    }

    /**
     * Installs the scores (once), waking a loader waiting for them.
     *
     * @param scores one finite difficulty score per training sample, lower is easier
     * @throws IllegalStateException when scores were already installed
     * @throws IllegalArgumentException when a score is not finite
     */
    public synchronized void setScores(double[] scores) {
        if (ranking != null) {
            throw new IllegalStateException("curriculum: scores were already given");
        }
        ranking = rank(scores);
        scored.countDown();
    }

    /** Whether the scores are known. */
    public boolean hasScores() {
        return ranking != null;
    }

    /** The sample indices easiest first (a copy); null before {@link #setScores}. */
    public int[] ranking() {
        int[] r = ranking;
        return r == null ? null : r.clone();
    }

    /** The pacing. */
    public Pacing pacing() {
        return pacing;
    }

    /** {@code c0}. */
    public double start() {
        return start;
    }

    /** {@code T}, the curriculum's length in steps. */
    public long steps() {
        return steps;
    }

    /** The optimizer step the curriculum starts at. */
    public long startStep() {
        return startStep;
    }

    /**
     * Whether the batch of optimizer step {@code step} is drawn by the curriculum.
     *
     * @param step the optimizer step, from 0
     * @return true for {@code startStep <= step < startStep + steps}
     */
    public boolean shapes(long step) {
        return step >= startStep && step - startStep < steps;
    }

    /**
     * The share of the samples the batch of {@code step} is drawn from.
     *
     * @param step the optimizer step, from 0
     * @return {@code c(step - startStep)} inside the curriculum; 1 before it (warm-up) and after it
     */
    public double competence(long step) {
        return shapes(step) ? pacing.competence(step - startStep, steps, start) : 1.0;
    }

    /**
     * How many of the easiest samples the batch of {@code step} is drawn from.
     *
     * @param step the optimizer step
     * @param count the number of training samples
     * @param batchSize the batch size (a pool is never smaller, so a batch holds distinct samples)
     * @return {@code min(count, max(batchSize, ceil(competence(step) * count)))}
     */
    public int poolSize(long step, int count, int batchSize) {
        if (!shapes(step)) {
            return count;
        }
        long wanted = (long) Math.ceil(competence(step) * count - SLACK);
        return (int) Math.min(count, Math.max(batchSize, wanted));
    }

    /**
     * Blocks until the scores are installed.
     *
     * @throws InterruptedException when interrupted while waiting
     */
    public void awaitScores() throws InterruptedException {
        scored.await();
    }

    /**
     * The samples of the batch of a step inside the curriculum, waiting for the scores if needed.
     *
     * @param step the optimizer step; {@link #shapes} must hold
     * @param size the batch's size, at most {@code batchSize}
     * @param count the number of training samples; the scores must cover exactly these
     * @param batchSize the loader's batch size
     * @param seed the loader's seed
     * @return {@code size} distinct sample indices from the pool, in the drawn order
     * @throws InterruptedException when interrupted while waiting for the scores
     * @throws IllegalStateException when the scores do not cover {@code count} samples
     */
    public int[] samples(long step, int size, int count, int batchSize, long seed) throws InterruptedException {
        if (!shapes(step)) {
            throw new IllegalArgumentException("step " + step + " is outside the curriculum (steps " + startStep + " to "
                + (startStep + steps - 1) + ")");
        }
        awaitScores();
        int[] r = ranking;
        if (r.length != count) {
            throw new IllegalStateException("curriculum: the scores cover " + r.length + " samples, but the training set holds "
                + count + "; give one score per training sample");
        }
        int pool = poolSize(step, count, batchSize);
        int[] scratch = Arrays.copyOf(r, pool);
        // key (seed, step, -2): unrelated to the epoch shuffle (-1) and the augmentation (sample >= 0)
        SplittableRandom rng = new SplittableRandom(SampleTransform.key(seed, step, -2));
        int[] out = new int[size];
        for (int i = 0; i < size; i++) {
            int j = i + rng.nextInt(pool - i);
            int t = scratch[i];
            scratch[i] = scratch[j];
            scratch[j] = t;
            out[i] = scratch[i];
        }
        return out;
    }

    /**
     * For a run resumed at {@code step}: fails when the curriculum needs scores that nobody will
     * give any more (its warm-up ended before the checkpoint and its scores were not restored).
     *
     * @param step the step the run resumes at
     * @throws IllegalStateException when {@code step > startStep} and there are no scores
     */
    public void checkReadyAt(long step) {
        if (step > startStep && !hasScores()) {
            throw new IllegalStateException("curriculum: the run resumes at step " + step + ", after the curriculum started at step "
                + startStep + ", but its scores were not restored");
        }
    }

    /** A one-line description for logs. */
    public String describe() {
        return "curriculum(pacing=" + pacing.label() + ", start=" + start + ", steps=" + steps + ", from step " + startStep
            + (hasScores() ? "" : ", scores pending") + ")";
    }
}
