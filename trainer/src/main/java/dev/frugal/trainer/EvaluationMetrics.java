package dev.frugal.trainer;

import java.util.List;
import java.util.Locale;

/**
 * What every evaluation during a fit reports: the evaluation set's loss and accuracy, and the
 * mean training loss of the steps since the previous evaluation. {@link #NAMES} are the metric
 * names (as {@code metrics.jsonl} writes them), and so the metrics early stopping can watch.
 *
 * @param epoch the epoch just finished (or cut short by the step limit), from 0
 * @param step optimizer steps done so far
 * @param test the result on the evaluation set
 * @param trainLoss mean training loss per step over the steps since the previous evaluation of
 *     this run (including steps before a resume); NaN when there were none
 */
public record EvaluationMetrics(int epoch, long step, Evaluation test, double trainLoss) {
    /** Name of the evaluation set's accuracy. */
    public static final String TEST_ACCURACY = "test_accuracy";
    /** Name of the evaluation set's mean loss. */
    public static final String TEST_LOSS = "test_loss";
    /** Name of the mean training loss since the previous evaluation. */
    public static final String TRAIN_LOSS = "train_loss";
    /** Every metric an evaluation carries, in the order {@code metrics.jsonl} writes them. */
    public static final List<String> NAMES = List.of(TEST_LOSS, TEST_ACCURACY, TRAIN_LOSS);

    /**
     * One metric by name.
     *
     * @param name one of {@link #NAMES}
     * @return its value
     * @throws IllegalArgumentException for another name, listing the valid ones
     */
    public double metric(String name) {
        return switch (name) {
            case TEST_ACCURACY -> test.accuracy();
            case TEST_LOSS -> test.loss();
            case TRAIN_LOSS -> trainLoss;
            default -> throw new IllegalArgumentException(unknownMetricMessage(name));
        };
    }

    /**
     * Which way a metric improves. The one rule for every caller (the configuration's check and
     * the trainer's early stopping): lower is better when the name ends in {@code loss}, higher
     * otherwise (accuracies).
     *
     * @param name a metric name
     * @return false for a loss, true otherwise
     */
    public static boolean higherIsBetter(String name) {
        return !name.toLowerCase(Locale.ROOT).endsWith("loss");
    }

    /**
     * Whether an evaluation carries a metric of this name.
     *
     * @param name a candidate name; may be null
     * @return true when it is one of {@link #NAMES}
     */
    public static boolean isMetric(String name) {
        return name != null && NAMES.contains(name);
    }

    /**
     * The message for a name that is not a metric: the name and every valid one.
     *
     * @param name the rejected name
     * @return the message
     */
    public static String unknownMetricMessage(String name) {
        return "unknown metric '" + name + "'; every evaluation carries: " + String.join(", ", NAMES);
    }
}
