package dev.frugal.trainer.amp;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.optim.OptimizerUpdate;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Dynamic loss scaling in the training graph ({@link LossScaling} gives the semantics): the loss
 * scale, the growth tracker and the count of skipped steps are state of the step, updated by the
 * step itself, so nothing is read back to the host to scale, check or skip, and a whole step can
 * be replayed as one CUDA graph.
 *
 * <p>The scaled loss's gradients are unscaled in float32 (the {@code loss_scale} scope), and
 * whether any unscaled element is not finite (from each gradient's largest and smallest element)
 * becomes the found-inf flag: the optimizer's assignments keep
 * their old values when it is set ({@link OptimizerUpdate#skipStepWhen}), and the scale backs
 * off; otherwise the growth tracker counts towards growing the scale. The three state values are
 * declared in the step's {@link OptimizerUpdate} under {@code amp/...}, so checkpoints save and
 * resume them with the optimizer state.
 */
public final class LossScaler {
    /** The scope of the unscaling, the overflow check and the scale update (float32 under autocast). */
    public static final String SCOPE = "loss_scale";
    /** State names in the optimizer state. */
    public static final String SCALE = "amp/scale";
    public static final String GROWTH_TRACKER = "amp/growth_tracker";
    public static final String SKIPPED_STEPS = "amp/skipped_steps";

    private final LossScaling scaling;
    private final OptimizerUpdate update;
    private final Graph graph;
    private final Value scale;
    private final Value growthTracker;
    private final Value skippedSteps;
    private Value foundNonFinite;

    private LossScaler(LossScaling scaling, OptimizerUpdate update, Graph graph) {
        this.scaling = scaling;
        this.update = update;
        this.graph = graph;
        this.scale = update.declareState(SCALE, Shape.scalar(), DType.F32, graph);
        this.growthTracker = update.declareState(GROWTH_TRACKER, Shape.scalar(), DType.F32, graph);
        this.skippedSteps = update.declareState(SKIPPED_STEPS, Shape.scalar(), DType.F32, graph);
        update.state().get(SCALE).setFlat(0, scaling.initialScale());
    }

    /**
     * Declares the scaler's state in {@code update} (the scale starts at the initial scale).
     *
     * @param scaling the semantics
     * @param update the step's optimizer update, before the optimizer appends to it
     * @param graph the training graph
     */
    public static LossScaler declare(LossScaling scaling, OptimizerUpdate update, Graph graph) {
        return new LossScaler(scaling, update, graph);
    }

    /**
     * The gradients of {@code loss * scale} with respect to {@code wrt}, unscaled in float32, and
     * the step's skip flag set in the update when any of them is not finite.
     *
     * @param loss the scalar loss
     * @param wrt the parameters
     * @return the unscaled gradients, in {@code wrt}'s order
     */
    public List<Value> gradients(Value loss, List<Value> wrt) {
        if (foundNonFinite != null) {
            throw new IllegalStateException("the loss scaler already made this step's gradients");
        }
        if (loss.shape().numel() != 1 || !loss.dtype().isFloating()) {
            throw new IllegalArgumentException("loss scaling needs a floating scalar loss, got " + loss);
        }
        // d(loss * scale) = scale * d(loss): the backward pass starts from the scale
        Value seed = Ops.reshape(Ops.cast(scale, loss.dtype()), loss.shape());
        List<Value> scaled = Autodiff.vjp(List.of(loss), List.of(seed), wrt);
        return graph.inScope(SCOPE, () -> {
            Value inverse = Ops.reciprocal(scale);
            Value infinity = Ops.constant(graph, Double.POSITIVE_INFINITY, DType.F32);
            Value nonFinite = null;
            List<Value> unscaled = new ArrayList<>(scaled.size());
            for (Value g : scaled) {
                Value inv = Ops.cast(inverse, g.dtype());
                unscaled.add(Ops.mul(g, inv));
                // Found-inf without touching a gradient twice: a gradient's largest and smallest
                // elements (NaN propagates through both) bound every unscaled element, since
                // |g * inv| <= max(|max g|, |min g|) * inv; so checking the two unscaled extremes
                // is exact. The reductions read the gradient as it is stored (half precision
                // included), and no float32 copy or mask of any gradient is kept while every
                // update waits for the flag. NaN < inf and inf < inf are both false.
                for (Value extreme : List.of(Ops.max(g, false), Ops.min(g, false))) {
                    Value unscaledExtreme = Ops.abs(Ops.mul(extreme, inv));
                    Value bad = Ops.cast(Ops.not(Ops.lt(unscaledExtreme, Ops.cast(infinity, g.dtype()))), DType.F32);
                    nonFinite = nonFinite == null ? bad : Ops.add(nonFinite, bad);
                }
            }
            foundNonFinite = Ops.gt(nonFinite, Ops.constant(graph, 0.0, DType.F32));
            update.skipStepWhen(foundNonFinite);
            return List.copyOf(unscaled);
        });
    }

    /**
     * Appends the scale update: back off and reset the tracker on a non-finite gradient; else
     * count, and grow (when the grown scale is finite) and reset after the growth interval. Also
     * counts skipped steps. Call after {@link #gradients}.
     */
    public void appendScaleUpdate() {
        if (foundNonFinite == null) {
            throw new IllegalStateException("appendScaleUpdate needs the step's gradients first (gradients(loss, wrt))");
        }
        graph.inScope(SCOPE, () -> {
            Value zero = Ops.constant(graph, 0.0, DType.F32);
            Value infinity = Ops.constant(graph, Double.POSITIVE_INFINITY, DType.F32);
            Value counted = Ops.add(growthTracker, Ops.constant(graph, 1.0, DType.F32));
            Value grow = Ops.ge(counted, Ops.constant(graph, scaling.growthInterval(), DType.F32));
            Value grown = Ops.mul(scale, Ops.constant(graph, scaling.growthFactor(), DType.F32));
            Value grownFinite = Ops.lt(Ops.abs(grown), infinity);
            Value backedOff = Ops.mul(scale, Ops.constant(graph, scaling.backoffFactor(), DType.F32));
            Value kept = Ops.where(grow, Ops.where(grownFinite, grown, scale), scale);
            Ops.assign(scale, Ops.where(foundNonFinite, backedOff, kept));
            Ops.assign(growthTracker, Ops.where(foundNonFinite, zero, Ops.where(grow, zero, counted)));
            Ops.assign(skippedSteps, Ops.add(skippedSteps, Ops.cast(foundNonFinite, DType.F32)));
            return null;
        });
    }

    /** The configuration. */
    public LossScaling scaling() {
        return scaling;
    }

    /** The current loss scale, read from the state tensor of {@code state} (the optimizer state). */
    public static double scale(Map<String, Tensor> state) {
        Tensor t = state.get(SCALE);
        return t == null ? Double.NaN : t.getFlat(0);
    }

    /** Steps skipped so far for non-finite gradients, read from {@code state}; 0 without loss scaling. */
    public static long skippedSteps(Map<String, Tensor> state) {
        Tensor t = state.get(SKIPPED_STEPS);
        return t == null ? 0 : Math.round(t.getFlat(0));
    }
}
