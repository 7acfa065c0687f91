package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of ARGMAX along one axis: one thread per output scans its row in order and keeps the
 * first maximum, a NaN winning at once, as the CPU backend does (a classifier's predicted class,
 * over 10 to a few hundred logits). I64 output; F32, F16, BF16, I32 or I64 input.
 */
public final class ArgmaxCodegen {
    private ArgmaxCodegen() {
    }

    /** Whether {@code node} is an argmax this generator writes. */
    public static boolean supports(Node node) {
        DType t = node.op() == Op.ARGMAX ? node.input(0).dtype() : null;
        return t == DType.F32 || t == DType.F16 || t == DType.BF16 || t == DType.I32 || t == DType.I64;
    }

    /**
     * The kernel of {@code node}: parameters (input, I64 output).
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA argmax code for " + node + ": expected argmax of f32, f16, bf16, i32 or i64");
        }
        int axis = node.attrs(OpAttrs.Reduce.class).axes()[0];
        int[] dims = node.input(0).shape().dims();
        long inner = 1;
        for (int k = axis + 1; k < dims.length; k++) {
            inner *= dims[k];
        }
        int n = dims[axis];
        DType t = node.input(0).dtype();
        boolean floating = t.isFloating();
        String load = floating ? ElementwiseCodegen.load(t, "row[j * " + inner + "LL]") : "(long long) row[j * " + inner + "LL]";
        String reg = floating ? "float" : "long long";
        long outputs = node.output().shape().numel();
        String type = ElementwiseCodegen.cType(t);
        StringBuilder body = new StringBuilder()
                .append("  const long long outer = i / ").append(inner).append("LL;\n")
                .append("  const ").append(type).append("* row = in0 + outer * ").append((long) n * inner).append("LL + i % ").append(inner).append("LL;\n")
                .append("  long long best = 0;\n")
                .append("  ").append(reg).append(" bv = ").append(load.replace("j * ", "0 * ")).append(";\n");
        if (floating) {
            body.append("  if (bv != bv) { out0[i] = 0; return; }\n");
        }
        body.append("  for (long long j = 1; j < ").append(n).append("LL; j++) {\n")
                .append("    const ").append(reg).append(" v = ").append(load).append(";\n");
        if (floating) {
            body.append("    if (v != v) { out0[i] = j; return; }\n");
        }
        body.append("    if (v > bv) { bv = v; best = j; }\n")
                .append("  }\n")
                .append("  out0[i] = best;\n");
        List<Value> inputs = List.of(node.input(0));
        List<Value> outs = List.of(node.output());
        String template = KernelText.perItem(KernelText.params(inputs, outs), KernelText.args(1, 1), body.toString(), outputs);
        return KernelText.named("argmax", template, inputs, outs, outputs);
    }
}
