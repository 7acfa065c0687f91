package dev.frugal.trainer;

import dev.frugal.trainer.budget.BudgetGuard;
import dev.frugal.trainer.budget.Budgets;
import dev.frugal.trainer.budget.EstimatedEnergyMeter;
import dev.frugal.trainer.budget.Guardrail;
import dev.frugal.trainer.optim.Optimizer;
import dev.frugal.trainer.optim.Sgd;
import dev.frugal.trainer.prune.Pruning;
import dev.frugal.trainer.amp.MixedPrecision;
import dev.frugal.trainer.transfer.FrozenParameters;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.function.LongToDoubleFunction;

/**
 * How a {@link Trainer} trains: the loop limits, the optimizer and its learning rate per step,
 * clipping, early stopping, where checkpoints go and the memory budget. Build one with {@link #defaults()} and the
 * {@code with*} methods.
 *
 * @param epochs number of passes over the training data (at least 1)
 * @param maxSteps stop after this many optimizer steps in total; 0 for no limit
 * @param learningRate the learning rate of each step (a schedule); evaluated on the host and fed
 *     to the program, so changing it never recompiles
 * @param optimizer the optimizer appended to the training graph
 * @param clipNorm the global gradient norm limit; 0 turns clipping off
 * @param earlyStopMetric the metric early stopping watches, one of the task's
 *     ({@link TrainingTask#metricNames()}: {@code test_accuracy}, {@code test_loss}, {@code train_loss}
 *     for an image classifier, {@code val_loss}, {@code train_loss} for a language model); lower is better when its name
 *     ends in {@code loss} ({@link EvaluationMetrics#higherIsBetter}); null turns early stopping off
 * @param patience evaluations without improvement before stopping
 * @param minDelta the smallest change that counts as an improvement
 * @param checkpointDir where a checkpoint is written after every epoch and at the end; null for none
 * @param evalEvery evaluate after every {@code evalEvery}-th epoch, and always after the last one
 * @param keepCheckpoints after each checkpoint is written, delete all but the newest this many;
 *     0 keeps every checkpoint
 * @param memoryBudget the most bytes training may take in all, or -1 for no budget: the model's
 *     parameters and buffers, the optimizer state, and every program's buffers and workspaces
 *     (the training step and the evaluation programs of {@code evalBatchSizes}); see
 *     {@link Trainer} and {@link MemoryBudgetPlanner}
 * @param evalBatchSizes the evaluation batch sizes whose programs the trainer compiles before its
 *     first step (under a memory budget the training step is planned in what they leave, and an
 *     evaluation batch of another size is refused); empty: compiled when first met (no budget only)
 * @param runBudgets the time, energy and step budgets the trainer keeps the run in
 *     ({@link BudgetGuard}; the memory budget is {@code memoryBudget})
 * @param guardrails what the trainer may do, in order, when a budget is projected to run out
 * @param tdpWatts the CPU's thermal design power for the energy estimate where no energy
 *     counter is readable
 * @param mixedPrecision the precision the step is cast to and its loss scaling
 *     ({@link MixedPrecision#FP32} for plain float32)
 * @param freeze globs over full parameter names ({@code block1.*}) whose parameters the step
 *     freezes: no gradient, no optimizer update, no optimizer state ({@link FrozenParameters});
 *     resolved against the model when the step is traced, where a glob matching nothing, or
 *     freezing every parameter, is an error; empty: every parameter trains
 * @param pruning masks the step keeps on chosen weights and the schedule that rewrites them
 *     ({@link dev.frugal.trainer.prune.Pruner}); null: no pruning
 * @param lossEvery read the training loss back every this many steps (and at the last step of each
 *     epoch and of the run); the steps between are queued without waiting for the device, so a
 *     GPU never idles while the host reads a loss. Only read losses reach the listeners, the
 *     train-loss average and the non-finite check; 1 (the default) reads every step
 */
public record TrainerConfig(int epochs, long maxSteps, LongToDoubleFunction learningRate, Optimizer optimizer, double clipNorm,
                            String earlyStopMetric, int patience, double minDelta, Path checkpointDir, int evalEvery,
                            int keepCheckpoints, long memoryBudget, List<Integer> evalBatchSizes,
                            Budgets runBudgets, List<Guardrail> guardrails, double tdpWatts, MixedPrecision mixedPrecision,
                            List<String> freeze, Pruning pruning, int lossEvery) {

    /** Checks the values. */
    public TrainerConfig {
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs " + epochs + ", expected at least 1");
        }
        if (maxSteps < 0) {
            throw new IllegalArgumentException("steps " + maxSteps + ", expected 0 (no limit) or more");
        }
        if (learningRate == null || optimizer == null) {
            throw new IllegalArgumentException("a learning rate and an optimizer are required");
        }
        if (!(clipNorm >= 0) || !Double.isFinite(clipNorm)) {
            throw new IllegalArgumentException("clip norm " + clipNorm + ", expected 0 (off) or a finite positive value");
        }
        // any task's metric here; the trainer checks it against its task's
        if (earlyStopMetric != null && !EvaluationMetrics.isMetric(earlyStopMetric, EvaluationMetrics.ALL_NAMES)) {
            throw new IllegalArgumentException("early stopping: " + EvaluationMetrics.unknownMetricMessage(earlyStopMetric, EvaluationMetrics.ALL_NAMES));
        }
        if (patience < 1) {
            throw new IllegalArgumentException("patience " + patience + ", expected at least 1");
        }
        if (!(minDelta >= 0)) {
            throw new IllegalArgumentException("min delta " + minDelta + ", expected at least 0");
        }
        if (evalEvery < 1) {
            throw new IllegalArgumentException("eval every " + evalEvery + " epochs, expected at least 1");
        }
        if (lossEvery < 1) {
            throw new IllegalArgumentException("loss every " + lossEvery + " steps, expected at least 1");
        }
        if (keepCheckpoints < 0) {
            throw new IllegalArgumentException("keep " + keepCheckpoints + " checkpoints, expected 0 (all) or more");
        }
        if (runBudgets == null || guardrails == null) {
            throw new IllegalArgumentException("budgets and guardrails are required (Budgets.NONE, Guardrail.DEFAULT)");
        }
        guardrails = List.copyOf(guardrails);
        if (!(tdpWatts > 0) || !Double.isFinite(tdpWatts)) {
            throw new IllegalArgumentException("TDP " + tdpWatts + " W, expected a positive number of watts");
        }
        if (mixedPrecision == null) {
            throw new IllegalArgumentException("mixed precision is required (MixedPrecision.FP32 for none)");
        }
        if (freeze == null) {
            throw new IllegalArgumentException("the frozen parameter globs are required (List.of() for none)");
        }
        freeze = List.copyOf(freeze);
        for (String glob : freeze) {
            if (glob == null || glob.isBlank()) {
                throw new IllegalArgumentException("freeze: an empty glob in " + freeze + "; expected parameter names or patterns such as 'block1.*'");
            }
        }
        if (memoryBudget < -1 || memoryBudget == 0) {
            throw new IllegalArgumentException("memory budget " + memoryBudget + " bytes, expected a positive byte count or -1 (none)");
        }
        evalBatchSizes = List.copyOf(new TreeSet<>(evalBatchSizes));
        for (int n : evalBatchSizes) {
            if (n < 1) {
                throw new IllegalArgumentException("evaluation batch size " + n + ", expected at least 1");
            }
        }
        if (memoryBudget > 0 && evalBatchSizes.isEmpty()) {
            throw new IllegalArgumentException("a memory budget needs the evaluation batch sizes, so that their programs are planned"
                    + " and compiled before the first step (withMemoryBudget(bytes, evalBatchSizes))");
        }
    }

    /**
     * One epoch, no step limit, plain SGD at a constant 0.1, no clipping, no early stopping, no
     * checkpoints (every one kept once a directory is set), evaluation after every epoch.
     */
    public static TrainerConfig defaults() {
        return new TrainerConfig(1, 0, step -> 0.1, Sgd.plain(), 0, null, 3, 0, null, 1, 0, -1, List.of(), Budgets.NONE, Guardrail.DEFAULT,
                EstimatedEnergyMeter.DEFAULT_TDP_WATTS, MixedPrecision.FP32, List.of(), null, 1);
    }

    /** This configuration with another number of epochs. */
    public TrainerConfig withEpochs(int n) {
        return new TrainerConfig(n, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /** This configuration with a step limit (0: none). */
    public TrainerConfig withMaxSteps(long n) {
        return new TrainerConfig(epochs, n, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /** This configuration with a constant learning rate. */
    public TrainerConfig withLearningRate(double lr) {
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("learning rate " + lr + ", expected a finite value > 0");
        }
        return withSchedule(step -> lr);
    }

    /** This configuration with a learning-rate schedule (step number, from 0, to learning rate). */
    public TrainerConfig withSchedule(LongToDoubleFunction schedule) {
        return new TrainerConfig(epochs, maxSteps, schedule, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /** This configuration with another optimizer. */
    public TrainerConfig withOptimizer(Optimizer o) {
        return new TrainerConfig(epochs, maxSteps, learningRate, o, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /** This configuration with gradient clipping at {@code maxNorm} (0: off). */
    public TrainerConfig withClipNorm(double maxNorm) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, maxNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /**
     * This configuration with early stopping on an image classifier's {@code metric} (null: off).
     *
     * @throws IllegalArgumentException for a metric not in {@link EvaluationMetrics#NAMES}, listing them
     */
    public TrainerConfig withEarlyStopping(String metric, int newPatience, double newMinDelta) {
        return withEarlyStopping(metric, newPatience, newMinDelta, EvaluationMetrics.NAMES);
    }

    /**
     * This configuration with early stopping on {@code metric} (null: off), one of what the task's
     * evaluations carry.
     *
     * @param metric the metric watched, or null for none
     * @param newPatience evaluations without improvement before stopping
     * @param newMinDelta the smallest change that counts as an improvement
     * @param metrics the task's metrics ({@link TrainingTask#metricNames()})
     * @throws IllegalArgumentException for a metric not in {@code metrics}, listing them
     */
    public TrainerConfig withEarlyStopping(String metric, int newPatience, double newMinDelta, List<String> metrics) {
        if (metric != null && !EvaluationMetrics.isMetric(metric, metrics)) {
            throw new IllegalArgumentException("early stopping: " + EvaluationMetrics.unknownMetricMessage(metric, metrics));
        }
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, metric, newPatience, newMinDelta, checkpointDir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /** This configuration evaluating after every {@code n}-th epoch (and after the last). */
    public TrainerConfig withEvalEvery(int n) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, n, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /**
     * This configuration keeping only the newest {@code n} checkpoints (0: all); older ones are
     * deleted after each successful save.
     */
    public TrainerConfig withKeepCheckpoints(int n) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery, n, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /**
     * This configuration training within a memory budget.
     *
     * @param bytes the budget in bytes, or -1 for none
     * @param evalSizes the evaluation batch sizes to compile before the first step (for example
     *     {@link dev.frugal.trainer.data.DataLoader#batchSizes()} of the evaluation loader); required with a budget
     */
    public TrainerConfig withMemoryBudget(long bytes, Collection<Integer> evalSizes) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, bytes, List.copyOf(evalSizes), runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /**
     * This configuration keeping the run within time, energy and step budgets, applying
     * {@code guardrailsInOrder} when one is projected to run out (see {@link BudgetGuard}).
     */
    public TrainerConfig withRunBudgets(Budgets budgets, List<Guardrail> guardrailsInOrder) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, memoryBudget, evalBatchSizes, budgets, guardrailsInOrder, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /** This configuration with another TDP for the energy estimate. */
    public TrainerConfig withTdpWatts(double watts) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, watts, mixedPrecision, freeze, pruning, lossEvery);
    }

    /**
     * This configuration training in another precision: the step, and the evaluation programs,
     * are compiled through the autocast pass, with the loss scaling given.
     */
    public TrainerConfig withMixedPrecision(MixedPrecision amp) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, amp, freeze, pruning, lossEvery);
    }

    /**
     * This configuration freezing the parameters whose full names match {@code globs}
     * ({@link FrozenParameters}; empty: none). Batch-norm running statistics are buffers, not
     * parameters: they still update in training mode, as in PyTorch.
     */
    public TrainerConfig withFreeze(List<String> globs) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, globs, pruning, lossEvery);
    }

    /**
     * This configuration pruning the model as {@code p} says (null: no pruning): the step keeps the
     * masks and the trainer updates them on the schedule.
     */
    public TrainerConfig withPruning(Pruning p) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, p, lossEvery);
    }

    /** This configuration reading the training loss every {@code n}-th step ({@link #lossEvery()}). */
    public TrainerConfig withLossEvery(int n) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, checkpointDir, evalEvery,
                keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, n);
    }

    /** Whether a memory budget is set. */
    public boolean hasMemoryBudget() {
        return memoryBudget > 0;
    }

    /** This configuration writing checkpoints under {@code dir} (null: none). */
    public TrainerConfig withCheckpointDir(Path dir) {
        return new TrainerConfig(epochs, maxSteps, learningRate, optimizer, clipNorm, earlyStopMetric, patience, minDelta, dir, evalEvery, keepCheckpoints, memoryBudget, evalBatchSizes, runBudgets, guardrails, tdpWatts, mixedPrecision, freeze, pruning, lossEvery);
    }
}
