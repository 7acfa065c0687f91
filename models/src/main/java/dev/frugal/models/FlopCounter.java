package dev.frugal.models;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Counts FLOPs of traced graphs the way model tables usually do: only the contractions.
 *
 * <p>A {@link Op#MATMUL} producing {@code out} with inner dimension {@code k} counts
 * {@code 2 * out.numel() * k}; a {@link Op#CONV2D} with weight {@code [cOut, cIn/groups, kh, kw]}
 * counts {@code 2 * out.numel() * (cIn/groups) * kh * kw}; a fused {@link Op#ATTENTION} over
 * {@code [B, H, T, D]} counts its two contractions, {@code 4 * B * H * T * T * D} (causal or not,
 * as {@code torch.utils.flop_counter} does). One multiply-add is two FLOPs. Bias
 * additions, normalisation, activations, pooling and every other elementwise or movement
 * operation count zero: they are memory-bound and small next to the contractions, and leaving
 * them out keeps the number comparable with published parameter/FLOP tables.
 */
public final class FlopCounter {
    private FlopCounter() {
    }

    /**
     * Forward FLOPs of {@code module} for one sample of {@code sampleShape} (no batch axis): traces
     * the forward pass in evaluation mode on a batch of one into a throw-away graph and counts its
     * contractions. The module's train/eval flags are restored afterwards; no value is allocated,
     * so this works before {@link Module#initialize(long)}.
     *
     * @param module      the model
     * @param sampleShape one sample's shape, without the batch axis
     * @param dtype       the input's element type
     * @return FLOPs of one forward pass over one sample
     */
    public static long forwardFlops(Module module, Shape sampleShape, DType dtype) {
        int[] dims = new int[sampleShape.rank() + 1];
        dims[0] = 1;
        System.arraycopy(sampleShape.dims(), 0, dims, 1, sampleShape.rank());
        List<Module> modules = new ArrayList<>(module.namedModules().values());
        boolean[] modes = new boolean[modules.size()];
        for (int i = 0; i < modes.length; i++) {
            modes[i] = modules.get(i).isTraining();
        }
        module.eval();
        try {
            Graph g = new Graph("flops");
            ModuleTrace trace = ModuleTrace.of(g, module);
            Value x = g.input("input", Shape.of(dims), dtype);
            trace.forward(x);
            return count(g.nodes());
        } finally {
            // Restored one by one: submodules may have been in different modes.
            for (int i = 0; i < modes.length; i++) {
                restore(modules.get(i), modes[i]);
            }
        }
    }

    private static void restore(Module m, boolean training) {
        // train(boolean) recurses, so set parents first (list order) and let children override.
        m.train(training);
    }

    /** FLOPs of the matmul, convolution and attention nodes among {@code nodes} (other nodes count zero). */
    public static long count(List<Node> nodes) {
        long total = 0;
        for (Node n : nodes) {
            total += flops(n);
        }
        return total;
    }

    /** FLOPs of one node: {@code 2 * output elements * reduction length} for MATMUL and CONV2D, two such products for ATTENTION, else 0. */
    public static long flops(Node n) {
        if (n.op() == Op.MATMUL) {
            OpAttrs.Matmul attrs = n.attrs(OpAttrs.Matmul.class);
            Shape a = n.input(0).shape();
            long k = attrs.transA() ? a.dim(-2) : a.dim(-1);
            return 2 * n.output().shape().numel() * k;
        }
        if (n.op() == Op.CONV2D) {
            Shape w = n.input(1).shape();
            long perOutput = (long) w.dim(1) * w.dim(2) * w.dim(3);
            return 2 * n.output().shape().numel() * perOutput;
        }
        if (n.op() == Op.ATTENTION) {
            // q kᵀ and p v over every (query, key) pair, as torch.utils.flop_counter counts
            // scaled_dot_product_attention: the causal mask does not halve the count
            Shape q = n.input(0).shape();
            return 4L * q.dim(0) * q.dim(1) * q.dim(2) * q.dim(2) * q.dim(3);
        }
        return 0;
    }
}
