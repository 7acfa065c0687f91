package dev.frugal.trainer;

/**
 * Receives a fit's progress (the command line draws its progress bar and writes
 * {@code metrics.jsonl} from these). Called on the training thread; keep it quick. Every method
 * does nothing by default.
 */
public interface TrainingListener {

    /**
     * Called before the first step of a fit.
     *
     * @param totalSteps the number of steps the fit will take at most
     * @param startStep the step it starts from (non-zero when resuming)
     */
    default void onStart(long totalSteps, long startStep) {
    }

    /**
     * Called after each optimizer step.
     *
     * @param metrics the step
     */
    default void onStep(StepMetrics metrics) {
    }

    /**
     * Called after each end-of-epoch evaluation.
     *
     * @param metrics the epoch, the step, the result on the evaluation set and the mean training
     *     loss since the previous evaluation
     */
    default void onEvaluation(EvaluationMetrics metrics) {
    }
}
