package dev.frugal.trainer;

/**
 * The model's loss and accuracy over a whole evaluation set.
 *
 * @param loss mean cross-entropy per sample
 * @param accuracy fraction of samples whose arg-max class is the label
 * @param samples number of samples evaluated
 */
public record Evaluation(double loss, double accuracy, long samples) {
}
