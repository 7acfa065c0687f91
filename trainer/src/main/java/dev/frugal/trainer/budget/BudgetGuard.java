package dev.frugal.trainer.budget;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Keeps a run inside its time, energy and step budgets. It measures what a step, an evaluation
 * and a checkpoint cost (seconds and joules, the step's as a moving average), projects each budget
 * forward, and applies the guardrails in their configured order: when the rest of the run would
 * overrun, {@link Guardrail#EVALUATE_LESS} doubles the interval between evaluations; and before
 * every step, when that step plus a final evaluation and checkpoint would no longer fit, the run
 * stops there ({@link Guardrail#STOP}). Budgets are hard, so the stop applies even when it is
 * not listed. The memory budget is the memory planner's ({@link Guardrail#CHECKPOINT},
 * {@link Guardrail#SHRINK_BATCH}) and is settled before the first step.
 *
 * <p>The costs are estimates from the steps so far, so the run can end at most one step past a
 * budget, when a step is slower than the ones before it.
 */
public final class BudgetGuard {
    /** Weight of the newest step in the moving average of step costs. */
    private static final double SMOOTHING = 0.3;
    /** Steps after which the JIT has usually warmed up and step costs can be trusted. */
    private static final int WARM_UP_STEPS = 50;
    /** The most of what is left that a guessed evaluation cost may hold back during the warm-up. */
    private static final double UNMEASURED_SHARE = 0.25;
    /** Assumed cost of writing a checkpoint before one was measured. */
    private static final double CHECKPOINT_SECONDS_GUESS = 1.0;

    private final Budgets budgets;
    private final List<Guardrail> guardrails;
    private final List<GuardrailAction> actions = new ArrayList<>();
    private final List<GuardrailAction> pending = new ArrayList<>();
    private double stepSeconds = -1;
    private double stepJoules = -1;
    private double evalSeconds = -1;
    private double evalJoules = -1;
    private double checkpointSeconds = -1;
    private double checkpointJoules = -1;
    private int evalEvery;
    private long steps;
    private double fastestStep = -1;
    /** Seconds the caller needs after the run (writing a report), kept free of the time budget. */
    private double finishSeconds;

    /**
     * A guard of {@code budgets}, applying {@code guardrails} in order.
     *
     * @param evalEvery the configured epochs between evaluations
     */
    public BudgetGuard(Budgets budgets, List<Guardrail> guardrails, int evalEvery) {
        this.budgets = budgets;
        this.guardrails = List.copyOf(guardrails);
        this.evalEvery = Math.max(1, evalEvery);
    }

    /** Keeps {@code seconds} of the time budget free for what the caller does after the run ends. */
    public void reserveFinish(double seconds) {
        finishSeconds = Math.max(0, seconds);
    }

    /** The budgets. */
    public Budgets budgets() {
        return budgets;
    }

    /**
     * Records one training step's cost. The first step of a process also compiles the JIT's code
     * and is often many times slower than the rest, so it stands alone until the second step
     * replaces it; from then on the cost is a moving average.
     */
    public void recordStep(double seconds, double joules) {
        steps++;
        fastestStep = fastestStep < 0 ? seconds : Math.min(fastestStep, seconds);
        if (steps <= 2) {
            stepSeconds = seconds;
            stepJoules = joules;
            return;
        }
        stepSeconds = SMOOTHING * seconds + (1 - SMOOTHING) * stepSeconds;
        stepJoules = SMOOTHING * joules + (1 - SMOOTHING) * stepJoules;
    }

    /** Records an evaluation's cost (the latest one is what the next is expected to cost). */
    public void recordEvaluation(double seconds, double joules) {
        evalSeconds = seconds;
        evalJoules = joules;
    }

    /** Records a checkpoint's cost. */
    public void recordCheckpoint(double seconds, double joules) {
        checkpointSeconds = Math.max(checkpointSeconds, seconds);
        checkpointJoules = Math.max(checkpointJoules, joules);
    }

    /**
     * Refuses to start a run whose budget is already spent (a resumed run that used it up).
     *
     * @throws IllegalStateException naming the budget and what was spent
     */
    public void checkNotSpent(Usage used, long stepsDone) {
        if (budgets.timeSeconds() > 0 && used.wallSeconds() >= budgets.timeSeconds()) {
            throw new IllegalStateException("budget-time " + BudgetUnits.formatDuration(budgets.timeSeconds())
                    + " is already spent: the run has trained for " + BudgetUnits.formatDuration(used.wallSeconds()));
        }
        if (budgets.energyJoules() > 0 && used.energyJoules() >= budgets.energyJoules()) {
            throw new IllegalStateException("budget-energy " + BudgetUnits.formatEnergy(budgets.energyJoules())
                    + " is already spent: the run has used " + BudgetUnits.formatEnergy(used.energyJoules()));
        }
        if (budgets.steps() > 0 && stepsDone >= budgets.steps()) {
            throw new IllegalStateException("budget-steps " + budgets.steps() + " is already spent: the run has taken " + stepsDone + " steps");
        }
    }

    /**
     * Whether to stop before the next step, and for which budget.
     *
     * @param used          what the run has spent
     * @param stepsDone     steps done
     * @param finalEvalSecondsGuess what a final evaluation is expected to take when none was measured yet
     * @return the budget that ends the run now ({@code budget-time}, {@code budget-energy},
     *     {@code budget-steps}), or null to go on
     */
    public String stopBeforeStep(Usage used, long stepsDone, double finalEvalSecondsGuess) {
        if (budgets.steps() > 0 && stepsDone >= budgets.steps()) {
            return stop(stepsDone, "budget-steps", budgets.steps() + " steps done");
        }
        if (stepSeconds < 0) {
            return null; // nothing measured yet: the first step runs
        }
        // An evaluation not yet measured is guessed from the fastest step, but the JIT's warm-up
        // makes the first steps slow: during them the guess holds back at most a quarter of what
        // is left, so slow early steps do not end a run whose evaluation will be cheap.
        double left = budgets.timeSeconds() > 0 ? budgets.timeSeconds() - used.wallSeconds() : Double.MAX_VALUE;
        double evalReserve = evalSeconds >= 0 ? evalSeconds : guessedReserve(finalEvalSecondsGuess, left);
        double reserveSeconds = evalReserve + (checkpointSeconds >= 0 ? checkpointSeconds : CHECKPOINT_SECONDS_GUESS) + finishSeconds;
        if (budgets.timeSeconds() > 0 && used.wallSeconds() + stepSeconds + reserveSeconds > budgets.timeSeconds()) {
            return stop(stepsDone, "budget-time", String.format(Locale.ROOT,
                    "%s used of %s; the next step (~%.2fs) and a final evaluation and checkpoint (~%.1fs) would pass it",
                    BudgetUnits.formatDuration(used.wallSeconds()), BudgetUnits.formatDuration(budgets.timeSeconds()), stepSeconds, reserveSeconds));
        }
        if (budgets.energyJoules() > 0) {
            double watts = stepSeconds > 0 ? stepJoules / stepSeconds : 0;
            double leftJoules = budgets.energyJoules() - used.energyJoules();
            double reserveJoules = (evalJoules >= 0 ? evalJoules : guessedReserve(finalEvalSecondsGuess * watts, leftJoules))
                    + (checkpointJoules >= 0 ? checkpointJoules : CHECKPOINT_SECONDS_GUESS * watts);
            if (used.energyJoules() + stepJoules + reserveJoules > budgets.energyJoules()) {
                return stop(stepsDone, "budget-energy", String.format(Locale.ROOT,
                        "%s used of %s; the next step (~%s) and a final evaluation and checkpoint (~%s) would pass it",
                        BudgetUnits.formatEnergy(used.energyJoules()), BudgetUnits.formatEnergy(budgets.energyJoules()),
                        BudgetUnits.formatEnergy(stepJoules), BudgetUnits.formatEnergy(reserveJoules)));
            }
        }
        return null;
    }

    /** What to hold back for an evaluation not measured yet, guessed at {@code guess}, with {@code left} of the budget left. */
    private double guessedReserve(double guess, double left) {
        if (steps < 2) {
            return 0; // the first step alone says nothing about an evaluation
        }
        return steps < WARM_UP_STEPS ? Math.min(guess, UNMEASURED_SHARE * left) : guess;
    }

    private String stop(long step, String budget, String reason) {
        record(new GuardrailAction(step, Guardrail.STOP, budget, reason));
        return budget;
    }

    /**
     * The epochs between evaluations from now on. At an epoch's end, when the time or energy the
     * rest of the run is projected to take would pass a budget and {@link Guardrail#EVALUATE_LESS}
     * is allowed, the interval doubles (up to the epochs left).
     *
     * @param used        what the run has spent
     * @param stepsDone   steps done
     * @param stepsLeft   steps the run still plans to take
     * @param epochsLeft  epochs the run still plans to take
     */
    public int evalEvery(Usage used, long stepsDone, long stepsLeft, int epochsLeft) {
        if (!guardrails.contains(Guardrail.EVALUATE_LESS) || stepSeconds < 0 || evalSeconds < 0 || evalEvery >= epochsLeft) {
            return evalEvery;
        }
        long evals = (epochsLeft + evalEvery - 1) / evalEvery;
        double seconds = used.wallSeconds() + stepsLeft * stepSeconds + evals * evalSeconds;
        double joules = used.energyJoules() + stepsLeft * stepJoules + evals * Math.max(0, evalJoules);
        String budget = null;
        String projection = null;
        if (budgets.timeSeconds() > 0 && seconds > budgets.timeSeconds()) {
            budget = "budget-time";
            projection = "the run is projected to take " + BudgetUnits.formatDuration(seconds) + " of " + BudgetUnits.formatDuration(budgets.timeSeconds());
        } else if (budgets.energyJoules() > 0 && joules > budgets.energyJoules()) {
            budget = "budget-energy";
            projection = "the run is projected to use " + BudgetUnits.formatEnergy(joules) + " of " + BudgetUnits.formatEnergy(budgets.energyJoules());
        }
        if (budget != null) {
            int before = evalEvery;
            evalEvery = Math.min(epochsLeft, evalEvery * 2);
            record(new GuardrailAction(stepsDone, Guardrail.EVALUATE_LESS, budget, projection + String.format(Locale.ROOT,
                    "; evaluations (~%.1fs each) now every %d epoch(s) instead of %d", evalSeconds, evalEvery, before)));
        }
        return evalEvery;
    }

    private void record(GuardrailAction a) {
        actions.add(a);
        pending.add(a);
    }

    /** Actions applied since the last call, for the run's log. */
    public List<GuardrailAction> drainNew() {
        List<GuardrailAction> out = List.copyOf(pending);
        pending.clear();
        return out;
    }

    /** Every action applied so far. */
    public List<GuardrailAction> actions() {
        return List.copyOf(actions);
    }

    /** The moving average of a step's seconds, -1 before the first step. */
    public double stepSeconds() {
        return stepSeconds;
    }

    /** The fastest step measured, the closest to a warmed-up step's cost; -1 before the first step. */
    public double fastestStepSeconds() {
        return fastestStep;
    }
}
