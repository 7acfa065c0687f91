package dev.frugal.trainer;

import java.util.List;

/**
 * What a {@link Trainer#fit} did.
 *
 * @param endedBy why it stopped
 * @param epochs epochs completed (an epoch cut short by the step limit counts when its evaluation ran)
 * @param steps optimizer steps done in total (including those before a resume)
 * @param finalEvaluation the last evaluation; null when none ran
 * @param evaluations every evaluation of this fit, in order
 * @param trainSeconds wall time of this fit's steps and evaluations
 * @param samplesPerSecond training samples per second over this fit's steps
 * @param message for {@link EndReason#NON_FINITE_LOSS}: the step, learning rate and last good
 *     checkpoint; otherwise empty
 */
public record FitResult(EndReason endedBy, int epochs, long steps, Evaluation finalEvaluation, List<Evaluation> evaluations,
                        double trainSeconds, double samplesPerSecond, String message) {

    /** Copies the list. */
    public FitResult {
        evaluations = List.copyOf(evaluations);
    }
}
