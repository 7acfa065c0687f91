package dev.frugal.trainer;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.amp.LossScaler;
import dev.frugal.trainer.amp.LossScaling;
import dev.frugal.trainer.optim.GradientClipping;
import dev.frugal.trainer.optim.OptimizerUpdate;
import dev.frugal.trainer.prune.PruningMasks;
import dev.frugal.trainer.transfer.FrozenParameters;
import java.util.ArrayList;
import java.util.List;
import java.util.SequencedSet;

/**
 * The traced training step of a model on a {@link TrainingTask}: forward in training mode, the
 * task's loss, gradients (of the scaled loss, unscaled, when the configuration scales the loss:
 * {@link LossScaler}), optional clipping and the optimizer's update, in one graph whose first (and
 * only) output is the loss. The graph is traced in float32; mixed precision is the executor's
 * autocast pass ({@link #executor}). The one place the step is built, so that what {@link MemoryBudgetPlanner}
 * plans is exactly what {@link Trainer} compiles and runs.
 *
 * <p>Parameters the configuration freezes ({@link TrainerConfig#freeze()}) are left out of the
 * gradient and the update: the backward pass computes nothing only they need, and the optimizer
 * keeps no state for them. Buffers (batch-norm running statistics) are not parameters and still
 * update in training mode, as in PyTorch.
 *
 * <p>The task may trace more than the model into the step ({@link TrainingTask#stepLoss}): a
 * {@link Distillation} teacher runs in eval mode on the same input, its variables state inputs
 * ({@link #readOnlyTraces()}) that get no gradient and no optimizer state.
 *
 * <p>With pruning ({@link TrainerConfig#pruning()}) the step holds a 0/1 mask per pruned parameter in
 * the optimizer state and multiplies it into the parameter's update ({@link PruningMasks}).
 *
 * <p>Tracing allocates the optimizer's state tensors ({@link OptimizerUpdate}); {@link #close()}
 * frees them. The model's own tensors are only referenced.
 */
public final class TrainingStepGraph implements AutoCloseable {
    private final Graph graph;
    private final ModuleTrace trace;
    private final Value input;
    private final Value target;
    private final Value loss;
    private final OptimizerUpdate update;
    private final List<String> trainable;
    private final List<String> frozen;
    private final List<ModuleTrace> readOnly;
    private final PruningMasks pruningMasks;

    private TrainingStepGraph(Graph graph, ModuleTrace trace, Value input, Value target, Value loss, OptimizerUpdate update,
                              List<String> trainable, List<String> frozen, List<ModuleTrace> readOnly, PruningMasks pruningMasks) {
        this.readOnly = readOnly;
        this.pruningMasks = pruningMasks;
        this.trainable = trainable;
        this.frozen = frozen;
        this.graph = graph;
        this.trace = trace;
        this.input = input;
        this.target = target;
        this.loss = loss;
        this.update = update;
    }

    /**
     * Traces the training step of an image classifier ({@link ImageClassification}).
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} images to class logits
     * @param sampleShape the shape of one input sample, e.g. {@code [1, 28, 28]}
     * @param batchSize the batch size the step is traced for
     * @param config the optimizer and clipping to append
     * @return the step; close it (or hand its update to a trainer that does) to free the optimizer state
     * @throws IllegalArgumentException when {@code batchSize < 1}
     */
    public static TrainingStepGraph trace(Module model, Shape sampleShape, int batchSize, TrainerConfig config) {
        return trace(model, new ImageClassification(sampleShape), batchSize, config);
    }

    /**
     * Traces the training step. The module is switched to training mode for the trace and put
     * back in the mode it was in afterwards, also when tracing fails.
     *
     * @param model an initialised module mapping the task's input to its output
     * @param task the inputs a batch feeds and the loss
     * @param batchSize the batch size the step is traced for
     * @param config the optimizer and clipping to append
     * @return the step; close it (or hand its update to a trainer that does) to free the optimizer state
     * @throws IllegalArgumentException when {@code batchSize < 1}
     */
    public static TrainingStepGraph trace(Module model, TrainingTask task, int batchSize, TrainerConfig config) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + ", expected at least 1");
        }
        boolean wasTraining = model.isTraining();
        model.train(true);
        try {
            Graph g = new Graph("train-step");
            ModuleTrace trace = ModuleTrace.of(g, model);
            Value input = task.declareInput(g, batchSize);
            Value target = task.declareTarget(g, batchSize);
            // the task's step loss: a distillation task also traces its teacher here, as state inputs
            TrainingTask.StepLoss stepLoss = task.stepLoss(input, trace.forward(input), target);
            Value loss = stepLoss.loss();
            // frozen parameters stay graph inputs (the forward pass reads them) but are left out of
            // the differentiation, so no gradient is computed for them and the optimizer never sees them
            SequencedSet<String> frozen = FrozenParameters.resolve(trace.parameters().keySet(), config.freeze());
            List<String> names = new ArrayList<>();
            List<Value> params = new ArrayList<>();
            List<Value> all = trace.parameterValues();
            int i = 0;
            for (String name : trace.parameters().keySet()) {
                if (!frozen.contains(name)) {
                    names.add(name);
                    params.add(all.get(i));
                }
                i++;
            }
            OptimizerUpdate update = new OptimizerUpdate(g);
            PruningMasks masks = null;
            try {
                if (config.pruning() != null) {
                    // before the optimizer appends its update, so every assignment to a pruned parameter is masked
                    masks = PruningMasks.declare(config.pruning(), config.pruning().targets(model), names, params, update);
                }
                LossScaling scaling = config.mixedPrecision().scaling();
                LossScaler scaler = scaling == null ? null : LossScaler.declare(scaling, update, g);
                // with loss scaling: gradients of loss * scale, unscaled, and the step skipped when one is not finite
                List<Value> grads = scaler == null ? Autodiff.grad(loss, params) : scaler.gradients(loss, params);
                if (config.clipNorm() > 0) {
                    grads = GradientClipping.clip(grads, config.clipNorm()).gradients();
                }
                config.optimizer().append(update, names, params, grads);
                if (scaler != null) {
                    scaler.appendScaleUpdate();
                }
            } catch (RuntimeException | Error e) {
                update.close();
                throw e;
            }
            return new TrainingStepGraph(g, trace, input, target, loss, update, List.copyOf(names), List.copyOf(frozen),
                    stepLoss.frozen(), masks);
        } finally {
            model.train(wasTraining);
        }
    }

    /**
     * {@code base} set up to compile this step as {@code config} asks: the autocast pass for its
     * precision, and, when the loss is scaled, without the reductions' non-finite check, since
     * an overflowing gradient is then the loss scaler's to handle (the step is skipped).
     */
    public static dev.frugal.runtime.exec.Executor executor(dev.frugal.runtime.exec.Executor base, TrainerConfig config) {
        return base.withAutocast(config.mixedPrecision().precision()).withNonFiniteCheck(!config.mixedPrecision().scalesLoss());
    }

    /** The graph. */
    public Graph graph() {
        return graph;
    }

    /** What to compile: the loss alone (the memory planner takes the first output as the loss). */
    public List<Value> outputs() {
        return List.of(loss);
    }

    /** The loss value (the task's mean over the batch). */
    public Value loss() {
        return loss;
    }

    /** The model's input, a data input fed each step ({@link dev.frugal.trainer.data.DataBatch#input()}). */
    public Value input() {
        return input;
    }

    /** The target, a data input fed each step ({@link dev.frugal.trainer.data.DataBatch#target()}). */
    public Value target() {
        return target;
    }

    /** An image classifier's images, {@code [batch, ...sampleShape]} F32: the same as {@link #input()}. */
    public Value images() {
        return input;
    }

    /** An image classifier's labels, {@code [batch]} I32: the same as {@link #target()}. */
    public Value labels() {
        return target;
    }

    /** The model's trace: its variables as graph inputs. */
    public ModuleTrace trace() {
        return trace;
    }

    /** The full names of the parameters this step trains, in the model's order. */
    public List<String> trainableParameters() {
        return trainable;
    }

    /** The full names of the parameters this step freezes ({@link TrainerConfig#freeze()}), in the model's order. */
    public List<String> frozenParameters() {
        return frozen;
    }

    /**
     * The traces of the modules the loss reads that do not train (a distillation teacher's):
     * state inputs bound with the model's, with no gradient and no optimizer state.
     */
    public List<ModuleTrace> readOnlyTraces() {
        return readOnly;
    }

    /** The pruning masks of the step ({@link TrainerConfig#pruning()}); null without pruning. */
    public PruningMasks pruningMasks() {
        return pruningMasks;
    }

    /** The optimizer's part of the step: its learning-rate input and state tensors. */
    public OptimizerUpdate update() {
        return update;
    }

    /**
     * Binds the model's tensors and the optimizer state to a program compiled from this step.
     *
     * @param program the compiled step
     */
    public void bind(Program program) {
        trace.bind(program);
        for (ModuleTrace t : readOnly) {
            t.bind(program);
        }
        update.bind(program);
    }

    /** Frees the optimizer state tensors and the learning-rate feed. */
    @Override
    public void close() {
        update.close();
    }
}
