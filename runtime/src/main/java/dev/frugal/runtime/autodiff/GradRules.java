package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.CallSite;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.TraceException;
import dev.frugal.runtime.graph.Value;

/**
 * The vector-Jacobian product of every primitive {@link Op}, each expressed with {@link Ops}
 * primitives so that gradients are ordinary graph nodes.
 *
 * <p>Conventions at points where the derivative is not defined (documented here once because
 * the finite-difference tests deliberately stay away from them):
 * <ul>
 *   <li>RELU, ABS: the derivative at exactly 0 is 0 (RELU uses {@code relu(x) > 0}, which is {@code x > 0}; ABS uses SIGN).</li>
 *   <li>MAXIMUM / MINIMUM: on a tie the whole gradient goes to the first operand
 *       ({@code a >= b} for MAXIMUM, {@code a <= b} for MINIMUM), never split, so the two
 *       gradients still add up to the output gradient.</li>
 *   <li>REDUCE_MAX / REDUCE_MIN: on a tie the gradient is split evenly between every position
 *       that attains the extreme value (a subgradient that is symmetric in the tied inputs).</li>
 *   <li>MAX_POOL2D: whatever the backend's MAX_POOL2D_GRAD picks (one position per window).</li>
 *   <li>POW: the gradient with respect to the exponent is taken as 0 where the base is 0.</li>
 * </ul>
 * Comparisons, NOT, SIGN, ROUND (piecewise constant), ARGMAX, IOTA, RANDOM_UNIFORM and constants have zero derivative and
 * contribute nothing. MAX_POOL2D_GRAD, ATTENTION_GRAD and the gradients of the hand-fused
 * cross-entropy and layer norm have no rule (second derivatives through them are not supported)
 * and fail naming the op.
 */
final class GradRules {
    private GradRules() {
    }

    /**
     * The gradients of {@code node}'s inputs given the gradient {@code g} of its output.
     *
     * @param needs which inputs need a gradient; a rule may skip the others
     * @return one entry per input: its gradient (same shape and dtype as the input), or null when
     *     it gets none
     */
    static Value[] backward(Node node, Value g, boolean[] needs) {
        Value[] d = new Value[node.inputs().size()];
        Value y = node.output();
        switch (node.op()) {
            // ---- no derivative (zero almost everywhere, or not a function of floating inputs)
            case INPUT, CONSTANT, IOTA, RANDOM_UNIFORM, NOT, SIGN, ROUND, LT, LE, GT, GE, EQ, NE, ARGMAX, ASSIGN -> {
            }
            // ---- unary
            case NEG -> d[0] = Ops.neg(g);
            case EXP -> d[0] = Ops.mul(g, y);
            case LOG -> d[0] = Ops.div(g, x(node, 0));
            case SQRT -> d[0] = Ops.div(Ops.mul(g, c(g, 0.5)), y);
            // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3: no division, so no trouble where x is large
            case RSQRT -> d[0] = Ops.mul(Ops.mul(g, c(g, -0.5)), Ops.mul(y, Ops.mul(y, y)));
            case RECIPROCAL -> d[0] = Ops.neg(Ops.mul(g, Ops.mul(y, y)));
            case ABS -> d[0] = Ops.mul(g, Ops.sign(x(node, 0)));
            // relu(x) > 0 exactly where x > 0: reading the output lets the input die after the
            // forward pass (the output is kept anyway when the next layer needs it, as pooling does)
            case RELU -> d[0] = Ops.where(Ops.gt(y, c(g, 0)), g, c(g, 0));
            case SIGMOID -> d[0] = Ops.mul(g, Ops.mul(y, Ops.sub(c(g, 1), y)));
            case TANH -> d[0] = Ops.mul(g, Ops.sub(c(g, 1), Ops.mul(y, y)));
            case ERF -> {
                Value x = x(node, 0);
                Value gauss = Ops.exp(Ops.neg(Ops.mul(x, x)));
                d[0] = Ops.mul(Ops.mul(g, c(g, 2.0 / Math.sqrt(Math.PI))), gauss);
            }
            case CAST -> {
                Value x = x(node, 0);
                if (x.dtype().isFloating()) {
                    d[0] = Ops.cast(g, x.dtype());
                }
            }
            // ---- binary (the output may be broadcast: sum back to each operand's shape)
            case ADD -> {
                d[0] = needs[0] ? Ops.sumToShape(g, x(node, 0).shape()) : null;
                d[1] = needs[1] ? Ops.sumToShape(g, x(node, 1).shape()) : null;
            }
            case SUB -> {
                d[0] = needs[0] ? Ops.sumToShape(g, x(node, 0).shape()) : null;
                // Negate after summing out broadcast axes: the same values (a sum of negations is
                // the negated sum, up to the sign of an exact zero) for one pass over the reduced
                // shape instead of one over the full one.
                d[1] = needs[1] ? Ops.neg(Ops.sumToShape(g, x(node, 1).shape())) : null;
            }
            case MUL -> {
                Value a = x(node, 0);
                Value b = x(node, 1);
                d[0] = needs[0] ? Ops.sumToShape(Ops.mul(g, b), a.shape()) : null;
                d[1] = needs[1] ? Ops.sumToShape(Ops.mul(g, a), b.shape()) : null;
            }
            case DIV -> {
                Value a = x(node, 0);
                Value b = x(node, 1);
                d[0] = needs[0] ? Ops.sumToShape(Ops.div(g, b), a.shape()) : null;
                // d(a/b)/db = -a/b^2 = -y/b
                d[1] = needs[1] ? Ops.sumToShape(Ops.neg(Ops.div(Ops.mul(g, y), b)), b.shape()) : null;
            }
            case POW -> {
                Value a = x(node, 0);
                Value b = x(node, 1);
                if (needs[0]) {
                    // b * a^(b-1) rather than b * y / a, which fails at a = 0
                    Value slope = Ops.mul(b, Ops.pow(a, Ops.sub(b, c(g, 1))));
                    d[0] = Ops.sumToShape(Ops.mul(g, slope), a.shape());
                }
                if (needs[1]) {
                    Value full = Ops.mul(Ops.mul(g, y), Ops.log(a));
                    d[1] = Ops.sumToShape(Ops.where(Ops.eq(a, c(g, 0)), c(g, 0), full), b.shape());
                }
            }
            case MAXIMUM, MINIMUM -> {
                Value a = x(node, 0);
                Value b = x(node, 1);
                Value firstWins = node.op() == Op.MAXIMUM ? Ops.ge(a, b) : Ops.le(a, b);
                d[0] = needs[0] ? Ops.sumToShape(Ops.where(firstWins, g, c(g, 0)), a.shape()) : null;
                d[1] = needs[1] ? Ops.sumToShape(Ops.where(firstWins, c(g, 0), g), b.shape()) : null;
            }
            case WHERE -> {
                Value cond = x(node, 0);
                d[1] = needs[1] ? Ops.sumToShape(Ops.where(cond, g, c(g, 0)), x(node, 1).shape()) : null;
                d[2] = needs[2] ? Ops.sumToShape(Ops.where(cond, c(g, 0), g), x(node, 2).shape()) : null;
            }
            // ---- reductions
            case REDUCE_SUM -> {
                Value x = x(node, 0);
                d[0] = Ops.expand(Ops.reshape(g, keptShape(node)), x.shape());
            }
            case REDUCE_MAX, REDUCE_MIN -> {
                Value x = x(node, 0);
                Shape kept = keptShape(node);
                int[] axes = node.attrs(OpAttrs.Reduce.class).axes();
                Value hit = Ops.eq(x, Ops.reshape(y, kept));
                Value count = Ops.sum(Ops.cast(hit, g.dtype()), true, axes);
                Value share = Ops.div(Ops.reshape(g, kept), count);
                d[0] = Ops.where(hit, share, c(g, 0));
            }
            // ---- contractions
            case MATMUL -> matmul(node, g, needs, d);
            case CONV2D -> {
                OpAttrs.Conv2d p = node.attrs(OpAttrs.Conv2d.class);
                Value x = x(node, 0);
                Value w = x(node, 1);
                d[0] = needs[0] ? Ops.conv2dGradInput(g, w, p, x.shape()) : null;
                d[1] = needs[1] ? Ops.conv2dGradWeight(x, g, p, w.shape()) : null;
            }
            case CONV2D_GRAD_INPUT -> {
                // out = A(w)^T dy is bilinear in (dy, w); its adjoints are the forward conv and the weight gradient
                OpAttrs.Conv2d p = node.attrs(OpAttrs.Conv2d.class);
                Value dy = x(node, 0);
                Value w = x(node, 1);
                d[0] = needs[0] ? Ops.conv2d(g, w, p) : null;
                d[1] = needs[1] ? Ops.conv2dGradWeight(g, dy, p, w.shape()) : null;
            }
            case CONV2D_GRAD_WEIGHT -> {
                // <H, gradWeight(x, dy)> = <conv2d(x, H), dy>
                OpAttrs.Conv2d p = node.attrs(OpAttrs.Conv2d.class);
                Value x = x(node, 0);
                d[0] = needs[0] ? Ops.conv2dGradInput(x(node, 1), g, p, x.shape()) : null;
                d[1] = needs[1] ? Ops.conv2d(x, g, p) : null;
            }
            case ATTENTION -> attention(node, g, needs, d);
            case ATTENTION_GRAD -> throw new TraceException(node.op(),
                    "has no gradient rule (second derivatives through fused attention are not supported); needed for node " + node,
                    CallSite.capture());
            // ---- hand-fused row operations
            case SOFTMAX_CROSS_ENTROPY -> d[0] = needs[0] ? Ops.softmaxCrossEntropyGrad(x(node, 0), x(node, 1), g,
                    node.attrs(OpAttrs.CrossEntropy.class).labelSmoothing()) : null;
            case LAYER_NORM -> layerNorm(node, g, needs, d);
            case SOFTMAX_CROSS_ENTROPY_GRAD, LAYER_NORM_GRAD, LAYER_NORM_WEIGHT_GRAD -> throw new TraceException(node.op(),
                    "has no gradient rule (second derivatives through the hand-fused cross-entropy and layer norm are not supported); needed for node "
                            + node, CallSite.capture());
            // ---- pooling
            case MAX_POOL2D -> d[0] = Ops.maxPool2dGrad(x(node, 0), g, node.attrs(OpAttrs.Pool2d.class));
            case AVG_POOL2D -> d[0] = Ops.avgPool2dGrad(g, node.attrs(OpAttrs.Pool2d.class), x(node, 0).shape());
            // average pooling is linear, and its gradient is its exact transpose, so the transpose of that is the pool itself
            case AVG_POOL2D_GRAD -> d[0] = Ops.avgPool2d(g, node.attrs(OpAttrs.Pool2d.class));
            case MAX_POOL2D_GRAD -> throw new TraceException(node.op(),
                    "has no gradient rule (second derivatives through max pooling are not supported); needed for node " + node,
                    CallSite.capture());
            // ---- data movement
            case RESHAPE -> d[0] = Ops.reshape(g, x(node, 0).shape());
            case PERMUTE -> {
                int[] perm = node.attrs(OpAttrs.Permute.class).perm();
                int[] inverse = new int[perm.length];
                for (int i = 0; i < perm.length; i++) {
                    inverse[perm[i]] = i;
                }
                d[0] = Ops.permute(g, inverse);
            }
            case EXPAND -> d[0] = Ops.sumToShape(g, x(node, 0).shape());
            case SLICE -> d[0] = unslice(g, node.attrs(OpAttrs.Slice.class), x(node, 0).shape());
            case PAD -> {
                OpAttrs.Pad p = node.attrs(OpAttrs.Pad.class);
                int[] dims = x(node, 0).shape().dims();
                int[] ends = new int[dims.length];
                int[] steps = new int[dims.length];
                for (int i = 0; i < dims.length; i++) {
                    ends[i] = p.before()[i] + dims[i];
                    steps[i] = 1;
                }
                d[0] = Ops.slice(g, p.before(), ends, steps);
            }
            case CONCAT -> {
                int axis = node.attrs(OpAttrs.Axis.class).axis();
                int offset = 0;
                for (int i = 0; i < d.length; i++) {
                    int len = x(node, i).shape().dim(axis);
                    d[i] = needs[i] ? Ops.slice(g, axis, offset, offset + len, 1) : null;
                    offset += len;
                }
            }
            // ---- indexing: GATHER and SCATTER_ADD are each other's adjoint
            case GATHER -> d[0] = Ops.scatterAdd(g, x(node, 1), node.attrs(OpAttrs.Axis.class).axis(), x(node, 0).shape());
            case SCATTER_ADD -> d[0] = Ops.gather(g, x(node, 1), node.attrs(OpAttrs.Axis.class).axis());
        }
        return d;
    }

    /**
     * C = op(A) op(B) with G = dC: dop(A) = G op(B)^T and dop(B) = op(A)^T G, transposed back when
     * the operand itself was transposed; then summed over broadcast batch axes.
     */
    private static void matmul(Node node, Value g, boolean[] needs, Value[] d) {
        OpAttrs.Matmul attrs = node.attrs(OpAttrs.Matmul.class);
        boolean ta = attrs.transA();
        boolean tb = attrs.transB();
        Value a = x(node, 0);
        Value b = x(node, 1);
        if (needs[0]) {
            Value da = ta ? Ops.matmul(b, g, tb, true) : Ops.matmul(g, b, false, !tb);
            d[0] = Ops.sumToShape(da, a.shape());
        }
        if (needs[1]) {
            Value db = tb ? Ops.matmul(g, a, true, ta) : Ops.matmul(a, g, !ta, false);
            d[1] = Ops.sumToShape(db, b.shape());
        }
    }

    /**
     * Fused attention's gradient: one ATTENTION_GRAD node computes dq, dk and dv together (they
     * share the recomputed probabilities), packed as [3, B, H, T, D]; each needed one is sliced
     * off. The node reads the forward output for its row terms {@code sum(dOut * out)}, so the
     * output is kept for the backward pass (as FlashAttention keeps it) instead of being
     * recomputed there.
     *
     * <p>Why no log-sum-exp input: the IR has one output per node, and the output may be half
     * precision while the log-sum-exp must be float32, so the forward cannot hand it over in its
     * own value; a second op computing it in the forward pass would cost a third pass over q kᵀ
     * there and a value kept alive until the backward pass. The backward kernel recomputes each
     * row's maximum and sum blockwise instead (one more q kᵀ pass in the backward, about a sixth
     * of its work), which keeps the graph at two nodes and the forward at the minimum.
     */
    /**
     * Layer norm's gradients, each row's statistics recomputed from x rather than kept from the
     * forward pass (one pass per row, cheap next to keeping them alive in between): x's from one
     * LAYER_NORM_GRAD node, the weight's from one LAYER_NORM_WEIGHT_GRAD node, the bias's an
     * ordinary sum of the output gradient over the leading axes. Inputs are (x, weight?, bias?).
     */
    private static void layerNorm(Node node, Value g, boolean[] needs, Value[] d) {
        OpAttrs.LayerNorm p = node.attrs(OpAttrs.LayerNorm.class);
        Value x = x(node, 0);
        Value weight = p.weight() ? x(node, 1) : null;
        if (needs[0]) {
            d[0] = Ops.layerNormGrad(x, weight, g, p);
        }
        if (p.weight() && needs[1]) {
            d[1] = Ops.layerNormWeightGrad(x, g, p);
        }
        int bias = p.weight() ? 2 : 1;
        if (p.bias() && needs[bias]) {
            d[bias] = Ops.sumToShape(g, x(node, bias).shape());
        }
    }

    private static void attention(Node node, Value g, boolean[] needs, Value[] d) {
        OpAttrs.Attention p = node.attrs(OpAttrs.Attention.class);
        Value q = x(node, 0);
        Value packed = Ops.attentionGrad(q, x(node, 1), x(node, 2), node.output(), g, p);
        for (int i = 0; i < 3; i++) {
            if (needs[i]) {
                d[i] = Ops.reshape(Ops.slice(packed, 0, i, i + 1, 1), q.shape());
            }
        }
    }

    /**
     * The adjoint of a strided slice: the gradient placed back at the sliced positions, zeros
     * elsewhere. A step s > 1 is undone by interleaving s-1 zeros after each element (reshape to
     * [.., n, 1, ..], pad to [.., n, s, ..], reshape to [.., n*s, ..]), then one PAD restores the
     * range before the start and after the end.
     */
    private static Value unslice(Value g, OpAttrs.Slice s, Shape xShape) {
        Value d = g;
        int rank = xShape.rank();
        for (int a = 0; a < rank; a++) {
            int step = s.steps()[a];
            int n = d.shape().dim(a);
            if (step == 1 || n == 0) {
                continue;
            }
            int[] dims = d.shape().dims();
            int[] split = new int[rank + 1];
            System.arraycopy(dims, 0, split, 0, a + 1);
            split[a + 1] = 1;
            System.arraycopy(dims, a + 1, split, a + 2, rank - a - 1);
            Value v = Ops.reshape(d, Shape.of(split));
            int[] before = new int[rank + 1];
            int[] after = new int[rank + 1];
            after[a + 1] = step - 1;
            v = Ops.pad(v, before, after);
            v = Ops.reshape(v, d.shape().withDim(a, n * step));
            // keep up to and including the last real element: the rest would overrun the input
            d = Ops.slice(v, a, 0, (n - 1) * step + 1, 1);
        }
        int[] before = new int[rank];
        int[] after = new int[rank];
        for (int a = 0; a < rank; a++) {
            before[a] = s.starts()[a];
            after[a] = xShape.dim(a) - s.starts()[a] - d.shape().dim(a);
        }
        return Ops.pad(d, before, after);
    }

    /** The reduced node's input shape with every reduced axis kept as size 1. */
    private static Shape keptShape(Node node) {
        int[] dims = node.input(0).shape().dims();
        for (int a : node.attrs(OpAttrs.Reduce.class).axes()) {
            dims[a] = 1;
        }
        return Shape.of(dims);
    }

    private static Value x(Node node, int i) {
        return node.input(i);
    }

    /** A scalar constant in the gradient's dtype (the IR never promotes types). */
    private static Value c(Value like, double value) {
        Graph graph = like.graph();
        DType dtype = like.dtype();
        return Ops.constant(graph, value, dtype);
    }
}
