package dev.frugal.trainer.budget;

/**
 * One guardrail the trainer applied, as logged and written to {@code metrics.jsonl}.
 *
 * @param step      steps done when it was applied
 * @param guardrail what was done
 * @param budget    the budget at risk, e.g. {@code budget-time}
 * @param reason    why, with the numbers
 */
public record GuardrailAction(long step, Guardrail guardrail, String budget, String reason) {
}
