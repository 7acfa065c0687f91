package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of the elementwise nodes over wide values that a training step has: comparisons of
 * I32/I64 values (labels against an iota, to build one-hot targets) into BOOL, casts from I32/I64
 * to F32, F16, BF16 or BOOL, and casts from F64 (the learning rate fed each step) to F32 or BOOL.
 * They never fuse on the CPU, so each is a kernel of its own; the values stay wide (no float
 * register rounds them), and a cast rounds once, to nearest even, from the exact value, as the
 * CPU does (an integer to a half type through float, which is one rounding for magnitudes below
 * 2^24).
 */
public final class WideElementwiseCodegen {
    private WideElementwiseCodegen() {
    }

    private static boolean integer(DType t) {
        return t == DType.I32 || t == DType.I64;
    }

    /** Whether {@code node} is an integer comparison, a cast from an integer type or a cast from F64 this generator writes. */
    public static boolean supports(Node node) {
        if (node.inputs().isEmpty()) {
            return false;
        }
        DType from = node.input(0).dtype();
        DType to = node.output() == null ? null : node.output().dtype();
        return switch (node.op()) {
            case LT, LE, GT, GE, EQ, NE -> integer(from) && node.input(1).dtype() == from;
            case CAST -> integer(from) ? to == DType.F32 || to == DType.F16 || to == DType.BF16 || to == DType.BOOL
                    : from == DType.F64 && (to == DType.F32 || to == DType.BOOL);
            default -> false;
        };
    }

    /**
     * The kernel of {@code node}: parameters its distinct inputs, then its output.
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA wide-type code for " + node + ": expected a comparison of i32/i64 values, a cast"
                    + " from i32/i64 to f32, f16, bf16 or bool, or a cast from f64 to f32 or bool");
        }
        Shape shape = node.output().shape();
        int[] dims = shape.dims();
        List<Value> inputs = KernelText.distinctInputs(node);
        StringBuilder body = new StringBuilder();
        if (inputs.stream().anyMatch(v -> !v.shape().equals(shape))) {
            body.append(KernelText.coordinates(dims));
        }
        for (int k = 0; k < inputs.size(); k++) {
            Value in = inputs.get(k);
            String offset = in.shape().equals(shape) ? "i" : KernelText.broadcastOffset(in.shape(), dims);
            String wide = in.dtype() == DType.F64 ? "double" : "long long";
            body.append("  const ").append(wide).append(" x").append(k).append(" = (").append(wide).append(") in").append(k).append("[")
                    .append(offset).append("];\n");
        }
        String a = "x" + inputs.indexOf(node.input(0));
        DType out = node.output().dtype();
        String value = switch (node.op()) {
            case CAST -> switch (out) {
                case BOOL -> "(unsigned char) (" + a + " != 0)";
                // one rounding from the exact value, as the CPU's (float) long and (float) double
                case F32 -> "(float) " + a;
                // through float: one rounding for |v| < 2^24 (every integer f16 can hold), as the CPU rounds once
                default -> ElementwiseCodegen.store(out, "(float) " + a);
            };
            default -> {
                String b = "x" + inputs.indexOf(node.input(1));
                String cmp = switch (node.op()) {
                    case LT -> "<";
                    case LE -> "<=";
                    case GT -> ">";
                    case GE -> ">=";
                    case EQ -> "==";
                    default -> "!=";
                };
                yield "(unsigned char) (" + a + " " + cmp + " " + b + ")";
            }
        };
        body.append("  out0[i] = ").append(value).append(";\n");
        long elements = shape.numel();
        List<Value> outputs = List.of(node.output());
        String template = KernelText.perItem(KernelText.params(inputs, outputs), KernelText.args(inputs.size(), 1), body.toString(),
                elements);
        return KernelText.named("wide_" + node.op().printName(), template, inputs, outputs, elements);
    }
}
