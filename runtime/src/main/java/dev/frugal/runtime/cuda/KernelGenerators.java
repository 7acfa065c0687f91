package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import java.util.Optional;

/**
 * Which generator writes a node's CUDA kernel: the one place that dispatches over them, for the
 * kernel listings now and for the CUDA backend that will launch them.
 */
public final class KernelGenerators {
    private KernelGenerators() {
    }

    /**
     * Whether the node is a call into cuBLAS or cuDNN (matmul and the convolutions) or the driver
     * (an ASSIGN is a device-to-device copy) rather than a generated kernel.
     */
    public static boolean isLibraryCall(Node node) {
        return switch (node.op()) {
            case MATMUL, CONV2D, CONV2D_GRAD_INPUT, CONV2D_GRAD_WEIGHT, ASSIGN -> true;
            default -> false;
        };
    }

    /** The kernel of a fused group: elementwise ({@link ElementwiseCodegen}) or ending in a reduction ({@link ReductionCodegen}). */
    public static GeneratedKernel generate(dev.frugal.runtime.exec.FusedGroup group) {
        return group.reduction() ? ReductionCodegen.generate(group) : ElementwiseCodegen.generate(group);
    }

    /**
     * The generated kernel of a node run on its own (a fused group goes to
     * {@link #generate(dev.frugal.runtime.exec.FusedGroup)}); empty for a
     * library call, a reshape (a view) and a node no generator supports yet (such as F64 or integer
     * arithmetic).
     */
    public static Optional<GeneratedKernel> generate(Node node) {
        // before ElementwiseCodegen, which generates a draw only as a fused group's member
        if (node.op() == Op.RANDOM_UNIFORM && node.output().dtype() == DType.F32) {
            return Optional.of(RandomUniformCodegen.generate(node));
        }
        if (ElementwiseCodegen.supports(node)) {
            return Optional.of(ElementwiseCodegen.generate(node));
        }
        if (WideElementwiseCodegen.supports(node)) {
            return Optional.of(WideElementwiseCodegen.generate(node));
        }
        if (ReductionCodegen.supports(node)) {
            return Optional.of(ReductionCodegen.generate(node));
        }
        if (AttentionCodegen.supports(node)) {
            return Optional.of(AttentionCodegen.generate(node));
        }
        if (CrossEntropyCodegen.supports(node)) {
            return Optional.of(CrossEntropyCodegen.generate(node));
        }
        if (LayerNormCodegen.supports(node)) {
            return Optional.of(LayerNormCodegen.generate(node));
        }
        if (ArgmaxCodegen.supports(node)) {
            return Optional.of(ArgmaxCodegen.generate(node));
        }
        if (PoolingCodegen.supports(node)) {
            return Optional.of(PoolingCodegen.generate(node));
        }
        if (MovementCodegen.supports(node) && node.op() != Op.RESHAPE) {
            return Optional.of(MovementCodegen.generate(node));
        }
        return Optional.empty();
    }
}
