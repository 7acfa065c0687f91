package dev.frugal.trainer.optim;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The part of a training graph an {@link Optimizer} appended: the learning-rate input (an F64
 * scalar fed every step) and the optimizer's state inputs with the tensors that hold them. The
 * state tensors are owned here, start at zero, are updated in place by the program's
 * assignments, and are what a checkpoint saves.
 */
public final class OptimizerUpdate implements AutoCloseable {
    private final Value learningRate;
    private final SequencedMap<String, Value> stateInputs = new LinkedHashMap<>();
    private final SequencedMap<String, Tensor> stateTensors = new LinkedHashMap<>();
    private final Tensor lrFeed = Tensor.zeros(dev.frugal.runtime.Shape.scalar(), DType.F64);
    /** A BOOL scalar that, when true at run time, leaves every assigned value as it was; null: never. */
    private Value skipStep;
    /** Per parameter, a 0/1 mask multiplied into its assigned value (pruning); parameters absent are unmasked. */
    private final Map<Value, Value> masks = new HashMap<>();

    /** The scope optimizers append their update in (the autocast pass keeps it in float32). */
    public static final String SCOPE = "optimizer";

    /**
     * Starts an update on {@code graph} by declaring its learning-rate data input.
     *
     * @param graph the training graph
     */
    public OptimizerUpdate(Graph graph) {
        this.learningRate = graph.input("lr", dev.frugal.runtime.Shape.scalar(), DType.F64);
    }

    /** The learning-rate data input (F64 scalar). */
    public Value learningRate() {
        return learningRate;
    }

    /**
     * Declares a zero-initialised state input shaped like {@code like} and allocates its tensor.
     *
     * @param name the state name, unique within this update (e.g. {@code exp_avg/fc1.weight})
     * @param like the value whose shape it takes
     * @param dtype the state's dtype
     * @return the state input
     */
    public Value declareState(String name, Value like, DType dtype) {
        return declareState(name, like.shape(), dtype, like.graph());
    }

    /**
     * Declares a zero-initialised state input and allocates its tensor.
     *
     * @param name the state name, unique within this update
     * @param shape its shape
     * @param dtype its dtype
     * @param graph the training graph
     * @return the state input
     */
    public Value declareState(String name, dev.frugal.runtime.Shape shape, DType dtype, Graph graph) {
        return declareState(name, shape, dtype, graph, 0);
    }

    /**
     * Declares a state input filled with {@code initial} and allocates its tensor (a pruning mask
     * starts at 1: nothing pruned).
     *
     * @param name the state name, unique within this update
     * @param shape its shape
     * @param dtype its dtype
     * @param graph the training graph
     * @param initial the value every element starts at
     * @return the state input
     */
    public Value declareState(String name, dev.frugal.runtime.Shape shape, DType dtype, Graph graph, double initial) {
        if (stateInputs.containsKey(name)) {
            throw new IllegalArgumentException("optimizer state '" + name + "' declared twice");
        }
        // The "optim." prefix keeps optimizer inputs apart from the model's own variable names.
        Value in = graph.state("optim." + name, shape, dtype);
        stateInputs.put(name, in);
        stateTensors.put(name, initial == 0 ? Tensor.zeros(shape, dtype) : Tensor.full(shape, dtype, initial));
        return in;
    }

    /**
     * Makes every later {@link #assign} conditional: where {@code flag} is true at run time the
     * target keeps its value, so a step the loss scaler skips leaves the parameters and the
     * optimizer state bit-identical. Set it before the optimizer appends its update.
     *
     * @param flag a BOOL scalar of the update's graph
     * @throws IllegalArgumentException when it is not a BOOL scalar
     * @throws IllegalStateException when a flag is already set
     */
    public void skipStepWhen(Value flag) {
        if (flag.dtype() != DType.BOOL || flag.shape().numel() != 1) {
            throw new IllegalArgumentException("skip flag " + flag + ", expected a BOOL scalar");
        }
        if (skipStep != null) {
            throw new IllegalStateException("the step already has a skip flag: " + skipStep);
        }
        skipStep = flag;
    }

    /** The flag set by {@link #skipStepWhen}, or null. */
    public Value skipStep() {
        return skipStep;
    }

    /**
     * Makes every later {@link #assign} to {@code parameter} multiply the new value by {@code mask},
     * so pruned weights stay exactly zero whatever the optimizer computes for them. Set it before
     * the optimizer appends its update.
     *
     * @param parameter a parameter input of the update's graph
     * @param mask a float state input of the parameter's shape holding 0 (pruned) or 1
     * @throws IllegalArgumentException when the shapes differ or the parameter is already masked
     */
    public void maskParameter(Value parameter, Value mask) {
        if (!mask.shape().equals(parameter.shape())) {
            throw new IllegalArgumentException("mask " + mask + " for parameter " + parameter + ": expected the parameter's shape " + parameter.shape());
        }
        if (masks.putIfAbsent(parameter, mask) != null) {
            throw new IllegalArgumentException("parameter " + parameter + " is already masked");
        }
    }

    /**
     * Assigns {@code value} to the parameter or state input {@code target} at the end of the step:
     * times its mask when the target is a masked parameter ({@link #maskParameter}), and with a skip
     * flag, {@code where(skip, target, value)}.
     */
    public void assign(Value target, Value value) {
        Value mask = masks.get(target);
        Value v = mask == null ? value : value.mul(mask);
        Ops.assign(target, skipStep == null ? v : Ops.where(skipStep, target, v));
    }

    /** The state tensors by name, in declaration order (live: the program updates them in place). */
    public SequencedMap<String, Tensor> state() {
        return Collections.unmodifiableSequencedMap(stateTensors);
    }

    /**
     * Copies saved state into this update's tensors, for resuming.
     *
     * @param saved state by name; must hold exactly this update's names with matching shapes and dtypes
     * @throws IllegalArgumentException naming the first missing, extra or mismatched entry
     */
    public void loadState(Map<String, Tensor> saved) {
        for (String name : saved.keySet()) {
            if (!stateTensors.containsKey(name)) {
                throw new IllegalArgumentException("optimizer state '" + name + "' in the checkpoint is unknown to this optimizer; expected " + stateTensors.keySet());
            }
        }
        for (Map.Entry<String, Tensor> e : stateTensors.entrySet()) {
            Tensor src = saved.get(e.getKey());
            Tensor dst = e.getValue();
            if (src == null) {
                throw new IllegalArgumentException("optimizer state '" + e.getKey() + "' is missing from the checkpoint");
            }
            if (!src.shape().equals(dst.shape()) || src.dtype() != dst.dtype()) {
                throw new IllegalArgumentException("optimizer state '" + e.getKey() + "' is " + src.dtype() + src.shape()
                        + " in the checkpoint, expected " + dst.dtype() + dst.shape());
            }
        }
        for (Map.Entry<String, Tensor> e : stateTensors.entrySet()) {
            e.getValue().copyFrom(saved.get(e.getKey()));
        }
    }

    /**
     * Binds every state tensor into a program compiled from the training graph.
     *
     * @param program the step program
     */
    public void bind(Program program) {
        stateInputs.forEach((name, in) -> program.bind(in, stateTensors.get(name)));
    }

    /**
     * Adds the learning-rate feed for one step to {@code feeds}.
     *
     * @param feeds the step's data feeds
     * @param lr the learning rate of this step
     */
    public void feedLearningRate(Map<Value, Tensor> feeds, double lr) {
        lrFeed.setFlat(0, lr);
        feeds.put(learningRate, lrFeed);
    }

    /** Frees the state tensors and the learning-rate feed. */
    @Override
    public void close() {
        stateTensors.values().forEach(Tensor::close);
        lrFeed.close();
    }
}
