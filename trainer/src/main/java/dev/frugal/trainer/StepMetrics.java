package dev.frugal.trainer;

import dev.frugal.trainer.budget.Usage;

/**
 * One optimizer step, as a {@link TrainingListener} sees it.
 *
 * @param step the number of steps done after this one (1 for the first)
 * @param epoch the epoch the step belongs to, from 0
 * @param loss the batch's mean loss before the update
 * @param learningRate the learning rate the update used
 * @param samples samples in the batch
 * @param usage what the run has spent after this step (time, device time, energy, samples, memory)
 * @param deviceBytes bytes the training device holds (the programs' memory and the bound tensors)
 * @param flopsPerSecond the step's FLOPs (the memory plan's, recomputation included) over its
 *     smoothed wall time
 * @param flopsUtilisation {@code flopsPerSecond} over the device's nominal peak, -1 when unknown
 * @param lossScale the loss scale after this step's update (what the next step uses); NaN when
 *     the loss is not scaled
 * @param skippedSteps steps skipped so far because a gradient was not finite (loss scaling only)
 */
public record StepMetrics(long step, int epoch, double loss, double learningRate, int samples, Usage usage, long deviceBytes,
                          double flopsPerSecond, double flopsUtilisation, double lossScale, long skippedSteps) {

    /** A step with no accounting (tests and listeners that do not need it). */
    public StepMetrics(long step, int epoch, double loss, double learningRate, int samples) {
        this(step, epoch, loss, learningRate, samples, null, -1, -1, -1, Double.NaN, 0);
    }
}
