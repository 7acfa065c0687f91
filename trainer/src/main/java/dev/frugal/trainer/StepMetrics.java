package dev.frugal.trainer;

/**
 * One optimizer step, as a {@link TrainingListener} sees it.
 *
 * @param step the number of steps done after this one (1 for the first)
 * @param epoch the epoch the step belongs to, from 0
 * @param loss the batch's mean loss before the update
 * @param learningRate the learning rate the update used
 * @param samples samples in the batch
 */
public record StepMetrics(long step, int epoch, double loss, double learningRate, int samples) {
}
