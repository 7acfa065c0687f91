package dev.frugal.trainer.data;

import dev.frugal.trainer.StepMetrics;
import dev.frugal.trainer.TrainingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Gives a {@link Curriculum} its scores at the end of its warm-up: when the trainer reports the
 * step {@code startStep} done, it scores every training sample (for example by its loss under the
 * model of that moment, {@code dev.frugal.trainer.PerSampleLoss}), keeps the scores in a file
 * and installs them. It runs on the training thread between two steps, so the model is not
 * changing; meanwhile the loader's background thread waits for the scores before it fills the
 * curriculum's first batch.
 *
 * <p>A resumed run calls {@link #prepare} before it trains on: it reads the kept scores back, so
 * the curriculum continues with the scores the interrupted run computed.
 */
public final class CurriculumWarmup implements TrainingListener {
    /** Computes one difficulty score per training sample, lower is easier. */
    @FunctionalInterface
    public interface Scorer {
        /**
         * Scores every training sample.
         *
         * @return the scores, indexed by sample
         * @throws IOException when reading the data fails
         */
        double[] scores() throws IOException;
    }

    private final Curriculum curriculum;
    private final Scorer scorer;
    private final Path keep;
    private final int sampleCount;

    /**
     * @param curriculum the curriculum to give scores; its {@link Curriculum#startStep} is the warm-up's length
     * @param scorer computes the scores when the warm-up ends
     * @param keep the file the scores are written to and read back from on resume; null keeps none
     *     (a run resumed after the warm-up then cannot continue)
     * @param sampleCount the number of training samples (checks what the scorer and the file give)
     */
    public CurriculumWarmup(Curriculum curriculum, Scorer scorer, Path keep, int sampleCount) {
        this.curriculum = Objects.requireNonNull(curriculum, "curriculum");
        this.scorer = Objects.requireNonNull(scorer, "scorer");
        this.keep = keep;
        this.sampleCount = sampleCount;
    }

    /**
     * Makes sure the curriculum has its scores when training starts or resumes at {@code step}:
     * before the warm-up's end nothing happens (the listener scores later); exactly at its end the
     * samples are scored now; after it the kept scores are read back.
     *
     * @param step the step training continues from (0 for a new run)
     * @throws IOException when scoring or reading the kept scores fails
     * @throws IllegalStateException when the run resumes after the warm-up and no scores were kept
     */
    public void prepare(long step) throws IOException {
        if (curriculum.hasScores() || step < curriculum.startStep()) {
            return;
        }
        if (keep != null && Files.exists(keep)) {
            curriculum.setScores(CurriculumScores.read(keep, sampleCount));
            return;
        }
        if (step == curriculum.startStep()) {
            score();
            return;
        }
        throw new IllegalStateException("curriculum: the run resumes at step " + step + ", after its warm-up of "
            + curriculum.startStep() + " steps, but the scores computed then were not kept"
            + (keep == null ? "" : " (no " + keep + ")"));
    }

    /** At the end of the warm-up, scores the samples, keeps and installs the scores. */
    @Override
    public void onStep(StepMetrics metrics) {
        if (metrics.step() == curriculum.startStep() && !curriculum.hasScores()) {
            try {
                score();
            } catch (IOException e) {
                throw new UncheckedIOException("curriculum: scoring the training samples after the warm-up failed: " + e.getMessage(), e);
            }
        }
    }

    private void score() throws IOException {
        double[] scores = scorer.scores();
        if (scores.length != sampleCount) {
            throw new IllegalStateException("curriculum: the scorer gave " + scores.length + " scores for " + sampleCount + " training samples");
        }
        if (keep != null) {
            CurriculumScores.write(keep, scores);
        }
        curriculum.setScores(scores);
    }
}
