package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of a RANDOM_UNIFORM node: the same Philox4x32-10 recipe as the CPU backend
 * ({@link dev.frugal.runtime.numeric.Philox}), so both backends draw the same numbers and a
 * dropout mask does not depend on the device. Element {@code i} is the uniform float of counter
 * position {@code offset + i} (unsigned, wrapping), the offset read from the I64 scalar input at
 * run time, so advancing it draws new numbers without recompiling. Seed and stream are constants
 * of the kernel.
 */
public final class RandomUniformCodegen {
    private RandomUniformCodegen() {
    }

    /**
     * The kernel of {@code node}, a RANDOM_UNIFORM of float32 output: parameters (offset, out).
     *
     * @throws IllegalArgumentException for any other node
     */
    public static GeneratedKernel generate(Node node) {
        if (node.op() != Op.RANDOM_UNIFORM || node.output().dtype() != DType.F32) {
            throw new IllegalArgumentException("no CUDA random-uniform code for " + node + ": expected random_uniform with f32 output");
        }
        OpAttrs.Random r = node.attrs(OpAttrs.Random.class);
        long elements = node.output().shape().numel();
        String body = "  const unsigned long long n = (unsigned long long) in0[0] + (unsigned long long) i;\n"
                + "  out0[i] = fr_uniform(" + Long.toUnsignedString(r.seed()) + "ull, " + Long.toUnsignedString(r.stream()) + "ull, n);\n";
        List<Value> inputs = List.of(node.input(0));
        List<Value> outputs = List.of(node.output());
        String template = KernelText.perItem(KernelText.params(inputs, outputs), KernelText.args(1, 1), body, elements);
        return KernelText.named("random_uniform", template, inputs, outputs, elements);
    }
}
