package dev.frugal.trainer;

import java.util.List;
import java.util.Locale;

/**
 * What every evaluation during a fit reports: the held-out set's loss (and, for a classifier, its
 * accuracy), and the mean training loss of the steps since the previous evaluation. The names
 * depend on the task ({@link TrainingTask#metricNames()}): an image classifier's evaluations carry
 * {@link #NAMES} ({@code test_loss}, {@code test_accuracy}, {@code train_loss}), a language model's
 * {@link #LANGUAGE_MODEL_NAMES} ({@code val_loss}, {@code train_loss}). They are the names
 * {@code metrics.jsonl} writes, and so the metrics early stopping can watch.
 *
 * @param epoch the epoch just finished (or cut short by the step limit), from 0
 * @param step optimizer steps done so far
 * @param test the result on the held-out set
 * @param trainLoss mean training loss per step over the steps since the previous evaluation of
 *     this run (including steps before a resume); NaN when there were none
 * @param names the metrics this evaluation carries, in the order {@code metrics.jsonl} writes them
 */
public record EvaluationMetrics(int epoch, long step, Evaluation test, double trainLoss, List<String> names) {
    /** Name of the test set's accuracy (image classifiers). */
    public static final String TEST_ACCURACY = "test_accuracy";
    /** Name of the test set's mean loss (image classifiers). */
    public static final String TEST_LOSS = "test_loss";
    /** Name of the held-out text's mean loss per token, in nats (language models). */
    public static final String VAL_LOSS = "val_loss";
    /** Name of the mean training loss since the previous evaluation. */
    public static final String TRAIN_LOSS = "train_loss";
    /** What an image classifier's evaluations carry, in the order {@code metrics.jsonl} writes them. */
    public static final List<String> NAMES = List.of(TEST_LOSS, TEST_ACCURACY, TRAIN_LOSS);
    /** What a language model's evaluations carry, in the order {@code metrics.jsonl} writes them. */
    public static final List<String> LANGUAGE_MODEL_NAMES = List.of(VAL_LOSS, TRAIN_LOSS);
    /** Every metric some task's evaluations carry. */
    public static final List<String> ALL_NAMES = List.of(TEST_LOSS, TEST_ACCURACY, VAL_LOSS, TRAIN_LOSS);

    /** Copies the names. */
    public EvaluationMetrics {
        names = List.copyOf(names);
    }

    /** An image classifier's evaluation ({@link #NAMES}). */
    public EvaluationMetrics(int epoch, long step, Evaluation test, double trainLoss) {
        this(epoch, step, test, trainLoss, NAMES);
    }

    /**
     * One metric by name.
     *
     * @param name one of {@link #names()}
     * @return its value
     * @throws IllegalArgumentException for another name, listing the valid ones
     */
    public double metric(String name) {
        if (!names.contains(name)) {
            throw new IllegalArgumentException(unknownMetricMessage(name, names));
        }
        return switch (name) {
            case TEST_ACCURACY -> test.accuracy();
            case TEST_LOSS, VAL_LOSS -> test.loss();
            case TRAIN_LOSS -> trainLoss;
            default -> throw new IllegalArgumentException(unknownMetricMessage(name, names));
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
     * Whether an image classifier's evaluation carries a metric of this name.
     *
     * @param name a candidate name; may be null
     * @return true when it is one of {@link #NAMES}
     */
    public static boolean isMetric(String name) {
        return isMetric(name, NAMES);
    }

    /**
     * Whether a metric is one of {@code names}.
     *
     * @param name a candidate name; may be null
     * @param names a task's metrics ({@link TrainingTask#metricNames()}), or {@link #ALL_NAMES}
     * @return true when it is one of them
     */
    public static boolean isMetric(String name, List<String> names) {
        return name != null && names.contains(name);
    }

    /**
     * The message for a name that is not an image classifier's metric: the name and every valid one.
     *
     * @param name the rejected name
     * @return the message
     */
    public static String unknownMetricMessage(String name) {
        return unknownMetricMessage(name, NAMES);
    }

    /**
     * The message for a name that is not one of a task's metrics.
     *
     * @param name the rejected name
     * @param names the task's metrics
     * @return the message
     */
    public static String unknownMetricMessage(String name, List<String> names) {
        return "unknown metric '" + name + "'; every evaluation carries: " + String.join(", ", names);
    }
}
