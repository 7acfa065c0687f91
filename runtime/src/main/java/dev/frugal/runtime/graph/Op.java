package dev.frugal.runtime.graph;

/**
 * The primitive operations of the graph IR.
 *
 * <p>The set is deliberately small (tinygrad's lesson): composite operations such as softmax,
 * layer norm or cross-entropy are traced as these primitives by {@link Ops}, so autodiff, the
 * autocast pass, fusion and the memory planner only have to understand this list. Every
 * operation has exactly one output value, except {@link #ASSIGN}, which has none.
 */
public enum Op {
    // ---- sources
    /** A value fed from outside: data, a parameter or state ({@link OpAttrs.Input}). */
    INPUT(Kind.SOURCE),
    /** A scalar constant broadcast to the node's shape ({@link OpAttrs.Constant}). */
    CONSTANT(Kind.SOURCE),
    /** Index along one axis, 0..n-1, broadcast over the others ({@link OpAttrs.Axis}). */
    IOTA(Kind.SOURCE),
    /** Uniform [0,1) floats from the counter-based Philox generator; input 0 is the I64 scalar counter offset ({@link OpAttrs.Random}). */
    RANDOM_UNIFORM(Kind.SOURCE),

    // ---- elementwise, one input
    NEG(Kind.UNARY), EXP(Kind.UNARY), LOG(Kind.UNARY), SQRT(Kind.UNARY), RSQRT(Kind.UNARY),
    RECIPROCAL(Kind.UNARY), ABS(Kind.UNARY), SIGN(Kind.UNARY), RELU(Kind.UNARY),
    SIGMOID(Kind.UNARY), TANH(Kind.UNARY), ERF(Kind.UNARY),
    /**
     * Rounds to the nearest integer, ties to even (IEEE roundToIntegralTiesToEven: C's
     * {@code nearbyint}, {@code torch.round}, ONNX Round), keeping the dtype. Its derivative is zero
     * almost everywhere; fake quantization gets its straight-through gradient from its own construction.
     */
    ROUND(Kind.UNARY),
    /** Logical not of a BOOL value. */
    NOT(Kind.UNARY),
    /** Converts to the node's dtype (round-to-nearest-even for F16/BF16, truncation for integers). */
    CAST(Kind.UNARY),

    // ---- elementwise, two inputs (NumPy broadcasting)
    ADD(Kind.BINARY), SUB(Kind.BINARY), MUL(Kind.BINARY), DIV(Kind.BINARY), POW(Kind.BINARY),
    MAXIMUM(Kind.BINARY), MINIMUM(Kind.BINARY),
    /** Comparisons produce BOOL. */
    LT(Kind.COMPARE), LE(Kind.COMPARE), GT(Kind.COMPARE), GE(Kind.COMPARE), EQ(Kind.COMPARE), NE(Kind.COMPARE),
    /** {@code where(cond, a, b)}: a where cond is true, else b (broadcasting all three). */
    WHERE(Kind.TERNARY),

    // ---- reductions ({@link OpAttrs.Reduce})
    REDUCE_SUM(Kind.REDUCE), REDUCE_MAX(Kind.REDUCE), REDUCE_MIN(Kind.REDUCE),
    /** Index of the maximum along one axis, as I64 (not differentiable). */
    ARGMAX(Kind.REDUCE),

    // ---- contractions
    /** Batched matrix multiply with optional transposes of the last two axes ({@link OpAttrs.Matmul}). */
    MATMUL(Kind.CONTRACTION),
    /** NCHW convolution, weight [cOut, cIn/groups, kh, kw] ({@link OpAttrs.Conv2d}). */
    CONV2D(Kind.CONTRACTION),
    /** Gradient of CONV2D with respect to its input: inputs (dy, weight); output has the input's shape. */
    CONV2D_GRAD_INPUT(Kind.CONTRACTION),
    /** Gradient of CONV2D with respect to its weight: inputs (x, dy); output has the weight's shape. */
    CONV2D_GRAD_WEIGHT(Kind.CONTRACTION),
    /**
     * Fused scaled dot-product attention over inputs (q, k, v), each [B, H, T, D]:
     * {@code softmax(q kᵀ * scale + causal mask) v}, with the softmax in float32 and computed
     * blockwise online (no T x T matrix is stored) ({@link OpAttrs.Attention}).
     */
    ATTENTION(Kind.CONTRACTION),
    /**
     * Gradient of ATTENTION: inputs (q, k, v, out, dOut), each [B, H, T, D]; output [3, B, H, T, D]
     * holding dq, dk and dv (one value per node, so the three gradients are packed along a new
     * leading axis and sliced apart). The softmax is recomputed blockwise from q and k
     * ({@link OpAttrs.Attention}).
     */
    ATTENTION_GRAD(Kind.CONTRACTION),

    // ---- hand-fused row operations: one pass per row of the trailing axes, statistics in float32
    /**
     * Each row's softmax cross-entropy: inputs (logits [N, C] floating, labels [N] I32/I64);
     * output [N], float32 (float64 for float64 logits): {@code logsumexp(row) - sum(target * row)}
     * with {@code target = (1-s) onehot(label) + s/C}. A label outside 0..C-1 fails at run time
     * ({@link OpAttrs.CrossEntropy}).
     */
    SOFTMAX_CROSS_ENTROPY(Kind.ROWWISE),
    /**
     * Gradient of SOFTMAX_CROSS_ENTROPY: inputs (logits, labels, dLoss [N]); output [N, C] in the
     * logits' dtype, {@code (softmax(row) - target) * dLoss[row]}, the softmax recomputed per row
     * ({@link OpAttrs.CrossEntropy}).
     */
    SOFTMAX_CROSS_ENTROPY_GRAD(Kind.ROWWISE),
    /**
     * Layer normalisation over the trailing {@code axes} axes: inputs (x, weight?, bias?), the
     * affine ones of the normalized shape; output x's shape and dtype,
     * {@code (x - mean) / sqrt(var + eps) * weight + bias}, mean and biased variance in float32
     * ({@link OpAttrs.LayerNorm}).
     */
    LAYER_NORM(Kind.ROWWISE),
    /**
     * Gradient of LAYER_NORM with respect to x: inputs (x, weight?, dy); output x's shape. Each
     * row's mean and variance are recomputed from x ({@link OpAttrs.LayerNorm}).
     */
    LAYER_NORM_GRAD(Kind.ROWWISE),
    /**
     * Gradient of LAYER_NORM with respect to its weight: inputs (x, dy); output the normalized
     * shape, {@code sum over rows of dy * xhat} with xhat recomputed ({@link OpAttrs.LayerNorm}).
     */
    LAYER_NORM_WEIGHT_GRAD(Kind.ROWWISE),

    // ---- pooling ({@link OpAttrs.Pool2d}), NCHW
    MAX_POOL2D(Kind.POOL),
    /** Inputs (x, dy): routes dy to the argmax of each window of x. */
    MAX_POOL2D_GRAD(Kind.POOL),
    AVG_POOL2D(Kind.POOL),
    /** Input dy; output has the pooled input's shape. */
    AVG_POOL2D_GRAD(Kind.POOL),

    // ---- data movement
    /** Same elements, new shape (the node's shape). */
    RESHAPE(Kind.MOVEMENT),
    /** Reorders axes ({@link OpAttrs.Permute}). */
    PERMUTE(Kind.MOVEMENT),
    /** Broadcasts to the node's shape. */
    EXPAND(Kind.MOVEMENT),
    /** Strided sub-range per axis ({@link OpAttrs.Slice}). */
    SLICE(Kind.MOVEMENT),
    /** Zero padding before and after each axis ({@link OpAttrs.Pad}). */
    PAD(Kind.MOVEMENT),
    /** Joins inputs along one axis ({@link OpAttrs.Axis}). */
    CONCAT(Kind.MOVEMENT),
    /** {@code gather(x, idx, axis)}: out = x.shape[:axis] + idx.shape + x.shape[axis+1:] ({@link OpAttrs.Axis}). */
    GATHER(Kind.INDEX),
    /** Inverse of GATHER: inputs (src, idx) summed into zeros of the node's shape ({@link OpAttrs.Axis}). */
    SCATTER_ADD(Kind.INDEX),

    // ---- effects
    /** Writes input 1 into input 0 (a parameter or state input) at the end of the step. No output. */
    ASSIGN(Kind.EFFECT);

    /** Coarse families that passes dispatch on. */
    public enum Kind { SOURCE, UNARY, BINARY, COMPARE, TERNARY, REDUCE, CONTRACTION, ROWWISE, POOL, MOVEMENT, INDEX, EFFECT }

    private final Kind kind;

    Op(Kind kind) {
        this.kind = kind;
    }

    /** This operation's family. */
    public Kind kind() {
        return kind;
    }

    /** True for operations applied independently per element (after broadcasting): fusion candidates. */
    public boolean isElementwise() {
        return kind == Kind.UNARY || kind == Kind.BINARY || kind == Kind.COMPARE || kind == Kind.TERNARY;
    }

    /** The lower-case name used when printing a graph. */
    public String printName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
