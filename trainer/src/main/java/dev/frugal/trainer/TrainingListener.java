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

    /**
     * Called after every epoch's steps (before its evaluation) with what the run has spent.
     *
     * @param epoch the epoch that ended, from 0
     * @param step steps done
     * @param usage time, device time, energy, samples and memory so far
     */
    default void onEpochEnd(int epoch, long step, dev.frugal.trainer.budget.Usage usage) {
    }

    /** Called when a guardrail was applied to keep the run within a budget. */
    default void onGuardrail(dev.frugal.trainer.budget.GuardrailAction action) {
    }
}
