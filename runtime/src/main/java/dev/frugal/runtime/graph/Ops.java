package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tracing API for primitive operations. Each method checks its arguments, infers the
 * output's shape and dtype, and appends one node to the inputs' graph; a mismatch throws a
 * {@link TraceException} naming the operation, the offending shapes and the caller's line.
 *
 * <p>Binary operations broadcast NumPy-style but never promote types: both operands must have
 * the same dtype (insert {@link #cast} explicitly; the autocast pass does this for mixed
 * precision). Composite operations (softmax, layer norm, cross-entropy, ...) are in
 * {@link Functional} and are traced as these primitives.
 */
public final class Ops {
    private Ops() {
    }

    // ================================================================ sources

    /** A scalar constant of the given dtype. */
    public static Value constant(Graph g, double value, DType dtype) {
        return g.add(Op.CONSTANT, List.of(), new OpAttrs.Constant(value), Shape.scalar(), dtype);
    }

    /** A tensor of {@code shape} filled with {@code value}. */
    public static Value full(Graph g, Shape shape, double value, DType dtype) {
        return expand(constant(g, value, dtype), shape);
    }

    /** Values 0..shape[axis]-1 along {@code axis}, repeated over the other axes. */
    public static Value iota(Graph g, Shape shape, int axis, DType dtype) {
        int a = axisOf(Op.IOTA, shape, axis);
        return g.add(Op.IOTA, List.of(), new OpAttrs.Axis(a), shape, dtype);
    }

    /**
     * Uniform floats in [0, 1) from the counter-based Philox generator: element i of the result
     * is a pure function of (seed, stream, offset + i), so the CPU and CUDA backends draw the same
     * numbers and recomputation replays them exactly.
     *
     * @param offset an I64 scalar value: the counter offset for this draw (advance it every step)
     */
    public static Value randomUniform(Value offset, Shape shape, long seed, long stream) {
        if (offset.dtype() != DType.I64 || offset.rank() != 0) {
            throw error(Op.RANDOM_UNIFORM, "counter offset must be an i64 scalar, got " + offset.dtype() + offset.shape());
        }
        return offset.graph().add(Op.RANDOM_UNIFORM, List.of(offset), new OpAttrs.Random(seed, stream), shape, DType.F32);
    }

    // ================================================================ elementwise

    public static Value neg(Value x) { return unary(Op.NEG, x, false); }
    public static Value exp(Value x) { return unary(Op.EXP, x, true); }
    public static Value log(Value x) { return unary(Op.LOG, x, true); }
    public static Value sqrt(Value x) { return unary(Op.SQRT, x, true); }
    public static Value rsqrt(Value x) { return unary(Op.RSQRT, x, true); }
    public static Value reciprocal(Value x) { return unary(Op.RECIPROCAL, x, true); }
    public static Value abs(Value x) { return unary(Op.ABS, x, false); }
    public static Value sign(Value x) { return unary(Op.SIGN, x, false); }
    public static Value relu(Value x) { return unary(Op.RELU, x, false); }
    public static Value sigmoid(Value x) { return unary(Op.SIGMOID, x, true); }
    public static Value tanh(Value x) { return unary(Op.TANH, x, true); }
    public static Value erf(Value x) { return unary(Op.ERF, x, true); }
    /** Round half to even ({@link Op#ROUND}); integers are returned unchanged by the kernel. */
    public static Value round(Value x) { return unary(Op.ROUND, x, false); }

    /** Logical not of a BOOL value. */
    public static Value not(Value x) {
        if (x.dtype() != DType.BOOL) {
            throw error(Op.NOT, "expects bool, got " + describe(x));
        }
        return x.graph().add(Op.NOT, List.of(x), OpAttrs.None.INSTANCE, x.shape(), DType.BOOL);
    }

    private static Value unary(Op op, Value x, boolean floatingOnly) {
        if (floatingOnly && !x.dtype().isFloating()) {
            throw error(op, "expects a floating-point input, got " + describe(x) + "; cast it first");
        }
        if (x.dtype() == DType.BOOL) {
            throw error(op, "is not defined for bool input " + describe(x));
        }
        return x.graph().add(op, List.of(x), OpAttrs.None.INSTANCE, x.shape(), x.dtype());
    }

    /** Converts to {@code to}; returns {@code x} itself when it already has that dtype. */
    public static Value cast(Value x, DType to) {
        if (x.dtype() == to) {
            return x;
        }
        return x.graph().add(Op.CAST, List.of(x), new OpAttrs.Cast(to), x.shape(), to);
    }

    public static Value add(Value a, Value b) { return binary(Op.ADD, a, b); }
    public static Value sub(Value a, Value b) { return binary(Op.SUB, a, b); }
    public static Value mul(Value a, Value b) { return binary(Op.MUL, a, b); }
    public static Value div(Value a, Value b) { return binary(Op.DIV, a, b); }
    public static Value pow(Value a, Value b) { return binary(Op.POW, a, b); }
    public static Value maximum(Value a, Value b) { return binary(Op.MAXIMUM, a, b); }
    public static Value minimum(Value a, Value b) { return binary(Op.MINIMUM, a, b); }

    public static Value lt(Value a, Value b) { return compare(Op.LT, a, b); }
    public static Value le(Value a, Value b) { return compare(Op.LE, a, b); }
    public static Value gt(Value a, Value b) { return compare(Op.GT, a, b); }
    public static Value ge(Value a, Value b) { return compare(Op.GE, a, b); }
    public static Value eq(Value a, Value b) { return compare(Op.EQ, a, b); }
    public static Value ne(Value a, Value b) { return compare(Op.NE, a, b); }

    private static Value binary(Op op, Value a, Value b) {
        Shape out = broadcastOrThrow(op, a, b);
        sameDtypeOrThrow(op, a, b);
        if (a.dtype() == DType.BOOL) {
            throw error(op, "is not defined for bool inputs " + describe(a) + " and " + describe(b));
        }
        return a.graph().add(op, List.of(a, b), OpAttrs.None.INSTANCE, out, a.dtype());
    }

    private static Value compare(Op op, Value a, Value b) {
        Shape out = broadcastOrThrow(op, a, b);
        sameDtypeOrThrow(op, a, b);
        return a.graph().add(op, List.of(a, b), OpAttrs.None.INSTANCE, out, DType.BOOL);
    }

    /** Elementwise {@code cond ? a : b} with broadcasting; cond must be BOOL, a and b one dtype. */
    public static Value where(Value cond, Value a, Value b) {
        if (cond.dtype() != DType.BOOL) {
            throw error(Op.WHERE, "condition must be bool, got " + describe(cond));
        }
        sameDtypeOrThrow(Op.WHERE, a, b);
        Shape ab = broadcastOrThrow(Op.WHERE, a, b);
        Shape out = Shape.broadcast(cond.shape(), ab);
        if (out == null) {
            throw error(Op.WHERE, "condition shape " + cond.shape() + " does not broadcast with " + ab);
        }
        return a.graph().add(Op.WHERE, List.of(cond, a, b), OpAttrs.None.INSTANCE, out, a.dtype());
    }

    // ================================================================ reductions

    /** Sum over {@code axes} (all axes when none are given). */
    public static Value sum(Value x, boolean keepDims, int... axes) {
        return reduce(Op.REDUCE_SUM, x, keepDims, axes);
    }

    /** Maximum over {@code axes} (all axes when none are given). */
    public static Value max(Value x, boolean keepDims, int... axes) {
        return reduce(Op.REDUCE_MAX, x, keepDims, axes);
    }

    /** Minimum over {@code axes} (all axes when none are given). */
    public static Value min(Value x, boolean keepDims, int... axes) {
        return reduce(Op.REDUCE_MIN, x, keepDims, axes);
    }

    /** Mean over {@code axes} (all axes when none are given): sum times 1/count. */
    public static Value mean(Value x, boolean keepDims, int... axes) {
        if (!x.dtype().isFloating()) {
            // 1/count in an integer dtype is 0: the mean would silently be all zeros
            throw new TraceException("mean", "expects a floating-point input, got " + describe(x) + "; cast it first", CallSite.capture());
        }
        Value s = sum(x, keepDims, axes);
        long count = x.shape().numel() / Math.max(1, s.shape().numel());
        return mul(s, constant(x.graph(), 1.0 / count, x.dtype()));
    }

    /** Index (I64) of the maximum along {@code axis}. Not differentiable. */
    public static Value argmax(Value x, int axis, boolean keepDims) {
        Value r = reduce(Op.ARGMAX, x, keepDims, axis);
        return r;
    }

    private static Value reduce(Op op, Value x, boolean keepDims, int... axes) {
        if (x.dtype() == DType.BOOL) {
            throw error(op, "is not defined for bool input " + describe(x) + "; cast it first");
        }
        int rank = x.rank();
        int[] norm;
        if (axes.length == 0) {
            norm = new int[rank];
            for (int i = 0; i < rank; i++) {
                norm[i] = i;
            }
        } else {
            norm = new int[axes.length];
            for (int i = 0; i < axes.length; i++) {
                norm[i] = axisOf(op, x.shape(), axes[i]);
            }
            Arrays.sort(norm);
            for (int i = 1; i < norm.length; i++) {
                if (norm[i] == norm[i - 1]) {
                    throw error(op, "axis " + norm[i] + " is listed twice in " + Arrays.toString(axes));
                }
            }
        }
        if (op == Op.ARGMAX && norm.length != 1) {
            throw error(op, "takes exactly one axis, got " + Arrays.toString(norm));
        }
        List<Integer> outDims = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            boolean reduced = Arrays.binarySearch(norm, i) >= 0;
            if (reduced && x.shape().dim(i) == 0 && op != Op.REDUCE_SUM) {
                throw error(op, "cannot reduce empty axis " + i + " of " + describe(x));
            }
            if (!reduced) {
                outDims.add(x.shape().dim(i));
            } else if (keepDims) {
                outDims.add(1);
            }
        }
        Shape out = Shape.of(outDims.stream().mapToInt(Integer::intValue).toArray());
        DType dt = op == Op.ARGMAX ? DType.I64 : x.dtype();
        return x.graph().add(op, List.of(x), new OpAttrs.Reduce(norm, keepDims), out, dt);
    }

    // ================================================================ matmul

    /** {@code a @ b} over the last two axes, broadcasting leading batch axes. */
    public static Value matmul(Value a, Value b) {
        return matmul(a, b, false, false);
    }

    /**
     * {@code op(a) @ op(b)} where op transposes the last two axes when asked. Both operands need
     * rank >= 2; leading (batch) axes broadcast.
     */
    public static Value matmul(Value a, Value b, boolean transA, boolean transB) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw error(Op.MATMUL, "operands need rank >= 2, got " + describe(a) + " and " + describe(b) + "; reshape vectors to matrices");
        }
        sameDtypeOrThrow(Op.MATMUL, a, b);
        if (!a.dtype().isFloating()) {
            throw error(Op.MATMUL, "expects floating-point operands, got " + describe(a));
        }
        int m = transA ? a.shape().dim(-1) : a.shape().dim(-2);
        int ka = transA ? a.shape().dim(-2) : a.shape().dim(-1);
        int kb = transB ? b.shape().dim(-1) : b.shape().dim(-2);
        int n = transB ? b.shape().dim(-2) : b.shape().dim(-1);
        if (ka != kb) {
            throw error(Op.MATMUL, "inner dimensions differ: " + describe(a) + (transA ? "^T" : "") + " has " + ka + ", "
                    + describe(b) + (transB ? "^T" : "") + " has " + kb);
        }
        Shape batchA = Shape.of(Arrays.copyOf(a.shape().dims(), a.rank() - 2));
        Shape batchB = Shape.of(Arrays.copyOf(b.shape().dims(), b.rank() - 2));
        Shape batch = Shape.broadcast(batchA, batchB);
        if (batch == null) {
            throw error(Op.MATMUL, "batch dimensions " + batchA + " and " + batchB + " of " + describe(a) + " and " + describe(b) + " do not broadcast");
        }
        int[] out = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        out[batch.rank()] = m;
        out[batch.rank() + 1] = n;
        return a.graph().add(Op.MATMUL, List.of(a, b), new OpAttrs.Matmul(transA, transB), Shape.of(out), a.dtype());
    }

    // ================================================================ attention

    /**
     * Fused scaled dot-product attention, {@code softmax(q kᵀ * scale + mask) v}, where the mask
     * (when {@code causal}) hides key j from query i for j > i. The softmax is computed in float32
     * whatever the operands' dtype, blockwise with a running maximum and sum (FlashAttention's
     * online softmax), so no T x T matrix is ever stored; its gradient is {@link #attentionGrad}.
     *
     * @param q     [B, H, T, D], floating
     * @param k     [B, H, T, D], same shape and dtype as q
     * @param v     [B, H, T, D], same shape and dtype as q
     * @param scale the finite factor applied to {@code q · k}, usually {@code 1/sqrt(D)}
     * @return [B, H, T, D] in q's dtype
     */
    public static Value attention(Value q, Value k, Value v, boolean causal, double scale) {
        checkAttention(Op.ATTENTION, List.of(q, k, v), List.of("q", "k", "v"));
        if (!Double.isFinite(scale)) {
            throw error(Op.ATTENTION, "scale must be a finite number, got " + scale);
        }
        return q.graph().add(Op.ATTENTION, List.of(q, k, v), new OpAttrs.Attention(causal, scale), q.shape(), q.dtype());
    }

    /**
     * The gradient of {@link #attention} with respect to q, k and v, packed as [3, B, H, T, D]
     * (index 0 dq, 1 dk, 2 dv) since a node has one output. The kernel recomputes the softmax
     * blockwise from q and k, and reads {@code out} for the row terms {@code sum(dOut * out)}.
     *
     * @param out  the attention's output, [B, H, T, D]
     * @param dOut the gradient of the output, [B, H, T, D]
     * @param p    the forward's attributes
     */
    public static Value attentionGrad(Value q, Value k, Value v, Value out, Value dOut, OpAttrs.Attention p) {
        checkAttention(Op.ATTENTION_GRAD, List.of(q, k, v, out, dOut), List.of("q", "k", "v", "out", "dOut"));
        int[] dims = q.shape().dims();
        Shape packed = Shape.of(3, dims[0], dims[1], dims[2], dims[3]);
        return q.graph().add(Op.ATTENTION_GRAD, List.of(q, k, v, out, dOut), p, packed, q.dtype());
    }

    /** Every operand [B, H, T, D] of one floating dtype and one shape, with T and D at least 1. */
    private static void checkAttention(Op op, List<Value> operands, List<String> names) {
        Value q = operands.get(0);
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < operands.size(); i++) {
            all.append(i > 0 ? ", " : "").append(names.get(i)).append(' ').append(describe(operands.get(i)));
        }
        for (int i = 0; i < operands.size(); i++) {
            Value x = operands.get(i);
            if (x.rank() != 4) {
                throw error(op, names.get(i) + " must be [B, H, T, D] (rank 4), got " + describe(x) + " (" + all + ")");
            }
        }
        for (int i = 1; i < operands.size(); i++) {
            sameDtypeOrThrow(op, q, operands.get(i));
        }
        floatingOrThrow(op, q);
        for (int i = 1; i < operands.size(); i++) {
            if (!operands.get(i).shape().equals(q.shape())) {
                throw error(op, "shapes differ: " + all + "; " + String.join(", ", names) + " must all be [B, H, T, D] of one shape");
            }
        }
        if (q.shape().dim(2) == 0 || q.shape().dim(3) == 0) {
            throw error(op, "needs at least one position (T) and one feature (D) per head, got " + all);
        }
    }

    // ================================================================ hand-fused row operations

    /**
     * Each row's softmax cross-entropy as one {@link Op#SOFTMAX_CROSS_ENTROPY} node:
     * {@code logsumexp(logits[i]) - sum_c target[i, c] logits[i, c]} with the target
     * {@code (1-s) onehot(labels[i]) + s/C}, computed per row in one pass (maximum, sum of
     * exponentials, log-sum-exp) in float32 whatever the logits' dtype (float64 for float64).
     *
     * @param logits         [N, C], floating, N and C at least 1
     * @param labels         [N], I32 or I64; a label outside 0..C-1 fails at run time
     * @param labelSmoothing s in [0, 1]
     * @return [N], F32 (F64 for F64 logits)
     */
    public static Value softmaxCrossEntropy(Value logits, Value labels, double labelSmoothing) {
        checkCrossEntropy(Op.SOFTMAX_CROSS_ENTROPY, logits, labels, labelSmoothing);
        return logits.graph().add(Op.SOFTMAX_CROSS_ENTROPY, List.of(logits, labels), new OpAttrs.CrossEntropy(labelSmoothing),
                Shape.of(logits.shape().dim(0)), crossEntropyDtype(logits.dtype()));
    }

    /**
     * The gradient of {@link #softmaxCrossEntropy} with respect to the logits,
     * {@code (softmax(logits[i]) - target[i]) * dLoss[i]}, the softmax recomputed per row.
     *
     * @param dLoss [N], the gradient of the per-row loss
     * @return [N, C] in the logits' dtype
     */
    public static Value softmaxCrossEntropyGrad(Value logits, Value labels, Value dLoss, double labelSmoothing) {
        Op op = Op.SOFTMAX_CROSS_ENTROPY_GRAD;
        checkCrossEntropy(op, logits, labels, labelSmoothing);
        if (!dLoss.dtype().isFloating() || !dLoss.shape().equals(Shape.of(logits.shape().dim(0)))) {
            throw error(op, "dLoss " + describe(dLoss) + " must be a floating [" + logits.shape().dim(0) + "], one value per row of logits "
                    + describe(logits));
        }
        return logits.graph().add(op, List.of(logits, labels, dLoss), new OpAttrs.CrossEntropy(labelSmoothing), logits.shape(), logits.dtype());
    }

    /** The per-row loss's dtype: float32 for f32, f16 and bf16 logits, float64 for float64. */
    private static DType crossEntropyDtype(DType logits) {
        return logits == DType.F64 ? DType.F64 : DType.F32;
    }

    private static void checkCrossEntropy(Op op, Value logits, Value labels, double labelSmoothing) {
        floatingOrThrow(op, logits);
        if (labels.dtype() != DType.I32 && labels.dtype() != DType.I64) {
            throw error(op, "labels must be i32 or i64 class indices, got " + describe(labels));
        }
        if (logits.rank() != 2 || logits.shape().dim(0) == 0 || logits.shape().dim(1) == 0) {
            throw error(op, "logits must be [N, C] with at least one row and one class, got " + describe(logits));
        }
        if (!labels.shape().equals(Shape.of(logits.shape().dim(0)))) {
            throw error(op, "labels " + describe(labels) + " must be [" + logits.shape().dim(0) + "], one class index per row of logits "
                    + describe(logits));
        }
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
            throw error(op, "label smoothing must be in [0, 1], got " + labelSmoothing);
        }
    }

    /**
     * Layer normalisation over the trailing {@code axes} axes of x as one {@link Op#LAYER_NORM}
     * node: each row's mean and biased variance in float32 (whatever x's dtype; float64 for
     * float64), then {@code (x - mean) / sqrt(var + eps) * weight + bias}, rounded once to x's dtype.
     *
     * @param weight the normalized shape (x's trailing axes), or null for none
     * @param bias   the normalized shape, or null for none
     * @return x's shape and dtype
     */
    public static Value layerNorm(Value x, Value weight, Value bias, int axes, double eps) {
        OpAttrs.LayerNorm p = new OpAttrs.LayerNorm(axes, eps, weight != null, bias != null);
        checkLayerNorm(Op.LAYER_NORM, x, p);
        List<Value> inputs = new ArrayList<>(List.of(x));
        for (Value affine : new Value[] {weight, bias}) {
            if (affine != null) {
                sameDtypeOrThrow(Op.LAYER_NORM, x, affine);
                if (!affine.shape().equals(normalizedShape(x, axes))) {
                    throw error(Op.LAYER_NORM, "weight and bias must have the normalized shape " + normalizedShape(x, axes) + " of "
                            + describe(x) + ", got " + describe(affine));
                }
                inputs.add(affine);
            }
        }
        return x.graph().add(Op.LAYER_NORM, inputs, p, x.shape(), x.dtype());
    }

    /**
     * The gradient of {@link #layerNorm} with respect to x, each row's statistics recomputed:
     * {@code rstd * (g - mean(g) - xhat * mean(g * xhat))} with {@code g = dy * weight}.
     *
     * @param weight the forward's weight when {@code p.weight()}, else null
     * @param dy     the output's gradient, x's shape
     */
    public static Value layerNormGrad(Value x, Value weight, Value dy, OpAttrs.LayerNorm p) {
        checkLayerNorm(Op.LAYER_NORM_GRAD, x, p);
        checkSameShape(Op.LAYER_NORM_GRAD, x, dy);
        if ((weight != null) != p.weight()) {
            throw error(Op.LAYER_NORM_GRAD, "the weight must be given exactly when the forward had one (" + p + ")");
        }
        List<Value> inputs = weight == null ? List.of(x, dy) : List.of(x, weight, dy);
        return x.graph().add(Op.LAYER_NORM_GRAD, inputs, p, x.shape(), x.dtype());
    }

    /**
     * The gradient of {@link #layerNorm} with respect to its weight: {@code sum over the leading
     * axes of dy * xhat}, xhat recomputed from x.
     *
     * @return the normalized shape, in x's dtype
     */
    public static Value layerNormWeightGrad(Value x, Value dy, OpAttrs.LayerNorm p) {
        checkLayerNorm(Op.LAYER_NORM_WEIGHT_GRAD, x, p);
        checkSameShape(Op.LAYER_NORM_WEIGHT_GRAD, x, dy);
        return x.graph().add(Op.LAYER_NORM_WEIGHT_GRAD, List.of(x, dy), p, normalizedShape(x, p.axes()), x.dtype());
    }

    private static void checkLayerNorm(Op op, Value x, OpAttrs.LayerNorm p) {
        floatingOrThrow(op, x);
        if (p.axes() < 1 || p.axes() > x.rank()) {
            throw error(op, "normalizes 1.." + x.rank() + " trailing axes of " + describe(x) + ", got " + p.axes());
        }
        if (!(p.eps() > 0) || Double.isInfinite(p.eps())) {
            throw error(op, "eps must be a positive finite number, got " + p.eps());
        }
        if (x.shape().numel() == 0) {
            throw error(op, "needs at least one element, got " + describe(x));
        }
    }

    private static void checkSameShape(Op op, Value x, Value dy) {
        sameDtypeOrThrow(op, x, dy);
        if (!dy.shape().equals(x.shape())) {
            throw error(op, "dy " + describe(dy) + " must have the shape of x " + describe(x));
        }
    }

    /** The trailing {@code axes} dimensions of x. */
    private static Shape normalizedShape(Value x, int axes) {
        int[] dims = x.shape().dims();
        return Shape.of(Arrays.copyOfRange(dims, dims.length - axes, dims.length));
    }

    // ================================================================ movement

    /** Same elements in a new shape; one dimension may be -1 (inferred). */
    public static Value reshape(Value x, int... dims) {
        int[] d = dims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) {
                    throw error(Op.RESHAPE, "only one dimension can be -1 in " + Arrays.toString(dims));
                }
                infer = i;
            } else if (d[i] < 0) {
                throw error(Op.RESHAPE, "invalid size " + d[i] + " in " + Arrays.toString(dims));
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || x.shape().numel() % known != 0) {
                throw error(Op.RESHAPE, "cannot reshape " + describe(x) + " to " + Arrays.toString(dims));
            }
            d[infer] = (int) (x.shape().numel() / known);
        }
        return reshape(x, Shape.of(d));
    }

    /** Same elements in a new shape with the same element count. */
    public static Value reshape(Value x, Shape shape) {
        if (shape.numel() != x.shape().numel()) {
            throw error(Op.RESHAPE, "cannot reshape " + describe(x) + " (" + x.shape().numel() + " elements) to " + shape + " (" + shape.numel() + " elements)");
        }
        if (shape.equals(x.shape())) {
            return x;
        }
        return x.graph().add(Op.RESHAPE, List.of(x), OpAttrs.None.INSTANCE, shape, x.dtype());
    }

    /** Reorders axes: output axis i is input axis {@code perm[i]}. */
    public static Value permute(Value x, int... perm) {
        if (perm.length != x.rank()) {
            throw error(Op.PERMUTE, "permutation " + Arrays.toString(perm) + " does not match rank " + x.rank() + " of " + describe(x));
        }
        int[] norm = new int[perm.length];
        boolean[] seen = new boolean[perm.length];
        int[] out = new int[perm.length];
        boolean identity = true;
        for (int i = 0; i < perm.length; i++) {
            norm[i] = axisOf(Op.PERMUTE, x.shape(), perm[i]);
            if (seen[norm[i]]) {
                throw error(Op.PERMUTE, "permutation " + Arrays.toString(perm) + " repeats axis " + norm[i]);
            }
            seen[norm[i]] = true;
            out[i] = x.shape().dim(norm[i]);
            identity &= norm[i] == i;
        }
        if (identity) {
            return x;
        }
        return x.graph().add(Op.PERMUTE, List.of(x), new OpAttrs.Permute(norm), Shape.of(out), x.dtype());
    }

    /** Swaps the last two axes. */
    public static Value transpose(Value x) {
        if (x.rank() < 2) {
            throw error(Op.PERMUTE, "transpose needs rank >= 2, got " + describe(x));
        }
        int[] perm = new int[x.rank()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i;
        }
        perm[perm.length - 1] = perm.length - 2;
        perm[perm.length - 2] = perm.length - 1;
        return permute(x, perm);
    }

    /** Broadcasts to {@code shape}. */
    public static Value expand(Value x, Shape shape) {
        if (!x.shape().broadcastsTo(shape)) {
            throw error(Op.EXPAND, "cannot broadcast " + describe(x) + " to " + shape);
        }
        if (shape.equals(x.shape())) {
            return x;
        }
        return x.graph().add(Op.EXPAND, List.of(x), OpAttrs.None.INSTANCE, shape, x.dtype());
    }

    /** {@code x[start:end:step]} along one axis. */
    public static Value slice(Value x, int axis, int start, int end, int step) {
        int a = axisOf(Op.SLICE, x.shape(), axis);
        int r = x.rank();
        int[] starts = new int[r];
        int[] ends = x.shape().dims();
        int[] steps = new int[r];
        Arrays.fill(steps, 1);
        starts[a] = start;
        ends[a] = end;
        steps[a] = step;
        return slice(x, starts, ends, steps);
    }

    /** Strided sub-range of every axis. */
    public static Value slice(Value x, int[] starts, int[] ends, int[] steps) {
        int r = x.rank();
        if (starts.length != r || ends.length != r || steps.length != r) {
            throw error(Op.SLICE, "needs one start, end and step per axis of " + describe(x));
        }
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int size = x.shape().dim(i);
            if (steps[i] < 1 || starts[i] < 0 || ends[i] > size || starts[i] > ends[i]) {
                throw error(Op.SLICE, "range " + starts[i] + ":" + ends[i] + ":" + steps[i] + " is invalid for axis " + i + " of " + describe(x)
                        + " (expected 0 <= start <= end <= " + size + ", step >= 1)");
            }
            out[i] = (ends[i] - starts[i] + steps[i] - 1) / steps[i];
        }
        return x.graph().add(Op.SLICE, List.of(x), new OpAttrs.Slice(starts.clone(), ends.clone(), steps.clone()), Shape.of(out), x.dtype());
    }

    /** Zero padding of {@code before[i]} and {@code after[i]} elements on axis i. */
    public static Value pad(Value x, int[] before, int[] after) {
        int r = x.rank();
        if (before.length != r || after.length != r) {
            throw error(Op.PAD, "needs one before and after amount per axis of " + describe(x));
        }
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            if (before[i] < 0 || after[i] < 0) {
                throw error(Op.PAD, "negative padding " + before[i] + "/" + after[i] + " on axis " + i);
            }
            out[i] = x.shape().dim(i) + before[i] + after[i];
        }
        return x.graph().add(Op.PAD, List.of(x), new OpAttrs.Pad(before.clone(), after.clone()), Shape.of(out), x.dtype());
    }

    /** Joins values along {@code axis}; all other dimensions and the dtype must agree. */
    public static Value concat(int axis, Value... parts) {
        if (parts.length == 0) {
            throw error(Op.CONCAT, "needs at least one input");
        }
        if (parts.length == 1) {
            return parts[0];
        }
        Value first = parts[0];
        int a = axisOf(Op.CONCAT, first.shape(), axis);
        int total = 0;
        for (Value p : parts) {
            sameDtypeOrThrow(Op.CONCAT, first, p);
            if (p.rank() != first.rank()) {
                throw error(Op.CONCAT, "ranks differ: " + describe(first) + " and " + describe(p));
            }
            for (int i = 0; i < first.rank(); i++) {
                if (i != a && p.shape().dim(i) != first.shape().dim(i)) {
                    throw error(Op.CONCAT, "shapes " + first.shape() + " and " + p.shape() + " differ on axis " + i + " (only axis " + a + " may differ)");
                }
            }
            total += p.shape().dim(a);
        }
        return first.graph().add(Op.CONCAT, List.of(parts), new OpAttrs.Axis(a), first.shape().withDim(a, total), first.dtype());
    }

    // ================================================================ indexing

    /**
     * Selects entries of {@code x} along {@code axis} by the integer indices {@code idx}; the
     * result has shape {@code x.shape[:axis] + idx.shape + x.shape[axis+1:]} (an embedding lookup
     * is {@code gather(table, ids, 0)}). Indices out of range fail at run time with the index.
     */
    public static Value gather(Value x, Value idx, int axis) {
        if (idx.dtype() != DType.I32 && idx.dtype() != DType.I64) {
            throw error(Op.GATHER, "indices must be i32 or i64, got " + describe(idx));
        }
        int a = axisOf(Op.GATHER, x.shape(), axis);
        int[] xs = x.shape().dims();
        int[] is = idx.shape().dims();
        int[] out = new int[xs.length - 1 + is.length];
        System.arraycopy(xs, 0, out, 0, a);
        System.arraycopy(is, 0, out, a, is.length);
        System.arraycopy(xs, a + 1, out, a + is.length, xs.length - a - 1);
        return x.graph().add(Op.GATHER, List.of(x, idx), new OpAttrs.Axis(a), Shape.of(out), x.dtype());
    }

    /**
     * The adjoint of {@link #gather}: zeros of {@code outShape} with each slice of {@code src}
     * added at the position its index names along {@code axis}.
     */
    public static Value scatterAdd(Value src, Value idx, int axis, Shape outShape) {
        if (idx.dtype() != DType.I32 && idx.dtype() != DType.I64) {
            throw error(Op.SCATTER_ADD, "indices must be i32 or i64, got " + describe(idx));
        }
        int a = axisOf(Op.SCATTER_ADD, outShape, axis);
        int[] os = outShape.dims();
        int[] is = idx.shape().dims();
        int[] expected = new int[os.length - 1 + is.length];
        System.arraycopy(os, 0, expected, 0, a);
        System.arraycopy(is, 0, expected, a, is.length);
        System.arraycopy(os, a + 1, expected, a + is.length, os.length - a - 1);
        if (!Shape.of(expected).equals(src.shape())) {
            throw error(Op.SCATTER_ADD, "source " + describe(src) + " should have shape " + Shape.of(expected)
                    + " for indices " + describe(idx) + " into " + outShape + " along axis " + a);
        }
        return src.graph().add(Op.SCATTER_ADD, List.of(src, idx), new OpAttrs.Axis(a), outShape, src.dtype());
    }

    // ================================================================ convolution and pooling

    /** NCHW 2-D convolution (cross-correlation); weight is [cOut, cIn/groups, kh, kw]; no bias. */
    public static Value conv2d(Value x, Value w, OpAttrs.Conv2d p) {
        sameDtypeOrThrow(Op.CONV2D, x, w);
        floatingOrThrow(Op.CONV2D, x);
        Shape out = conv2dOutput(x.shape(), w.shape(), p);
        return x.graph().add(Op.CONV2D, List.of(x, w), p, out, x.dtype());
    }

    /** Gradient of {@link #conv2d} with respect to its input of shape {@code xShape}. */
    public static Value conv2dGradInput(Value dy, Value w, OpAttrs.Conv2d p, Shape xShape) {
        sameDtypeOrThrow(Op.CONV2D_GRAD_INPUT, dy, w);
        floatingOrThrow(Op.CONV2D_GRAD_INPUT, dy);
        Shape y = conv2dOutput(xShape, w.shape(), p);
        if (!y.equals(dy.shape())) {
            throw error(Op.CONV2D_GRAD_INPUT, "output gradient " + describe(dy) + " should have shape " + y);
        }
        return dy.graph().add(Op.CONV2D_GRAD_INPUT, List.of(dy, w), p, xShape, dy.dtype());
    }

    /** Gradient of {@link #conv2d} with respect to its weight of shape {@code wShape}. */
    public static Value conv2dGradWeight(Value x, Value dy, OpAttrs.Conv2d p, Shape wShape) {
        sameDtypeOrThrow(Op.CONV2D_GRAD_WEIGHT, x, dy);
        floatingOrThrow(Op.CONV2D_GRAD_WEIGHT, x);
        Shape y = conv2dOutput(x.shape(), wShape, p);
        if (!y.equals(dy.shape())) {
            throw error(Op.CONV2D_GRAD_WEIGHT, "output gradient " + describe(dy) + " should have shape " + y);
        }
        return x.graph().add(Op.CONV2D_GRAD_WEIGHT, List.of(x, dy), p, wShape, x.dtype());
    }

    /** Output shape of a convolution, checking every argument. */
    public static Shape conv2dOutput(Shape x, Shape w, OpAttrs.Conv2d p) {
        Op op = Op.CONV2D;
        if (x.rank() != 4 || w.rank() != 4) {
            throw error(op, "expects NCHW input and [cOut, cIn/groups, kh, kw] weight (rank 4), got " + x + " and " + w);
        }
        if (p.groups() < 1 || p.strideH() < 1 || p.strideW() < 1 || p.dilationH() < 1 || p.dilationW() < 1 || p.padH() < 0 || p.padW() < 0) {
            throw error(op, "invalid geometry " + p + " (stride, dilation, groups >= 1; padding >= 0)");
        }
        int c = x.dim(1);
        int k = w.dim(0);
        if (c % p.groups() != 0 || k % p.groups() != 0) {
            throw error(op, "groups=" + p.groups() + " must divide input channels " + c + " and output channels " + k);
        }
        if (w.dim(1) != c / p.groups()) {
            throw error(op, "weight " + w + " should have " + (c / p.groups()) + " input channels per group for input " + x + " with groups=" + p.groups());
        }
        // floorDiv: a kernel larger than the padded input must not fit (truncation toward zero would give one output)
        int oh = Math.floorDiv(x.dim(2) + 2 * p.padH() - p.dilationH() * (w.dim(2) - 1) - 1, p.strideH()) + 1;
        int ow = Math.floorDiv(x.dim(3) + 2 * p.padW() - p.dilationW() * (w.dim(3) - 1) - 1, p.strideW()) + 1;
        if (oh <= 0 || ow <= 0) {
            throw error(op, "kernel " + w.dim(2) + "x" + w.dim(3) + " with " + p + " does not fit input " + x);
        }
        return Shape.of(x.dim(0), k, oh, ow);
    }

    /** Max pooling over NCHW windows. */
    public static Value maxPool2d(Value x, OpAttrs.Pool2d p) {
        floatingOrThrow(Op.MAX_POOL2D, x);
        return x.graph().add(Op.MAX_POOL2D, List.of(x), p, pool2dOutput(Op.MAX_POOL2D, x.shape(), p), x.dtype());
    }

    /** Gradient of {@link #maxPool2d}: dy routed to each window's argmax in x. */
    public static Value maxPool2dGrad(Value x, Value dy, OpAttrs.Pool2d p) {
        sameDtypeOrThrow(Op.MAX_POOL2D_GRAD, x, dy);
        floatingOrThrow(Op.MAX_POOL2D_GRAD, x);
        Shape y = pool2dOutput(Op.MAX_POOL2D_GRAD, x.shape(), p);
        if (!y.equals(dy.shape())) {
            throw error(Op.MAX_POOL2D_GRAD, "output gradient " + describe(dy) + " should have shape " + y);
        }
        return x.graph().add(Op.MAX_POOL2D_GRAD, List.of(x, dy), p, x.shape(), x.dtype());
    }

    /** Average pooling over NCHW windows. */
    public static Value avgPool2d(Value x, OpAttrs.Pool2d p) {
        floatingOrThrow(Op.AVG_POOL2D, x);
        return x.graph().add(Op.AVG_POOL2D, List.of(x), p, pool2dOutput(Op.AVG_POOL2D, x.shape(), p), x.dtype());
    }

    /** Gradient of {@link #avgPool2d} for an input of shape {@code xShape}. */
    public static Value avgPool2dGrad(Value dy, OpAttrs.Pool2d p, Shape xShape) {
        floatingOrThrow(Op.AVG_POOL2D_GRAD, dy);
        Shape y = pool2dOutput(Op.AVG_POOL2D_GRAD, xShape, p);
        if (!y.equals(dy.shape())) {
            throw error(Op.AVG_POOL2D_GRAD, "output gradient " + describe(dy) + " should have shape " + y);
        }
        return dy.graph().add(Op.AVG_POOL2D_GRAD, List.of(dy), p, xShape, dy.dtype());
    }

    /** Output shape of a pooling window over an NCHW input. */
    public static Shape pool2dOutput(Op op, Shape x, OpAttrs.Pool2d p) {
        if (x.rank() != 4) {
            throw error(op, "expects an NCHW input of rank 4, got " + x);
        }
        if (p.kernelH() < 1 || p.kernelW() < 1 || p.strideH() < 1 || p.strideW() < 1 || p.padH() < 0 || p.padW() < 0
                || p.padH() > p.kernelH() / 2 || p.padW() > p.kernelW() / 2) {
            throw error(op, "invalid window " + p + " (kernel, stride >= 1; 0 <= padding <= kernel/2)");
        }
        // floorDiv: a window larger than the padded input must not fit (truncation toward zero would
        // give one partial window); an empty plane has no element for any window to hold.
        int oh = Math.floorDiv(x.dim(2) + 2 * p.padH() - p.kernelH(), p.strideH()) + 1;
        int ow = Math.floorDiv(x.dim(3) + 2 * p.padW() - p.kernelW(), p.strideW()) + 1;
        if (oh <= 0 || ow <= 0 || x.dim(2) == 0 || x.dim(3) == 0) {
            throw error(op, "window " + p + " does not fit input " + x);
        }
        return Shape.of(x.dim(0), x.dim(1), oh, ow);
    }

    // ================================================================ effects

    /**
     * Writes {@code value} into the parameter or state input {@code target} when the step ends
     * (after every read of the old value in the same step).
     */
    public static void assign(Value target, Value value) {
        if (!(target.isInput(InputKind.PARAMETER) || target.isInput(InputKind.STATE))) {
            throw error(Op.ASSIGN, "target " + target + " must be a parameter or state input");
        }
        if (!target.shape().equals(value.shape()) || target.dtype() != value.dtype()) {
            throw error(Op.ASSIGN, "value " + describe(value) + " does not match target " + target.ref() + " " + describe(target));
        }
        target.graph().add(Op.ASSIGN, List.of(target, value), OpAttrs.None.INSTANCE, null, null);
    }

    // ================================================================ helpers

    /**
     * Sums {@code grad} over the axes that broadcasting stretched so it has {@code shape}: the
     * adjoint of broadcasting, used by autodiff.
     */
    public static Value sumToShape(Value grad, Shape shape) {
        if (grad.shape().equals(shape)) {
            return grad;
        }
        int lead = grad.rank() - shape.rank();
        if (lead < 0 || !shape.broadcastsTo(grad.shape())) {
            throw error(Op.REDUCE_SUM, "cannot reduce " + describe(grad) + " to " + shape);
        }
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < grad.rank(); i++) {
            if (i < lead || (shape.dim(i - lead) == 1 && grad.shape().dim(i) != 1)) {
                axes.add(i);
            }
        }
        Value s = sum(grad, true, axes.stream().mapToInt(Integer::intValue).toArray());
        return reshape(s, shape);
    }

    static String describe(Value v) {
        return v.ref() + ":" + v.dtype() + v.shape();
    }

    static TraceException error(Op op, String problem) {
        return new TraceException(op, problem, CallSite.capture());
    }

    private static int axisOf(Op op, Shape shape, int axis) {
        int r = shape.rank();
        int a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) {
            throw error(op, "axis " + axis + " is out of range for shape " + shape + " (expected " + (r == 0 ? "no axis for a scalar" : -r + ".." + (r - 1)) + ")");
        }
        return a;
    }

    private static Shape broadcastOrThrow(Op op, Value a, Value b) {
        Shape out = Shape.broadcast(a.shape(), b.shape());
        if (out == null) {
            throw error(op, "shapes " + describe(a) + " and " + describe(b) + " do not broadcast");
        }
        return out;
    }

    /**
     * Convolution and pooling compute in floating point (the CPU kernels go through double, which
     * is inexact for large i64 values, and an integer average would truncate): integer and bool
     * inputs are rejected here rather than computed approximately.
     */
    private static void floatingOrThrow(Op op, Value x) {
        if (!x.dtype().isFloating()) {
            throw error(op, "expects a floating-point input, got " + describe(x) + "; cast it first");
        }
    }

    private static void sameDtypeOrThrow(Op op, Value a, Value b) {
        if (a.dtype() != b.dtype()) {
            throw error(op, "dtypes differ: " + describe(a) + " and " + describe(b) + "; cast one of them explicitly");
        }
    }
}
