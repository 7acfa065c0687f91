package dev.frugal.trainer;

import dev.frugal.trainer.budget.GuardrailAction;
import dev.frugal.trainer.budget.Usage;

import java.util.List;

/**
 * What a {@link Trainer#fit} did.
 *
 * @param endedBy why it stopped
 * @param epochs epochs completed (an epoch cut short by the step limit counts when its evaluation ran)
 * @param steps optimizer steps done in total (including those before a resume)
 * @param finalEvaluation the last evaluation; null when none ran
 * @param evaluations every evaluation of this fit, in order
 * @param trainSeconds wall time of the run's fits (steps, evaluations, checkpoints) so far: this
 *     trainer's fits plus, after {@link Trainer#resume}, the time the checkpoint recorded
 * @param samplesPerSecond training samples of the whole run (resumed part included) per
 *     {@code trainSeconds}
 * @param stepSeconds the part of {@code trainSeconds} spent in the epochs' batch loops (getting
 *     batches and running steps), evaluations and checkpoints left out
 * @param stepSamplesPerSecond training samples per {@code stepSeconds}: the training-loop
 *     throughput
 * @param message for {@link EndReason#NON_FINITE_LOSS}: the step, learning rate and last good
 *     checkpoint; for a budget, why it ended; otherwise empty
 * @param usage what the whole run has spent (time, device time, energy, samples, memory)
 * @param energySource where the energy figure comes from ({@code rapl}, or an estimate, labelled)
 * @param flopsPerSecond the training steps' FLOPs over their time (the memory plan's FLOPs,
 *     recomputation included)
 * @param flopsUtilisation {@code flopsPerSecond} over the device's nominal peak, -1 when unknown
 * @param guardrails the guardrails applied to keep the run within its budgets, in order
 */
public record FitResult(EndReason endedBy, int epochs, long steps, Evaluation finalEvaluation, List<Evaluation> evaluations,
                        double trainSeconds, double samplesPerSecond, double stepSeconds, double stepSamplesPerSecond,
                        String message, Usage usage, String energySource, double flopsPerSecond, double flopsUtilisation,
                        List<GuardrailAction> guardrails) {

    /** Copies the lists. */
    public FitResult {
        evaluations = List.copyOf(evaluations);
        guardrails = List.copyOf(guardrails);
    }
}
