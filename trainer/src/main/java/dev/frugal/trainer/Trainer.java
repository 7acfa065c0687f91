package dev.frugal.trainer;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.ExternalMemory;
import dev.frugal.memory.FrugalOutOfMemoryException;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.memory.MemoryStats;
import dev.frugal.models.Module;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.cuda.CudaBackend;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryBudgetExceededException;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.exec.NonFiniteException;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.amp.LossScaler;
import dev.frugal.trainer.budget.BudgetGuard;
import dev.frugal.trainer.budget.DevicePeak;
import dev.frugal.trainer.budget.DeviceStepClock;
import dev.frugal.trainer.budget.EnergyMeter;
import dev.frugal.trainer.budget.GuardrailAction;
import dev.frugal.trainer.budget.ResourceMeter;
import dev.frugal.trainer.budget.Usage;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.DataBatch;
import dev.frugal.trainer.data.EpochBatches;
import dev.frugal.trainer.optim.OptimizerUpdate;
import dev.frugal.trainer.prune.Pruner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a model on a {@link TrainingTask} (an image classifier, or a language model on windows of
 * text): the whole step (forward in training mode, the task's loss, gradients, clipping, optimizer
 * update) is traced and compiled once into one program, replayed every step with the batch and
 * the step's learning rate fed in; evaluation (eval mode, the loss and, for a classifier, the
 * correct count) is a second program. The trainer evaluates after every epoch, writes a
 * checkpoint after every epoch when asked to, stops early, and stops on a non-finite loss.
 *
 * <p>Everything random is keyed by seeds (initialisation by the model's seed, shuffling and
 * augmentation by the loader's, dropout by the model's seed and a counter buffer), and CPU
 * results do not depend on the thread count, so two runs with the same seeds give bit-identical
 * losses and metrics, and a resumed run continues exactly where the checkpoint left off.
 *
 * <p>The trainer binds the module's own tensors (updated in place) and owns its programs and the
 * optimizer state; {@link #close()} frees those, not the module.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final Module model;
    private final TrainingTask task;
    private final int batchSize;
    private final TrainerConfig config;

    private final TrainingStepGraph stepGraph;
    private final Value input;
    private final Value target;
    private final Program stepProgram;
    private final OptimizerUpdate update;
    private final Evaluator evaluator;
    /** The memory manager this trainer made for its budget, or null when it uses its executor's. */
    private final CachingAllocator ownMemory;
    /** The bound tensors as the own memory manager counts them; null without one. */
    private final ExternalMemory boundCounted;
    /** Bytes of the tensors the programs bind: the model's parameters and buffers, the optimizer state. */
    private final long boundBytes;

    private long step;
    private int epoch;
    private int batchInEpoch;
    private EarlyStopping earlyStopping;
    /** Every value early stopping saw, so a resumed run can rebuild its state by replaying them. */
    private final List<Double> watchedValues = new ArrayList<>();
    /** Sum and count of the training losses since the last evaluation (for {@code train_loss}). */
    private double trainLossSum;
    private long trainLossSteps;
    /**
     * Training time and samples of this run before the current fit began, including the run this
     * trainer resumed, so that a resumed run reports the whole run's throughput.
     */
    private double secondsBeforeFit;
    private long trainSamples;
    /**
     * Time spent in the epochs' batch loops only (fetching batches and running steps; evaluations
     * and checkpoints left out), this run so far including the run it resumed: the figure to set
     * against another framework's training loop.
     */
    private double stepSeconds;
    /** {@code System.nanoTime()} when the current fit began; meaningless outside {@link #fit}. */
    private long fitStartNanos;
    private boolean fitting;
    private Path lastCheckpoint;
    /** The step {@link #lastCheckpoint} holds. */
    private long lastCheckpointStep = -1;
    private boolean closed;

    // Accounting and budgets (issue 9).
    /** Where a step's energy is read from; made on the first fit. */
    private EnergyMeter energyMeter;
    /** What the current fit spends; null outside a fit. */
    private ResourceMeter meter;
    /** GPU time of the steps (CUDA events) on a CUDA backend; null on the CPU, whose device time is CPU time. */
    private final DeviceStepClock deviceClock;
    /** Device seconds and joules of the run before the current fit (earlier fits, the resumed checkpoint). */
    private double deviceSecondsBefore;
    private double energyBefore;
    /** Keeps the run within its time, energy and step budgets; null without such budgets. */
    private final BudgetGuard guard;
    /** Rewrites the pruning masks on the schedule; null without pruning or before the first fit. */
    private Pruner pruner;
    /** Every guardrail applied during this trainer's fits. */
    private final List<GuardrailAction> guardrailActions = new ArrayList<>();
    /** FLOPs of one training step by the memory plan, recomputation included. */
    private final double stepFlops;
    /** The device's nominal FLOP/s, -1 when unknown. */
    private final double peakFlops = DevicePeak.cpuFlops();
    /** Smoothed seconds per step (for FLOP/s), -1 before the first step. */
    private double smoothedStepSeconds = -1;
    /** Epochs between evaluations now: the configuration's, widened by the evaluate-less guardrail. */
    private int evalEvery;
    /** Wall seconds the caller spent setting the run up, counted in the run's wall time and time budget. */
    private double setupSeconds;

    /**
     * Builds and compiles the training step on the CPU.
     *
     * <p>With a memory budget ({@link TrainerConfig#memoryBudget()}) the trainer makes a memory
     * manager of its own, a {@link CachingAllocator} whose limit is the budget, and which counts the
     * bound tensors (the model's parameters and buffers and the optimizer state, ordinary tensors
     * allocated outside it, {@link CachingAllocator#countExternal}), and compiles every program from it before
     * the first step: the evaluation programs of {@link TrainerConfig#evalBatchSizes()} first, then
     * the training step, planned ({@link Executor#withMemoryBudget}) for the budget less what the
     * evaluation programs hold, recomputing forward activations in the backward pass when it
     * must. A run therefore allocates nothing after its first step. The allocator is closed with
     * the trainer.
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} images to class logits
     * @param sampleShape the shape of one input sample, e.g. {@code [1, 28, 28]}
     * @param batchSize the training batch size (every training batch must have exactly this size)
     * @param config how to train
     * @throws IllegalArgumentException when the step cannot fit the memory budget, with the plan
     *     that explains why (the cause is the executor's {@link MemoryBudgetExceededException}), or
     *     when the budget is below the bound tensors alone
     * @throws FrugalOutOfMemoryException when the memory manager cannot serve the programs
     */
    public Trainer(Module model, Shape sampleShape, int batchSize, TrainerConfig config) {
        this(model, new ImageClassification(sampleShape), batchSize, config, null);
    }

    /**
     * Builds and compiles the training step of {@code model} on {@code task} on the CPU, with a
     * memory manager of the trainer's own under a memory budget (as
     * {@link #Trainer(Module, Shape, int, TrainerConfig)}).
     *
     * @param model an initialised module mapping the task's input to its output
     * @param task the inputs a batch feeds, the loss and what an evaluation measures
     * @param batchSize the training batch size (every training batch must have exactly this size)
     * @param config how to train
     */
    public Trainer(Module model, TrainingTask task, int batchSize, TrainerConfig config) {
        this(model, task, batchSize, config, null);
    }

    /**
     * Builds and compiles an image classifier's training step on {@code executor}'s backend (see
     * {@link #Trainer(Module, TrainingTask, int, TrainerConfig, Executor)}).
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} images to class logits
     * @param sampleShape the shape of one input sample
     * @param batchSize the training batch size
     * @param config how to train
     * @param executor compiles the programs; null: the CPU, with a memory manager of the
     *     trainer's own under a budget
     */
    public Trainer(Module model, Shape sampleShape, int batchSize, TrainerConfig config, Executor executor) {
        this(model, new ImageClassification(sampleShape), batchSize, config, executor);
    }

    /**
     * Builds and compiles the training step on {@code executor}'s backend, with its memory manager.
     * Under a memory budget (the configuration's, else the executor's) the evaluation programs of
     * {@link TrainerConfig#evalBatchSizes()} are compiled first and the step is planned for the
     * budget less what they hold, as with {@link #Trainer(Module, Shape, int, TrainerConfig)}, but
     * the memory manager is the executor's (no limit of the trainer's own).
     *
     * @param model an initialised module mapping the task's input to its output
     * @param task the inputs a batch feeds, the loss and what an evaluation measures
     * @param batchSize the training batch size
     * @param config how to train
     * @param executor compiles the programs; null: the CPU, with a memory manager of the
     *     trainer's own under a budget
     * @throws IllegalArgumentException also when early stopping watches a metric the task's
     *     evaluations do not carry
     */
    public Trainer(Module model, TrainingTask task, int batchSize, TrainerConfig config, Executor executor) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + ", expected at least 1");
        }
        if (config.earlyStopMetric() != null && !task.metricNames().contains(config.earlyStopMetric())) {
            throw new IllegalArgumentException("early stopping: " + EvaluationMetrics.unknownMetricMessage(config.earlyStopMetric(), task.metricNames()));
        }
        this.model = model;
        this.task = task;
        this.batchSize = batchSize;
        this.config = config;
        this.earlyStopping = newEarlyStopping();
        long budget = config.hasMemoryBudget() ? config.memoryBudget() : executor == null ? -1 : executor.memoryBudget();
        TrainingStepGraph traced = TrainingStepGraph.trace(model, task, batchSize, config);
        CachingAllocator memory = null;
        ExternalMemory boundCount = null;
        Compiled compiled;
        long bound;
        try {
            bound = MemoryBudgetPlanner.boundBytes(model, traced);
            // The evaluation programs' share of the budget, planned (not allocated) first, so that a
            // step that cannot fit is refused before anything is allocated.
            long evalBytes = budget > 0 ? MemoryBudgetPlanner.evaluationBytes(model, task, config.evalBatchSizes(), config) : 0;
            if (executor != null) {
                compiled = compile(traced, model, task, config, executor, budget, evalBytes);
            } else if (budget <= 0) {
                compiled = compile(traced, model, task, config, Executor.cpu(), budget, evalBytes);
            } else {
                if (budget <= bound) {
                    throw new IllegalArgumentException(MemoryBudgetPlanner.belowBoundMessage(budget, model, traced));
                }
                memory = limitedMemory(budget);
                // The bound tensors live outside the memory manager; it counts them, so that its
                // limit is the whole budget and its peak the whole training's.
                boundCount = memory.countExternal(bound, "bound tensors (parameters, buffers, optimizer state)");
                compiled = compile(traced, model, task, config, new Executor(new CpuBackend(memory)), budget, evalBytes);
            }
        } catch (RuntimeException | Error e) {
            traced.close();
            if (memory != null) {
                memory.close();
            }
            throw e;
        }
        this.boundCounted = boundCount;
        this.boundBytes = bound;
        this.stepGraph = traced;
        this.input = traced.input();
        this.target = traced.target();
        this.update = traced.update();
        this.stepProgram = compiled.step();
        this.evaluator = compiled.evaluator();
        this.ownMemory = memory;
        this.deviceClock = stepProgram.backend() instanceof CudaBackend cuda ? new DeviceStepClock(cuda.deviceApi()) : null;
        LOG.debug("compiled the training step: {} kernel calls, {} bytes", stepProgram.stepCount(), stepProgram.allocatedBytes());
        MemoryPlan plan = stepProgram.memoryPlan();
        this.stepFlops = plan.stepFlops() + plan.recomputeFlops();
        this.guard = config.runBudgets().watchesRun() ? new BudgetGuard(config.runBudgets(), config.guardrails(), config.evalEvery()) : null;
        this.evalEvery = config.evalEvery();
    }

    /** The compiled training step and the evaluator holding the evaluation programs compiled so far. */
    private record Compiled(Program step, Evaluator evaluator) {
        void close() {
            step.close();
            evaluator.close();
        }
    }

    /**
     * Compiles the training step (under a budget, for the budget less {@code evalBytes}) and then
     * the evaluation programs of the configuration, and binds the step; on failure frees what it made.
     */
    private static Compiled compile(TrainingStepGraph traced, Module model, TrainingTask task, TrainerConfig config, Executor ex,
                                    long budget, long evalBytes) {
        Program p = null;
        Evaluator ev = null;
        try {
            Executor stepExecutor = TrainingStepGraph.executor(budget > 0 ? ex.withMemoryBudget(Math.max(0, budget - evalBytes)) : ex, config);
            try {
                p = stepExecutor.compile(traced.graph(), traced.outputs());
            } catch (MemoryBudgetExceededException e) {
                throw new IllegalArgumentException(MemoryBudgetPlanner.exceededMessage(budget, evalBytes, config.evalBatchSizes(), e), e);
            }
            traced.bind(p);
            // evaluation has no backward pass, so nothing to recompute: planned without a budget
            ev = new Evaluator(model, task, ex.withMemoryBudget(-1).withAutocast(config.mixedPrecision().precision()));
            for (int n : config.evalBatchSizes()) {
                ev.prepare(n);
            }
            return new Compiled(p, ev);
        } catch (RuntimeException | Error e) {
            if (p != null) {
                p.close();
            }
            if (ev != null) {
                ev.close();
            }
            throw e;
        }
    }

    /**
     * The trainer's own memory manager under a budget: exact segments, so what it reserves is what
     * the programs allocate, which the plan counts block for block; with the bound tensors counted
     * too, its limit is the budget.
     */
    private static CachingAllocator limitedMemory(long limit) {
        return new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults().withExactSegments(true).withMemoryLimit(limit));
    }

    /**
     * Counts wall-clock time the caller spent setting this run up (starting, loading data,
     * compiling the programs) in the run's wall time ({@link FitResult#usage()}) and against its
     * time budget, so a budget holds for the whole run as its user sees it. Not part of
     * {@link #trainSeconds()}.
     *
     * @param seconds at least 0
     */
    public void addSetupSeconds(double seconds) {
        if (!(seconds >= 0)) {
            throw new IllegalArgumentException("setup seconds " + seconds + ", expected at least 0");
        }
        setupSeconds += seconds;
    }

    /**
     * Keeps {@code seconds} of the time budget free for what the caller does once the run has
     * ended (e.g. writing a report), so the whole command stays within it. No effect without a
     * time budget.
     *
     * @param seconds at least 0
     */
    public void reserveFinishSeconds(double seconds) {
        if (guard != null) {
            guard.reserveFinish(seconds);
        }
    }

    /**
     * The pruning of the current or last fit (its masks, schedule and kept channels); null without
     * pruning ({@link TrainerConfig#pruning()}) or before the first fit.
     */
    public Pruner pruner() {
        return pruner;
    }

    /** The task this trainer trains the model on. */
    public TrainingTask task() {
        return task;
    }

    /** Optimizer steps done so far (including those restored by {@link #resume}). */
    public long step() {
        return step;
    }

    /** The epoch the next step belongs to, from 0. */
    public int epoch() {
        return epoch;
    }

    /** The checkpoint written last by this trainer (or resumed from); null when none. */
    public Path lastCheckpoint() {
        return lastCheckpoint;
    }

    /**
     * The loss scale the next step uses (the step keeps it in its state and updates it itself);
     * NaN when the configuration does not scale the loss.
     */
    public double lossScale() {
        return config.mixedPrecision().scalesLoss() ? LossScaler.scale(update.state()) : Double.NaN;
    }

    /**
     * Brings the loss scaler's scale and skip count back from a device backend's copies (a few
     * bytes, read with the loss), so the step metrics show the current ones; nothing on the CPU.
     */
    private void readLossScalerState() {
        if (config.mixedPrecision().scalesLoss()) {
            Map<String, Tensor> state = update.state();
            List<Tensor> scaler = new ArrayList<>();
            for (String name : List.of(LossScaler.SCALE, LossScaler.SKIPPED_STEPS)) {
                if (state.get(name) != null) {
                    scaler.add(state.get(name));
                }
            }
            stepProgram.backend().copyWrappedToHost(scaler);
        }
    }

    /** Steps of the run so far (resumed ones included) that the loss scaler skipped for a non-finite gradient. */
    public long skippedSteps() {
        return LossScaler.skippedSteps(update.state());
    }

    /** The full names of the parameters this trainer updates, in the model's order. */
    public List<String> trainableParameters() {
        return stepGraph.trainableParameters();
    }

    /** The full names of the parameters this trainer leaves frozen ({@link TrainerConfig#freeze()}), in the model's order. */
    public List<String> frozenParameters() {
        return stepGraph.frozenParameters();
    }

    /** The optimizer's state tensors by name (live; what a checkpoint saves). */
    public Map<String, Tensor> optimizerState() {
        return update.state();
    }

    /**
     * Host bytes this trainer's training holds: the compiled programs' buffers plus the model's
     * variables and the optimizer state. On the CPU backend this is also the training device's
     * peak, since every buffer is allocated once at compile time.
     *
     * @return bytes
     */
    public long hostBytes() {
        return stepProgram.allocatedBytes() + evaluator.allocatedBytes() + boundBytes;
    }

    /**
     * Bytes of the tensors the programs bind, allocated outside the memory manager: the model's
     * parameters and buffers and the optimizer state.
     *
     * @return bytes
     */
    public long boundBytes() {
        return boundBytes;
    }

    /** The memory plan of the compiled training step (under the budget less the evaluation programs, when there is one). */
    public MemoryPlan memoryPlan() {
        return stepProgram.memoryPlan();
    }

    /** Bytes the compiled evaluation programs hold from the memory manager. */
    public long evaluationBytes() {
        return evaluator.allocatedBytes();
    }

    /**
     * The peak this trainer's training is predicted to reach: the bound tensors, the training
     * step's buffers and workspaces, and the evaluation programs compiled so far (all of them
     * before the first step under a budget), which coexist.
     *
     * @return bytes
     */
    public long predictedPeakBytes() {
        return boundBytes + stepProgram.memoryPlan().managedBytes() + evaluator.allocatedBytes();
    }

    /**
     * The training device's peak so far: on a GPU, the peak of the device's memory manager; on the
     * CPU with a memory manager of the trainer's own (a memory budget), its measured peak
     * ({@link MemoryStats#peakAllocatedBytes()}, which counts the bound tensors too); otherwise
     * {@link #hostBytes()}, the programs sharing the process's memory manager.
     *
     * @return bytes
     */
    public long peakDeviceBytes() {
        if (stepProgram.backend().device().kind() == dev.frugal.runtime.Device.Kind.CUDA) {
            // every device buffer, bound tensors' copies included, comes from the device's memory manager
            return stepProgram.backend().memory().snapshot().peakAllocatedBytes();
        }
        return ownMemory != null ? ownMemory.snapshot().peakAllocatedBytes() : hostBytes();
    }

    /** The statistics of the trainer's own memory manager; null when it has none (no budget). */
    public MemoryStats memoryStats() {
        return ownMemory == null ? null : ownMemory.snapshot();
    }

    /** The memory budget, in bytes; -1 when there is none. */
    public long memoryBudget() {
        return config.hasMemoryBudget() ? config.memoryBudget() : -1;
    }

    /**
     * Trains until the configured epochs, the step limit, early stopping or a non-finite loss,
     * evaluating on {@code test} after every {@code evalEvery}-th epoch and at the end (also when
     * the step limit cuts an epoch short), and checkpointing after every epoch.
     *
     * @param train the training batches, in the task's shapes; every batch must hold exactly the
     *     trainer's batch size (use {@code LastBatchPolicy.DROP} unless the batch size divides the dataset)
     * @param test the evaluation batches (any batch sizes)
     * @param listener receives steps and evaluations; may be null
     * @return what happened
     * @throws IOException when reading data or writing a checkpoint fails
     */
    public FitResult fit(BatchSource train, BatchSource test, TrainingListener listener) throws IOException {
        checkOpen();
        TrainingListener events = listener == null ? new TrainingListener() { } : listener;
        if (train.batchSize() != batchSize) {
            throw new IllegalArgumentException("the training loader's batch size is " + train.batchSize()
                    + ", the trainer was compiled for " + batchSize);
        }
        checkEvaluationPrepared(test);
        int perEpoch = train.batchesPerEpoch();
        long planned = (long) perEpoch * config.epochs();
        if (config.maxSteps() > 0) {
            planned = Math.min(planned, config.maxSteps());
        }
        if (stepGraph.pruningMasks() != null) {
            // the schedule spans the steps planned now; a resumed run's masks come back with the optimizer state
            pruner = new Pruner(stepGraph.pruningMasks(), model.state(), update.state(), planned);
        }
        if (energyMeter == null) {
            energyMeter = EnergyMeter.forCpu(java.nio.file.Path.of("/sys/class/powercap"), config.tdpWatts(), LOG::info);
        }
        meter = deviceClock == null ? new ResourceMeter(energyMeter, secondsBeforeFit + setupSeconds, deviceSecondsBefore, energyBefore)
                : new ResourceMeter(energyMeter, secondsBeforeFit + setupSeconds, deviceSecondsBefore, energyBefore, deviceClock::seconds);
        if (guard != null) {
            guard.checkNotSpent(meter.usage(trainSamples), step);
        }
        events.onStart(planned, step);
        fitStartNanos = System.nanoTime();
        fitting = true;
        Throwable failure = null;
        try {
            return trainEpochs(train, test, events, perEpoch);
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            endFit(failure);
        }
    }

    /**
     * After a fit, also a failed one: the device's trained copies back into the host tensors
     * (where the caller reads the model), and the time and energy so far kept, so a later fit or
     * checkpoint does not count the idle time. After a device fault (a kernel's illegal address)
     * neither can reach the device any more; the fit's own error is then the one thrown, with
     * these attached as suppressed, and the host tensors and the last checkpoint keep the values
     * last copied back.
     */
    private void endFit(Throwable failure) {
        try {
            stepProgram.backend().copyWrappedToHost();
            Usage spent = meter.usage(trainSamples);
            deviceSecondsBefore = spent.deviceSeconds();
            energyBefore = spent.energyJoules();
        } catch (RuntimeException e) {
            if (failure == null) {
                throw e;
            }
            failure.addSuppressed(e);
        } finally {
            secondsBeforeFit = trainSeconds();
            fitting = false;
        }
    }

    /** The loop of {@link #fit}, from the current step to the end of training. */
    private FitResult trainEpochs(BatchSource train, BatchSource test, TrainingListener events, int perEpoch) throws IOException {
        List<Evaluation> evaluations = new ArrayList<>();
        EndReason reason = EndReason.EPOCHS;
        String message = "";
        Map<Value, Tensor> feeds = new HashMap<>();
        EndReason budgetStop = null;
        long evaluatedAtStep = -1;
        int testSamples = test.sampleCount();
        double finalEvalGuess = testSamples / 3.0; // seconds per sample unknown yet: refined below
        outer:
        while (epoch < config.epochs()) {
            if (stepLimitReached()) {
                reason = EndReason.STEPS;
                break;
            }
            boolean cut = false;
            long loopStart = System.nanoTime();
            Usage before = meter.usage(trainSamples);
            int unread = 0; // steps queued since the last loss read back (TrainerConfig.lossEvery)
            try (EpochBatches batches = train.epoch(epoch)) {
                int index = 0;
                while (batches.hasNext()) {
                    if (guard != null) {
                        // a final evaluation runs forward only, about a third of a training step per sample
                        finalEvalGuess = guard.fastestStepSeconds() < 0 ? finalEvalGuess
                                : guard.fastestStepSeconds() / batchSize * testSamples / 3;
                        String budget = guard.stopBeforeStep(before, step, finalEvalGuess);
                        publishGuardrails(events);
                        if (budget != null) {
                            budgetStop = EndReason.ofLabel(budget);
                            cut = true;
                            break;
                        }
                    }
                    DataBatch batch = batches.next();
                    if (index++ < batchInEpoch) {
                        continue; // done before the checkpoint this run resumed from
                    }
                    if (batch.size() != batchSize) {
                        throw new IllegalArgumentException("training batch " + batch.index() + " of epoch " + epoch + " holds " + batch.size()
                                + " samples, the step was compiled for " + batchSize + "; drop the last batch (LastBatchPolicy.DROP)");
                    }
                    if (pruner != null && pruner.updatesAt(step)) {
                        // the masks follow the current weights, and the pruned weights are zeroed on the device too
                        stepProgram.backend().copyWrappedToHost();
                        pruner.beforeStep(step);
                        stepProgram.backend().copyWrappedFromHost();
                    }
                    double lr = config.learningRate().applyAsDouble(step);
                    feeds.clear();
                    feeds.put(input, batch.input());
                    feeds.put(target, batch.target());
                    update.feedLearningRate(feeds, lr);
                    // the loss comes back every lossEvery-th step and at the last step of the epoch and of the
                    // run; the steps between are only queued, so the host runs ahead of a GPU
                    boolean read = (step + 1) % config.lossEvery() == 0 || batchInEpoch + 1 >= perEpoch
                            || (config.maxSteps() > 0 && step + 1 >= config.maxSteps());
                    double loss = Double.NaN;
                    if (deviceClock != null) {
                        deviceClock.begin();
                    }
                    try {
                        if (read) {
                            loss = stepProgram.run(feeds).getFirst().getFlat(0);
                        } else {
                            stepProgram.runQueued(feeds);
                        }
                    } catch (NonFiniteException e) {
                        read = true; // the CPU's reductions found it at once
                    }
                    if (deviceClock != null) {
                        deviceClock.end();
                    }
                    if (read && !Double.isFinite(loss)) {
                        reason = EndReason.NON_FINITE_LOSS;
                        message = "non-finite loss at step " + (step + 1) + (unread > 0 ? " (the loss is read every " + config.lossEvery()
                                + " steps: it turned non-finite at one of steps " + (step + 1 - unread) + " to " + (step + 1) + ")" : "")
                                + " (learning rate " + lr + "); last good checkpoint: "
                                + (lastCheckpoint == null ? "none written yet" : lastCheckpoint + " (kept)");
                        LOG.warn(message);
                        break outer;
                    }
                    step++;
                    batchInEpoch++;
                    trainSamples += batch.size();
                    if (!read) {
                        unread++;
                        continue;
                    }
                    trainLossSum += loss;
                    trainLossSteps++;
                    // the time and energy since the last read, spread over the steps it covers
                    int covered = unread + 1;
                    unread = 0;
                    Usage after = meter.usage(trainSamples);
                    double seconds = (after.wallSeconds() - before.wallSeconds()) / covered;
                    if (guard != null) {
                        double joules = (after.energyJoules() - before.energyJoules()) / covered;
                        for (int i = 0; i < covered; i++) {
                            guard.recordStep(seconds, joules);
                        }
                    }
                    smoothedStepSeconds = smoothedStepSeconds < 0 ? seconds : 0.3 * seconds + 0.7 * smoothedStepSeconds;
                    double flopsPerSecond = smoothedStepSeconds > 0 ? stepFlops / smoothedStepSeconds : 0;
                    readLossScalerState();
                    events.onStep(new StepMetrics(step, epoch, loss, lr, batch.size(), after, peakDeviceBytes(), flopsPerSecond,
                            peakFlops > 0 ? flopsPerSecond / peakFlops : -1, lossScale(), skippedSteps()));
                    before = after;
                    if (stepLimitReached() && batchInEpoch < perEpoch) {
                        cut = true;
                        break;
                    }
                }
            } finally {
                stepSeconds += (System.nanoTime() - loopStart) / 1e9;
            }
            if (!cut) {
                epoch++;
                batchInEpoch = 0;
            }
            boolean last = cut || epoch >= config.epochs() || stepLimitReached();
            boolean stop = false;
            // One reading marks the epoch's end and starts the evaluation's and checkpoint's costs.
            Usage mark = meter.usage(trainSamples);
            events.onEpochEnd(cut ? epoch : epoch - 1, step, mark);
            if (guard != null && !last) {
                long stepsLeft = (long) perEpoch * config.epochs() - step;
                if (config.maxSteps() > 0) {
                    stepsLeft = Math.min(stepsLeft, config.maxSteps() - step);
                }
                evalEvery = guard.evalEvery(mark, step, stepsLeft, config.epochs() - epoch);
                publishGuardrails(events);
            }
            // A budget that stops the run right after an epoch's end finds that epoch's evaluation
            // done at this very step: it is the final one (and saveCheckpoint keeps its checkpoint).
            boolean evaluatedHere = budgetStop != null && step == evaluatedAtStep;
            if (!evaluatedHere && (last || epoch % evalEvery == 0)) {
                evaluatedAtStep = step;
                Evaluation ev = evaluate(test);
                Usage evaluated = meter.usage(trainSamples);
                if (guard != null) {
                    guard.recordEvaluation(evaluated.wallSeconds() - mark.wallSeconds(), evaluated.energyJoules() - mark.energyJoules());
                }
                mark = evaluated;
                evaluations.add(ev);
                EvaluationMetrics metrics = new EvaluationMetrics(cut ? epoch : epoch - 1, step, ev,
                        trainLossSteps > 0 ? trainLossSum / trainLossSteps : Double.NaN, task.metricNames());
                trainLossSum = 0;
                trainLossSteps = 0;
                events.onEvaluation(metrics);
                stop = updateEarlyStopping(metrics);
            }
            saveCheckpoint();
            if (guard != null) {
                Usage saved = meter.usage(trainSamples);
                guard.recordCheckpoint(saved.wallSeconds() - mark.wallSeconds(), saved.energyJoules() - mark.energyJoules());
            }
            if (stop) {
                reason = EndReason.EARLY_STOPPING;
                break;
            }
            if (budgetStop != null) {
                reason = budgetStop;
                message = guardrailActions.getLast().reason();
                break;
            }
            if (cut || (stepLimitReached() && epoch < config.epochs())) {
                reason = EndReason.STEPS;
                break;
            }
        }
        double seconds = trainSeconds();
        Evaluation last = evaluations.isEmpty() ? null : evaluations.getLast();
        double flopsPerSecond = stepSeconds > 0 ? stepFlops * step / stepSeconds : 0;
        return new FitResult(reason, epoch, step, last, evaluations, seconds, seconds > 0 ? trainSamples / seconds : 0,
                stepSeconds, stepSeconds > 0 ? trainSamples / stepSeconds : 0, message, meter.usage(trainSamples), meter.energySource(),
                flopsPerSecond, peakFlops > 0 ? flopsPerSecond / peakFlops : -1, guardrailActions);
    }

    /** Logs the guardrails the budget guard applied since the last call and tells the listener. */
    private void publishGuardrails(TrainingListener events) {
        for (GuardrailAction a : guard.drainNew()) {
            guardrailActions.add(a);
            LOG.info("guardrail {} at step {} ({}): {}", a.guardrail().label(), a.step(), a.budget(), a.reason());
            events.onGuardrail(a);
        }
    }

    /**
     * Wall time spent in {@link #fit} by this run so far: this trainer's fits (up to now when
     * called during one) plus the time recorded in the checkpoint it resumed from.
     *
     * @return seconds
     */
    public double trainSeconds() {
        return secondsBeforeFit + (fitting ? (System.nanoTime() - fitStartNanos) / 1e9 : 0);
    }

    private boolean stepLimitReached() {
        return config.maxSteps() > 0 && step >= config.maxSteps();
    }

    private EarlyStopping newEarlyStopping() {
        String metric = config.earlyStopMetric();
        return metric == null ? null
                : new EarlyStopping(metric, EvaluationMetrics.higherIsBetter(metric), config.patience(), config.minDelta());
    }

    /** Feeds an evaluation to early stopping; true when training should stop. */
    private boolean updateEarlyStopping(EvaluationMetrics metrics) {
        if (earlyStopping == null) {
            return false;
        }
        double value = metrics.metric(earlyStopping.metric());
        watchedValues.add(value);
        return earlyStopping.update(value);
    }

    /**
     * Evaluates the model in eval mode over every batch of {@code loader}'s epoch 0 (see {@link Evaluator}).
     *
     * @param loader the evaluation data
     * @return mean loss and accuracy (NaN when the task has none)
     * @throws IOException when reading the data fails
     */
    public Evaluation evaluate(BatchSource loader) throws IOException {
        checkOpen();
        checkEvaluationPrepared(loader);
        return evaluator.evaluate(loader);
    }

    /**
     * Under a memory budget, refuses evaluation data whose batch sizes were not compiled before
     * the first step: their programs were not planned into the budget.
     */
    private void checkEvaluationPrepared(BatchSource loader) throws IOException {
        if (!config.hasMemoryBudget()) {
            return;
        }
        List<Integer> sizes = loader.batchSizes();
        if (!config.evalBatchSizes().containsAll(sizes)) {
            throw new IllegalArgumentException("the evaluation data comes in batches of " + sizes + ", but under the memory budget only "
                    + config.evalBatchSizes() + " were planned and compiled; pass the evaluation loader's batchSizes() to withMemoryBudget");
        }
    }

    /**
     * Writes a checkpoint now (model state, optimizer state, step, epoch, position in the epoch,
     * early-stopping state, the training loss accumulated since the last evaluation, and the
     * run's training time and samples so far) when the configuration names a checkpoint
     * directory, then deletes all but the newest {@link TrainerConfig#keepCheckpoints()}. When
     * this trainer already wrote (or resumed from) the checkpoint of the current step, nothing
     * has changed since, and that one is returned: a run that ends right after an epoch's
     * checkpoint does not write it twice.
     *
     * @return the checkpoint's folder, or null when checkpoints are off
     * @throws IOException when writing fails (the previous checkpoint stays intact)
     */
    public Path saveCheckpoint() throws IOException {
        checkOpen();
        if (config.checkpointDir() == null) {
            return null;
        }
        if (lastCheckpoint != null && lastCheckpointStep == step) {
            return lastCheckpoint;
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("batch_in_epoch", Integer.toString(batchInEpoch));
        StringBuilder watched = new StringBuilder();
        for (double v : watchedValues) {
            watched.append(watched.isEmpty() ? "" : ",").append(Double.toString(v));
        }
        meta.put("early_stopping_values", watched.toString());
        // Double.toString round-trips exactly, so a resumed run's train_loss is bit-identical.
        meta.put("train_loss_sum", Double.toString(trainLossSum));
        meta.put("train_loss_steps", Long.toString(trainLossSteps));
        meta.put("train_seconds", Double.toString(trainSeconds()));
        meta.put("train_samples", Long.toString(trainSamples));
        meta.put("step_seconds", Double.toString(stepSeconds));
        Usage spent = meter != null ? meter.usage(trainSamples) : null;
        meta.put("device_seconds", Double.toString(spent != null ? spent.deviceSeconds() : deviceSecondsBefore));
        meta.put("energy_joules", Double.toString(spent != null ? spent.energyJoules() : energyBefore));
        stepProgram.backend().copyWrappedToHost(); // the checkpoint saves the host tensors
        Checkpoint c = new Checkpoint(step, epoch, new LinkedHashMap<>(model.state()), new LinkedHashMap<>(update.state()),
                new long[] {epoch, batchInEpoch}, meta);
        CheckpointStore store = new CheckpointStore(config.checkpointDir());
        lastCheckpoint = store.save(c);
        lastCheckpointStep = step;
        if (config.keepCheckpoints() > 0) {
            try {
                store.prune(config.keepCheckpoints());
            } catch (IOException e) {
                // The new checkpoint is durable; failing to delete old ones only costs disk space,
                // which is no reason to throw away the training that is still running.
                LOG.warn("could not delete old checkpoints under {}: {}", store.root(), e.toString());
            }
        }
        return lastCheckpoint;
    }

    /**
     * Continues from the latest checkpoint under {@code dir}: restores the model's variables, the
     * optimizer state, the step, the epoch, the position in it, the early-stopping state, the
     * training loss since the last evaluation and the training time and samples so far (a
     * checkpoint written before these were recorded counts them as 0).
     *
     * @param dir a checkpoint directory written by a trainer
     * @return true when a checkpoint was found and loaded, false when there is none
     * @throws IOException when reading fails or the checkpoint is damaged
     * @throws IllegalArgumentException when the checkpoint does not fit this model or optimizer
     */
    public boolean resume(Path dir) throws IOException {
        checkOpen();
        CheckpointStore store = new CheckpointStore(dir);
        var latest = store.latest();
        if (latest.isEmpty()) {
            return false;
        }
        try (Checkpoint c = store.load(latest.get().step())) {
            model.loadState(c.model());
            update.loadState(c.optimizer());
            stepProgram.backend().copyWrappedFromHost(); // a device backend's copies now hold the checkpoint too
            step = c.step();
            epoch = Math.toIntExact(c.epoch());
            batchInEpoch = Integer.parseInt(c.metadata().getOrDefault("batch_in_epoch", "0"));
            trainLossSum = Double.parseDouble(c.metadata().getOrDefault("train_loss_sum", "0"));
            trainLossSteps = Long.parseLong(c.metadata().getOrDefault("train_loss_steps", "0"));
            secondsBeforeFit = Double.parseDouble(c.metadata().getOrDefault("train_seconds", "0"));
            trainSamples = Long.parseLong(c.metadata().getOrDefault("train_samples", "0"));
            stepSeconds = Double.parseDouble(c.metadata().getOrDefault("step_seconds", "0"));
            deviceSecondsBefore = Double.parseDouble(c.metadata().getOrDefault("device_seconds", "0"));
            energyBefore = Double.parseDouble(c.metadata().getOrDefault("energy_joules", "0"));
            watchedValues.clear();
            earlyStopping = newEarlyStopping();
            for (String v : c.metadata().getOrDefault("early_stopping_values", "").split(",")) {
                if (!v.isEmpty()) {
                    double value = Double.parseDouble(v);
                    watchedValues.add(value);
                    if (earlyStopping != null) {
                        earlyStopping.update(value);
                    }
                }
            }
        } catch (NumberFormatException e) {
            throw new IOException("checkpoint " + latest.get().directory() + " has damaged training metadata: " + e.getMessage(), e);
        }
        lastCheckpoint = latest.get().directory();
        lastCheckpointStep = step;
        LOG.info("resumed from {} at step {}, epoch {}", lastCheckpoint, step, epoch);
        return true;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("trainer is closed");
        }
    }

    /** Frees the compiled programs, the optimizer state and the trainer's own memory manager (not the model). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (deviceClock != null) {
            deviceClock.close();
        }
        stepProgram.close();
        evaluator.close();
        stepGraph.close();
        if (boundCounted != null) {
            boundCounted.close();
        }
        if (ownMemory != null) {
            ownMemory.close(); // after the programs, which give their buffers back to it
        }
    }

}
