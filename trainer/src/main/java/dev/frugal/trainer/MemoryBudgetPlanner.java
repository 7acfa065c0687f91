package dev.frugal.trainer;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.ByteFormat;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryBudgetExceededException;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.trainer.optim.OptimizerUpdate;
import java.util.List;

/**
 * Plans the memory of training a model within a budget, without allocating the programs: what
 * the training step at a batch size would need by class, what it would recompute, and the
 * largest batch that fits. It plans the very graph {@link Trainer} compiles
 * ({@link TrainingStepGraph}), the same way ({@link Executor#plan}).
 *
 * <p>The evaluation programs coexist with the training step (they are compiled before the first
 * step and live as long as the trainer), so their buffers come out of the budget first: each
 * evaluation batch size is planned without a budget (evaluation has no backward pass, so nothing
 * can be recomputed), and the training step is planned for the budget less the sum of their
 * {@link MemoryPlan#managedBytes()}. The parameters, buffers and optimizer state are counted once,
 * in the training step's plan ({@link MemoryPlan#boundBytes()}); the evaluation programs bind the
 * same tensors.
 *
 * <p>Planning prepares the kernels to learn their workspaces, so it briefly allocates them from a
 * memory manager of the planner's own, freed after every plan.
 */
public final class MemoryBudgetPlanner {
    /** The largest batch {@link #maxBatchSize()} tries. */
    public static final int MAX_BATCH_SIZE = 65536;

    private final Module model;
    private final TrainingTask task;
    private final TrainerConfig config;
    private final long budget;
    private final List<Integer> evalBatchSizes;
    private long evaluationBytes = -1;

    /**
     * A planner for training an image classifier ({@link ImageClassification}) with {@code config} within {@code budget}.
     *
     * @param model an initialised module (its tensors are only read; its train/eval mode is restored)
     * @param sampleShape the shape of one input sample
     * @param config the optimizer and clipping (as the trainer will use them)
     * @param budget the memory budget in bytes, or -1 for none (then every plan fits)
     * @param evalBatchSizes the evaluation batch sizes whose programs coexist with the training step
     *     (for {@code frugal train}, the test set's batches of 1000); may be empty
     * @throws IllegalArgumentException when the budget is neither -1 nor positive, or an
     *     evaluation batch size is below 1
     */
    public MemoryBudgetPlanner(Module model, Shape sampleShape, TrainerConfig config, long budget, List<Integer> evalBatchSizes) {
        this(model, new ImageClassification(sampleShape), config, budget, evalBatchSizes);
    }

    /**
     * A planner for training {@code model} on {@code task} with {@code config} within {@code budget}.
     *
     * @param model an initialised module (its tensors are only read; its train/eval mode is restored)
     * @param task the inputs a batch feeds and the loss, as the trainer will use them
     * @param config the optimizer and clipping (as the trainer will use them)
     * @param budget the memory budget in bytes, or -1 for none (then every plan fits)
     * @param evalBatchSizes the evaluation batch sizes whose programs coexist with the training step; may be empty
     * @throws IllegalArgumentException when the budget is neither -1 nor positive, or an
     *     evaluation batch size is below 1
     */
    public MemoryBudgetPlanner(Module model, TrainingTask task, TrainerConfig config, long budget, List<Integer> evalBatchSizes) {
        if (budget < -1 || budget == 0) {
            throw new IllegalArgumentException("memory budget " + budget + " bytes, expected a positive byte count or -1 (none)");
        }
        for (int n : evalBatchSizes) {
            if (n < 1) {
                throw new IllegalArgumentException("evaluation batch size " + n + ", expected at least 1");
            }
        }
        this.model = model;
        this.task = task;
        this.config = config;
        this.budget = budget;
        this.evalBatchSizes = List.copyOf(evalBatchSizes);
    }

    /** The memory budget in bytes; -1 when there is none. */
    public long budget() {
        return budget;
    }

    /** The evaluation batch sizes planned alongside the training step. */
    public List<Integer> evalBatchSizes() {
        return evalBatchSizes;
    }

    /**
     * Bytes the evaluation programs will hold from the memory manager (the sum of their
     * {@link MemoryPlan#managedBytes()}), which the training step's budget is reduced by.
     *
     * @return bytes (computed once)
     */
    public long evaluationBytes() {
        if (evaluationBytes < 0) {
            evaluationBytes = evaluationBytes(model, task, evalBatchSizes, config);
        }
        return evaluationBytes;
    }

    /** The sum of the evaluation programs' {@link MemoryPlan#managedBytes()}, planned without a budget. */
    static long evaluationBytes(Module model, TrainingTask task, List<Integer> evalBatchSizes, TrainerConfig config) {
        long total = 0;
        try (CachingAllocator scratch = scratchMemory()) {
            Evaluator ev = new Evaluator(model, task, new Executor(new CpuBackend(scratch)).withAutocast(config.mixedPrecision().precision()));
            for (int n : evalBatchSizes) {
                total += ev.plan(n).managedBytes();
            }
        }
        return total;
    }

    /**
     * The plan of the training step at {@code batchSize}: under a budget, planned for the budget
     * less {@link #evaluationBytes()}, so {@code fits()} says whether the whole training fits.
     *
     * @param batchSize the training batch size
     * @return the plan ({@link MemoryPlan#budgetBytes()} is the training step's share of the budget)
     * @throws IllegalArgumentException when {@code batchSize < 1}, or the budget is below the
     *     parameters, buffers and optimizer state alone (naming the bytes of each)
     */
    public MemoryPlan plan(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + ", expected at least 1");
        }
        try (TrainingStepGraph step = TrainingStepGraph.trace(model, task, batchSize, config);
             CachingAllocator scratch = scratchMemory()) {
            if (budget > 0) {
                long bound = boundBytes(model, step);
                if (budget <= bound) {
                    throw new IllegalArgumentException(belowBoundMessage(budget, model, step));
                }
            }
            long stepBudget = budget > 0 ? Math.max(0, budget - evaluationBytes()) : -1;
            return TrainingStepGraph.executor(new Executor(new CpuBackend(scratch)).withMemoryBudget(stepBudget), config)
                    .plan(step.graph(), step.outputs());
        }
    }

    /**
     * Which ops of the training step at {@code batchSize} the autocast pass runs in which dtype
     * (the configuration's precision; a no-op report for fp32).
     */
    public dev.frugal.runtime.precision.AutocastReport autocastReport(int batchSize) {
        try (TrainingStepGraph step = TrainingStepGraph.trace(model, task, batchSize, config)) {
            return TrainingStepGraph.executor(Executor.cpu(), config).autocastReport(step.graph(), step.outputs());
        }
    }

    /**
     * The largest training batch whose plan fits the budget: doubling from 1 until a batch does
     * not fit, then a binary search between the last two (the plan's peak grows with the batch).
     *
     * @return the batch size, at most {@link #MAX_BATCH_SIZE}; 0 when not even a batch of 1 fits;
     *     {@link #MAX_BATCH_SIZE} without a budget
     * @throws IllegalArgumentException when the budget is below the parameters and state alone
     */
    public int maxBatchSize() {
        if (budget < 0) {
            return MAX_BATCH_SIZE;
        }
        if (!plan(1).fits()) {
            return 0;
        }
        int fits = 1;
        int fails = -1;
        while (fits < MAX_BATCH_SIZE) {
            int next = Math.min(MAX_BATCH_SIZE, fits * 2);
            if (plan(next).fits()) {
                fits = next;
            } else {
                fails = next;
                break;
            }
        }
        if (fails < 0) {
            return fits;
        }
        while (fails - fits > 1) {
            int mid = fits + (fails - fits) / 2;
            if (plan(mid).fits()) {
                fits = mid;
            } else {
                fails = mid;
            }
        }
        return fits;
    }

    /** A memory manager for one plan's kernel workspaces; no limit, since planning must see what a plan needs. */
    private static CachingAllocator scratchMemory() {
        return new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults());
    }

    /** The tensors a step binds: the model's, the optimizer state, and those of the modules it only reads (a teacher's). */
    static long boundBytes(Module model, TrainingStepGraph step) {
        return tensorBytes(model.state().values()) + tensorBytes(step.update().state().values()) + readOnlyBytes(step);
    }

    private static long readOnlyBytes(TrainingStepGraph step) {
        long total = 0;
        for (ModuleTrace t : step.readOnlyTraces()) {
            total += tensorBytes(t.root().state().values());
        }
        return total;
    }

    private static long tensorBytes(Iterable<Tensor> tensors) {
        long total = 0;
        for (Tensor t : tensors) {
            total += t.shape().numel() * t.dtype().byteSize();
        }
        return total;
    }

    /** The message for a budget that the bound tensors alone exceed, with the bytes of each. */
    static String belowBoundMessage(long budget, Module model, TrainingStepGraph step) {
        OptimizerUpdate update = step.update();
        long readOnly = readOnlyBytes(step);
        long parameters = 0;
        for (var v : model.namedParameters().values()) {
            parameters += v.numel() * v.dtype().byteSize();
        }
        long modelBytes = tensorBytes(model.state().values());
        long state = tensorBytes(update.state().values());
        return "memory budget " + ByteFormat.exact(budget) + " is below what the model and optimizer hold before any activation: "
                + ByteFormat.exact(parameters) + " of parameters + " + ByteFormat.exact(modelBytes - parameters) + " of model buffers + "
                + ByteFormat.exact(state) + " of optimizer state" + (readOnly > 0 ? " + " + ByteFormat.exact(readOnly) + " of the teacher's tensors" : "")
                + " = " + ByteFormat.exact(modelBytes + state + readOnly);
    }

    /** The message for a training step that cannot fit, with the evaluation programs' share and the step's plan. */
    static String exceededMessage(long budget, long evalBytes, List<Integer> evalBatchSizes, MemoryBudgetExceededException e) {
        String share = evalBytes > 0
                ? "memory budget " + ByteFormat.exact(budget) + ": the evaluation programs (batches of " + evalBatchSizes + ") take "
                + ByteFormat.exact(evalBytes) + ", leaving " + ByteFormat.exact(Math.max(0, budget - evalBytes)) + " for the training step; "
                : "memory budget " + ByteFormat.exact(budget) + ": ";
        return share + e.getMessage();
    }
}
