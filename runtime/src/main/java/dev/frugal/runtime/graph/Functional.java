package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Composite operations (the {@code torch.nn.functional} of Frugal), each traced as
 * {@link Ops} primitives inside a named scope, so autodiff, fusion and autocast only ever see
 * primitives while the printed graph still shows where each node came from, e.g.
 * {@code %7 = exp(%6) : f32[32,10]  # [softmax] Model.forward(Model.java:12)}.
 *
 * <p>Every method checks its arguments and throws a {@link TraceException} naming the composite
 * operation, the offending shapes or values and the caller's line. Binary primitives never
 * promote types, so the operands of a composite share one floating dtype.
 */
public final class Functional {
    /**
     * The scope whose nodes autodiff treats as constants (see {@link #stopGradient}). Nested
     * scopes count too: {@code softmax/stop_gradient} is stopped.
     */
    public static final String STOP_GRADIENT_SCOPE = "stop_gradient";

    private Functional() {
    }

    // ================================================================ gradient control

    /**
     * Traces {@code body} so that autodiff treats every node it adds as a constant: no gradient
     * flows through them into their inputs (JAX's {@code stop_gradient}, PyTorch's {@code detach}).
     * The nodes compute exactly as usual; only differentiation is affected.
     */
    public static <T> T stopGradient(Graph graph, Supplier<T> body) {
        return graph.inScope(STOP_GRADIENT_SCOPE, body);
    }

    /** True when {@code node} was traced inside {@link #stopGradient} (at any nesting depth). */
    public static boolean isGradientStopped(Node node) {
        String scope = node.scope();
        if (scope.isEmpty()) {
            return false;
        }
        for (String part : scope.split("/")) {
            if (part.equals(STOP_GRADIENT_SCOPE)) {
                return true;
            }
        }
        return false;
    }

    // ================================================================ layers

    /**
     * {@code x · weightᵀ + bias} with PyTorch's weight layout.
     *
     * @param x      [..., in] (any rank >= 1; leading axes are batch axes)
     * @param weight [out, in]
     * @param bias   [out], or null for none
     * @return [..., out]
     */
    public static Value linear(Value x, Value weight, Value bias) {
        String op = "linear";
        floating(op, "input", x);
        sameDtype(op, x, weight);
        if (weight.rank() != 2) {
            throw error(op, "weight must be [out, in], got " + describe(weight));
        }
        if (x.rank() < 1 || x.shape().dim(-1) != weight.shape().dim(1)) {
            throw error(op, "input " + describe(x) + " must end with in=" + weight.shape().dim(1) + " features to match weight " + describe(weight));
        }
        if (bias != null) {
            sameDtype(op, x, bias);
            if (!bias.shape().equals(Shape.of(weight.shape().dim(0)))) {
                throw error(op, "bias " + describe(bias) + " must be [" + weight.shape().dim(0) + "] to match weight " + describe(weight));
            }
        }
        return x.graph().inScope(op, () -> {
            Value in = x.rank() == 1 ? Ops.reshape(x, 1, x.shape().dim(0)) : x;
            Value y = Ops.matmul(in, weight, false, true);
            if (bias != null) {
                y = Ops.add(y, bias);
            }
            return x.rank() == 1 ? Ops.reshape(y, weight.shape().dim(0)) : y;
        });
    }

    /**
     * A table lookup: row {@code ids[i]} of {@code table} for each id.
     *
     * @param table [vocabulary, dim]
     * @param ids   I32 or I64 of any shape; out-of-range ids fail at run time
     * @return ids.shape + [dim]
     */
    public static Value embedding(Value table, Value ids) {
        String op = "embedding";
        if (table.rank() != 2) {
            throw error(op, "table must be [vocabulary, dim], got " + describe(table));
        }
        integerIndex(op, "ids", ids);
        return table.graph().inScope(op, () -> Ops.gather(table, ids, 0));
    }

    /** Flattens every axis from 1 on, keeping the batch axis ({@code nn.Flatten}): [N, ...] to [N, prod(...)]. */
    public static Value flatten(Value x) {
        return flatten(x, 1, -1);
    }

    /** Merges axes {@code startAxis..endAxis} (inclusive; negative counts from the end) into one. */
    public static Value flatten(Value x, int startAxis, int endAxis) {
        String op = "flatten";
        int start = axis(op, x, startAxis);
        int end = axis(op, x, endAxis);
        if (start > end) {
            throw error(op, "start axis " + startAxis + " comes after end axis " + endAxis + " for " + describe(x));
        }
        int[] dims = x.shape().dims();
        int[] out = new int[dims.length - (end - start)];
        System.arraycopy(dims, 0, out, 0, start);
        int merged = 1;
        for (int i = start; i <= end; i++) {
            merged *= dims[i];
        }
        out[start] = merged;
        System.arraycopy(dims, end + 1, out, start + 1, dims.length - end - 1);
        return x.graph().inScope(op, () -> Ops.reshape(x, Shape.of(out)));
    }

    // ================================================================ activations

    /** {@code x * sigmoid(x)}. */
    public static Value silu(Value x) {
        floating("silu", "input", x);
        return x.graph().inScope("silu", () -> Ops.mul(x, Ops.sigmoid(x)));
    }

    /** The exact GELU, {@code x/2 * (1 + erf(x/sqrt 2))}. */
    public static Value gelu(Value x) {
        return gelu(x, false);
    }

    /**
     * GELU, exact ({@code x/2 * (1 + erf(x/sqrt 2))}) or with PyTorch's tanh approximation
     * ({@code x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))}).
     */
    public static Value gelu(Value x, boolean tanhApproximation) {
        floating("gelu", "input", x);
        return x.graph().inScope("gelu", () -> {
            Value inner;
            if (tanhApproximation) {
                Value cube = Ops.mul(x, Ops.mul(x, x));
                Value u = Ops.mul(Ops.add(x, Ops.mul(cube, c(x, 0.044715))), c(x, Math.sqrt(2.0 / Math.PI)));
                inner = Ops.tanh(u);
            } else {
                inner = Ops.erf(Ops.mul(x, c(x, 1.0 / Math.sqrt(2.0))));
            }
            return Ops.mul(Ops.mul(x, c(x, 0.5)), Ops.add(inner, c(x, 1.0)));
        });
    }

    /**
     * Softmax over {@code axis}, computed as {@code exp(x - max) / sum(exp(x - max))} so that large
     * logits cannot overflow. The max is a constant for autodiff (its exact contribution to the
     * gradient is zero), so the backward graph has no max-selection nodes.
     */
    public static Value softmax(Value x, int axis) {
        floating("softmax", "input", x);
        int a = axis("softmax", x, axis);
        return x.graph().inScope("softmax", () -> {
            Value e = Ops.exp(shiftedByMax(x, a));
            return Ops.div(e, Ops.sum(e, true, a));
        });
    }

    /**
     * Log-softmax over {@code axis}: {@code (x - max) - log(sum(exp(x - max)))}, stable for large
     * logits, with the max a constant for autodiff.
     */
    public static Value logSoftmax(Value x, int axis) {
        floating("log_softmax", "input", x);
        int a = axis("log_softmax", x, axis);
        return x.graph().inScope("log_softmax", () -> logSoftmaxTraced(x, a));
    }

    private static Value logSoftmaxTraced(Value x, int axis) {
        Value z = shiftedByMax(x, axis);
        return Ops.sub(z, Ops.log(Ops.sum(Ops.exp(z), true, axis)));
    }

    private static Value shiftedByMax(Value x, int axis) {
        Value max = stopGradient(x.graph(), () -> Ops.max(x, true, axis));
        return Ops.sub(x, max);
    }

    // ================================================================ attention

    /**
     * Scaled dot-product attention with the usual scale {@code 1/sqrt(D)}, as PyTorch's
     * {@code scaled_dot_product_attention(q, k, v, is_causal=causal)}; see
     * {@link #scaledDotProductAttention(Value, Value, Value, boolean, double)}.
     */
    public static Value scaledDotProductAttention(Value q, Value k, Value v, boolean causal) {
        if (q.rank() != 4) {
            throw error("scaled_dot_product_attention", "q must be [B, H, T, D] (rank 4), got " + describe(q));
        }
        return scaledDotProductAttention(q, k, v, causal, 1.0 / Math.sqrt(q.shape().dim(3)));
    }

    /**
     * {@code softmax(q kᵀ * scale + mask) v} as one fused {@link Op#ATTENTION} node, in the
     * scope {@code scaled_dot_product_attention}: with {@code causal}, query i sees keys 0..i only.
     * The softmax runs in float32 for every dtype, blockwise, so memory stays O(T) per row
     * instead of O(T^2); its gradient is one fused {@link Op#ATTENTION_GRAD} node.
     *
     * @param q [B, H, T, D], floating
     * @param k [B, H, T, D], q's dtype
     * @param v [B, H, T, D], q's dtype
     * @return [B, H, T, D]
     */
    public static Value scaledDotProductAttention(Value q, Value k, Value v, boolean causal, double scale) {
        return q.graph().inScope("scaled_dot_product_attention", () -> Ops.attention(q, k, v, causal, scale));
    }

    // ================================================================ losses

    /** Cross-entropy without label smoothing; see {@link #crossEntropy(Value, Value, double)}. */
    public static Value crossEntropy(Value logits, Value labels) {
        return crossEntropy(logits, labels, 0.0);
    }

    /**
     * Mean cross-entropy between {@code logits} and class indices, as PyTorch's
     * {@code cross_entropy(logits, labels, label_smoothing=s)}: the target distribution is
     * {@code (1-s) * onehot(label) + s/C}. Each row's loss is one hand-fused
     * {@link Op#SOFTMAX_CROSS_ENTROPY} node (softmax and loss in one pass per row, in float32) and
     * its gradient one {@link Op#SOFTMAX_CROSS_ENTROPY_GRAD} node; the mean is an ordinary sum.
     *
     * @param logits         [N, C], floating
     * @param labels         [N], I32 or I64, each in 0..C-1 (an id out of range fails at run time)
     * @param labelSmoothing in [0, 1]
     * @return a scalar, float32 (float64 for float64 logits)
     */
    public static Value crossEntropy(Value logits, Value labels, double labelSmoothing) {
        String op = "cross_entropy";
        checkCrossEntropy(op, logits, labels);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
            throw error(op, "label smoothing must be in [0, 1], got " + labelSmoothing);
        }
        return logits.graph().inScope(op, () -> Ops.mean(Ops.softmaxCrossEntropy(logits, labels, labelSmoothing), false));
    }

    /**
     * Each row's cross-entropy, {@code -log_softmax(logits)[i, labels[i]]}: the loss before
     * {@link #crossEntropy(Value, Value)}'s mean (a curriculum ranks samples by it): one
     * {@link Op#SOFTMAX_CROSS_ENTROPY} node.
     *
     * @param logits [N, C], floating
     * @param labels [N], I32 or I64, each in 0..C-1 (an id out of range fails at run time)
     * @return [N], float32 (float64 for float64 logits)
     */
    public static Value crossEntropyPerSample(Value logits, Value labels) {
        String op = "cross_entropy_per_sample";
        checkCrossEntropy(op, logits, labels);
        return logits.graph().inScope(op, () -> Ops.softmaxCrossEntropy(logits, labels, 0.0));
    }

    private static void checkCrossEntropy(String op, Value logits, Value labels) {
        floating(op, "logits", logits);
        integerIndex(op, "labels", labels);
        if (logits.rank() != 2) {
            throw error(op, "logits must be [N, C], got " + describe(logits));
        }
        int n = logits.shape().dim(0);
        if (!labels.shape().equals(Shape.of(n))) {
            throw error(op, "labels " + describe(labels) + " must be [" + n + "], one class index per row of logits " + describe(logits));
        }
        if (n == 0 || logits.shape().dim(1) == 0) {
            throw error(op, "logits " + describe(logits) + " must have at least one row and one class");
        }
    }

    /** Mean squared error {@code mean((prediction - target)^2)}; both must have the same shape. */
    public static Value mseLoss(Value prediction, Value target) {
        String op = "mse_loss";
        floating(op, "prediction", prediction);
        sameDtype(op, prediction, target);
        if (!prediction.shape().equals(target.shape())) {
            throw error(op, "prediction " + describe(prediction) + " and target " + describe(target) + " must have the same shape");
        }
        return prediction.graph().inScope(op, () -> {
            Value d = Ops.sub(prediction, target);
            return Ops.mean(Ops.mul(d, d), false);
        });
    }

    // ================================================================ normalisation

    /**
     * Layer normalisation over the trailing axes given by {@code normalizedShape}:
     * {@code (x - mean) / sqrt(var + eps) * weight + bias} with the biased variance, as one
     * hand-fused {@link Op#LAYER_NORM} node (statistics in float32, output in x's dtype); its
     * gradient is a {@link Op#LAYER_NORM_GRAD} node for x, a {@link Op#LAYER_NORM_WEIGHT_GRAD}
     * node for the weight and a sum for the bias.
     *
     * @param weight {@code normalizedShape}, or null for none
     * @param bias   {@code normalizedShape}, or null for none
     */
    public static Value layerNorm(Value x, Shape normalizedShape, Value weight, Value bias, double eps) {
        String op = "layer_norm";
        floating(op, "input", x);
        int k = normalizedShape.rank();
        if (k == 0 || k > x.rank()) {
            throw error(op, "normalized shape " + normalizedShape + " must name 1.." + x.rank() + " trailing axes of " + describe(x));
        }
        for (int i = 0; i < k; i++) {
            if (x.shape().dim(x.rank() - k + i) != normalizedShape.dim(i)) {
                throw error(op, "input " + describe(x) + " does not end with the normalized shape " + normalizedShape);
            }
        }
        affine(op, "weight", weight, x, normalizedShape);
        affine(op, "bias", bias, x, normalizedShape);
        positive(op, "eps", eps);
        return x.graph().inScope(op, () -> Ops.layerNorm(x, weight, bias, k, eps));
    }

    /**
     * The result of {@link #batchNorm2dTrain}: the normalised output, and the updated running
     * statistics to {@link Ops#assign} to the STATE inputs they came from (null when no running
     * statistics were given).
     *
     * @param output      normalised input, same shape as the input
     * @param runningMean {@code (1 - momentum) * runningMean + momentum * batchMean}, [C]
     * @param runningVar  {@code (1 - momentum) * runningVar + momentum * unbiasedBatchVar}, [C]
     */
    public record BatchNormResult(Value output, Value runningMean, Value runningVar) {
    }

    /**
     * Batch normalisation of an NCHW input in training mode, as PyTorch's {@code BatchNorm2d}:
     * normalises with the batch mean and biased variance over (N, H, W) and updates the running
     * statistics with the unbiased variance.
     *
     * @param weight      [C] scale, or null for none
     * @param bias        [C] shift, or null for none
     * @param runningMean [C], or null when no running statistics are tracked (then runningVar is null too)
     * @param runningVar  [C], or null
     * @param momentum    weight of the batch statistics in the running average, in [0, 1]
     */
    public static BatchNormResult batchNorm2dTrain(Value x, Value weight, Value bias, Value runningMean, Value runningVar,
                                                   double momentum, double eps) {
        String op = "batch_norm2d";
        checkBatchNorm(op, x, weight, bias, runningMean, runningVar, eps);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw error(op, "momentum must be in [0, 1], got " + momentum);
        }
        long count = (long) x.shape().dim(0) * x.shape().dim(2) * x.shape().dim(3);
        if (count < 2) {
            throw error(op, "training needs more than one value per channel, got input " + describe(x));
        }
        int channels = x.shape().dim(1);
        return x.graph().inScope(op, () -> {
            Value mean = Ops.mean(x, true, 0, 2, 3);
            Value d = Ops.sub(x, mean);
            Value var = Ops.mean(Ops.mul(d, d), true, 0, 2, 3);
            Value y = normalize(d, Ops.rsqrt(Ops.add(var, c(x, eps))), weight, bias, channels);
            Value newMean = null;
            Value newVar = null;
            if (runningMean != null) {
                Value keep = c(x, 1 - momentum);
                newMean = Ops.add(Ops.mul(runningMean, keep), Ops.mul(Ops.reshape(mean, channels), c(x, momentum)));
                double unbias = (double) count / (count - 1);
                newVar = Ops.add(Ops.mul(runningVar, keep), Ops.mul(Ops.reshape(var, channels), c(x, momentum * unbias)));
            }
            return new BatchNormResult(y, newMean, newVar);
        });
    }

    /**
     * Batch normalisation of an NCHW input in evaluation mode: normalises with the running
     * statistics {@code (x - runningMean) / sqrt(runningVar + eps) * weight + bias}.
     */
    public static Value batchNorm2dEval(Value x, Value weight, Value bias, Value runningMean, Value runningVar, double eps) {
        String op = "batch_norm2d";
        if (runningMean == null || runningVar == null) {
            throw error(op, "evaluation mode needs the running mean and variance");
        }
        checkBatchNorm(op, x, weight, bias, runningMean, runningVar, eps);
        int channels = x.shape().dim(1);
        return x.graph().inScope(op, () -> {
            Shape perChannel = Shape.of(1, channels, 1, 1);
            Value d = Ops.sub(x, Ops.reshape(runningMean, perChannel));
            Value inv = Ops.rsqrt(Ops.add(Ops.reshape(runningVar, perChannel), c(x, eps)));
            return normalize(d, inv, weight, bias, channels);
        });
    }

    /**
     * {@code d * (inv * weight) + bias}, with {@code inv} a per-channel [1, C, 1, 1] value: the
     * weight is folded into the per-channel factor first, so the full-size tensor is multiplied
     * once rather than twice, and its gradient needs one full-size product and reduction fewer.
     */
    private static Value normalize(Value d, Value inv, Value weight, Value bias, int channels) {
        Shape perChannel = Shape.of(1, channels, 1, 1);
        Value scale = weight == null ? inv : Ops.mul(inv, Ops.reshape(weight, perChannel));
        Value out = Ops.mul(d, scale);
        if (bias != null) {
            out = Ops.add(out, Ops.reshape(bias, perChannel));
        }
        return out;
    }

    private static void checkBatchNorm(String op, Value x, Value weight, Value bias, Value runningMean, Value runningVar, double eps) {
        floating(op, "input", x);
        if (x.rank() != 4) {
            throw error(op, "expects an NCHW input of rank 4, got " + describe(x));
        }
        Shape perChannel = Shape.of(x.shape().dim(1));
        affine(op, "weight", weight, x, perChannel);
        affine(op, "bias", bias, x, perChannel);
        if ((runningMean == null) != (runningVar == null)) {
            throw error(op, "give both running mean and running variance, or neither");
        }
        affine(op, "running mean", runningMean, x, perChannel);
        affine(op, "running variance", runningVar, x, perChannel);
        positive(op, "eps", eps);
    }

    // ================================================================ regularisation

    /**
     * Inverted dropout: in training, keeps each element where a counter-based uniform draw
     * {@code u >= p} and scales it by {@code 1/(1-p)}; in evaluation (or with p = 0) returns
     * {@code x} itself. The mask is a pure function of (seed, stream, offset), so recomputation
     * (checkpointing) and the CUDA backend reproduce it exactly.
     *
     * @param offset an I64 scalar value: the RNG counter offset; advance it by at least
     *               {@code x.numel()} every step so that masks differ between steps
     */
    public static Value dropout(Value x, double p, boolean training, Value offset, long seed, long stream) {
        String op = "dropout";
        floating(op, "input", x);
        if (!(p >= 0 && p <= 1)) {
            throw error(op, "probability must be in [0, 1], got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (offset == null || offset.dtype() != DType.I64 || offset.rank() != 0) {
            throw error(op, "counter offset must be an i64 scalar, got " + (offset == null ? "null" : describe(offset)));
        }
        return x.graph().inScope(op, () -> {
            if (p == 1) {
                // everything dropped; also avoids the 0 * inf of scaling by 1/(1-p) in the gradient
                return Ops.mul(x, c(x, 0.0));
            }
            Value u = Ops.randomUniform(offset, x.shape(), seed, stream);
            Value keep = Ops.ge(u, Ops.constant(x.graph(), p, u.dtype()));
            return Ops.where(keep, Ops.mul(x, c(x, 1.0 / (1.0 - p))), c(x, 0.0));
        });
    }

    // ================================================================ statistics

    /** Mean over {@code axes} (all axes when none are given). */
    public static Value mean(Value x, boolean keepDims, int... axes) {
        floating("mean", "input", x);
        return x.graph().inScope("mean", () -> Ops.mean(x, keepDims, axes));
    }

    /**
     * Variance over {@code axes} (all axes when none are given): {@code sum((x - mean)^2) / (n - correction)},
     * so {@code correction = 0} is the biased (population) variance and {@code 1} the unbiased one.
     */
    public static Value variance(Value x, int correction, boolean keepDims, int... axes) {
        String op = "variance";
        floating(op, "input", x);
        if (correction < 0) {
            throw error(op, "correction must be >= 0, got " + correction);
        }
        long n = 1;
        if (axes.length == 0) {
            n = x.shape().numel();
        } else {
            for (int a : axes) {
                n *= x.shape().dim(axis(op, x, a));
            }
        }
        if (n - correction <= 0) {
            throw error(op, "correction " + correction + " leaves no degrees of freedom for " + n + " values per group of " + describe(x)
                    + " reduced over axes " + Arrays.toString(axes));
        }
        long count = n;
        return x.graph().inScope(op, () -> {
            Value mean = Ops.mean(x, true, axes);
            Value d = Ops.sub(x, mean);
            Value sq = Ops.sum(Ops.mul(d, d), keepDims, axes);
            return Ops.mul(sq, c(x, 1.0 / (count - correction)));
        });
    }

    // ================================================================ checks and helpers

    private static Value c(Value like, double value) {
        return Ops.constant(like.graph(), value, like.dtype());
    }

    private static void floating(String op, String what, Value v) {
        if (!v.dtype().isFloating()) {
            throw error(op, what + " must be floating-point, got " + describe(v));
        }
    }

    private static void integerIndex(String op, String what, Value v) {
        if (v.dtype() != DType.I32 && v.dtype() != DType.I64) {
            throw error(op, what + " must be i32 or i64 indices, got " + describe(v));
        }
    }

    private static void sameDtype(String op, Value a, Value b) {
        if (a.dtype() != b.dtype()) {
            throw error(op, "dtypes differ: " + describe(a) + " and " + describe(b) + "; cast one of them explicitly");
        }
    }

    private static void affine(String op, String what, Value v, Value x, Shape expected) {
        if (v == null) {
            return;
        }
        sameDtype(op, x, v);
        if (!v.shape().equals(expected)) {
            throw error(op, what + " " + describe(v) + " must have shape " + expected + " for input " + describe(x));
        }
    }

    private static void positive(String op, String what, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw error(op, what + " must be a positive finite number, got " + value);
        }
    }

    private static int axis(String op, Value x, int axis) {
        int r = x.rank();
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) {
            throw error(op, "axis " + axis + " is out of range for " + describe(x) + " (expected " + (r == 0 ? "no axis for a scalar" : -r + ".." + (r - 1)) + ")");
        }
        return a;
    }

    private static String describe(Value v) {
        return Ops.describe(v);
    }

    private static TraceException error(String op, String problem) {
        return new TraceException(op, problem, CallSite.capture());
    }
}
