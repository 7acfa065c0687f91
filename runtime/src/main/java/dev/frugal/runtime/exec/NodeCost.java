package dev.frugal.runtime.exec;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;

/**
 * The arithmetic cost of one node, in FLOPs, for the memory planner's recompute accounting:
 * contractions count two FLOPs per multiply-add (forward and both convolution gradients alike;
 * fused attention by the contractions its kernels run, see {@link #attentionPairFlops}),
 * elementwise ops one per output element, reductions and pooling one per input element, the
 * hand-fused row ops (cross-entropy, layer norm) 5 per input element forward and 8 backward, and
 * movement, sources and effects nothing. The contraction rule is the one published FLOP tables
 * use; counting the memory-bound ops as well keeps a recompute ratio honest for programs that are
 * mostly elementwise.
 */
final class NodeCost {
    private NodeCost() {
    }

    /** FLOPs of {@code node} by the rules above. */
    static long flops(Node node) {
        return switch (node.op().kind()) {
            case CONTRACTION -> switch (node.op()) {
                case MATMUL -> {
                    OpAttrs.Matmul attrs = node.attrs(OpAttrs.Matmul.class);
                    Shape a = node.input(0).shape();
                    long k = attrs.transA() ? a.dim(-2) : a.dim(-1);
                    yield 2 * node.output().shape().numel() * k;
                }
                // CONV2D: (x, w) -> y; CONV2D_GRAD_INPUT: (dy, w) -> dx; CONV2D_GRAD_WEIGHT: (x, dy) -> dw.
                // All three do one multiply-add per (output element of the forward) x (weight taps per output).
                case CONV2D -> 2 * node.output().shape().numel() * perOutput(node.input(1).shape());
                case CONV2D_GRAD_INPUT -> 2 * node.input(0).shape().numel() * perOutput(node.input(1).shape());
                case CONV2D_GRAD_WEIGHT -> 2 * node.input(1).shape().numel() * perOutput(node.output().shape());
                case ATTENTION -> attentionPairFlops(node, 4);
                case ATTENTION_GRAD -> attentionPairFlops(node, 12);
                default -> node.output().shape().numel();
            };
            // hand-fused row kernels: a few FLOPs per element of their full-size input (x or the logits)
            case ROWWISE -> switch (node.op()) {
                case SOFTMAX_CROSS_ENTROPY, LAYER_NORM -> 5 * node.input(0).shape().numel();
                default -> 8 * node.input(0).shape().numel();
            };
            case UNARY, BINARY, COMPARE, TERNARY -> node.output().shape().numel();
            case REDUCE, POOL -> node.input(0).shape().numel();
            case SOURCE, MOVEMENT, INDEX, EFFECT -> 0;
        };
    }

    /**
     * FLOPs of fused attention: {@code perPair} FLOPs per feature for each (query, key) pair that
     * is computed, i.e. {@code perPair * B * H * pairs * D} with {@code T^2} pairs, or
     * {@code T(T+1)/2} when causal (the kernels skip the blocks above the diagonal). The forward
     * does two contractions per pair (q·k and p·v: 4); the backward six (q·k to recompute each
     * row's log-sum-exp, q·k again for the probabilities, dOut·v, and the three gradients: 12).
     */
    private static long attentionPairFlops(Node node, long perPair) {
        Shape q = node.input(0).shape();
        OpAttrs.Attention attrs = node.attrs(OpAttrs.Attention.class);
        long t = q.dim(2);
        long pairs = attrs.causal() ? t * (t + 1) / 2 : t * t;
        return perPair * q.dim(0) * q.dim(1) * pairs * q.dim(3);
    }

    /** Multiply-adds per output element of a convolution with weight {@code [cOut, cIn/groups, kh, kw]}. */
    private static long perOutput(Shape weight) {
        return (long) weight.dim(1) * weight.dim(2) * weight.dim(3);
    }
}
