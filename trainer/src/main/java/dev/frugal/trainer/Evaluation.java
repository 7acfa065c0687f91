package dev.frugal.trainer;

/**
 * The model's loss (and, for a classifier, accuracy) over a whole evaluation set.
 *
 * @param loss mean loss per prediction: cross-entropy per sample for a classifier, per token (in
 *     nats) for a language model
 * @param accuracy fraction of samples whose arg-max class is the label; NaN when the task
 *     reports no accuracy (language models)
 * @param samples number of samples evaluated (images, or windows of text)
 */
public record Evaluation(double loss, double accuracy, long samples) {
    /** Whether the task measured an accuracy. */
    public boolean hasAccuracy() {
        return !Double.isNaN(accuracy);
    }
}
