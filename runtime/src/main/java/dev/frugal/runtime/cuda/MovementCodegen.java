package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The CUDA C of the ops that move or index data rather than compute on it: RESHAPE, PERMUTE,
 * EXPAND, SLICE, PAD and CONCAT (copies, every element stored as its own type, so exact for every
 * dtype), GATHER (an embedding lookup), SCATTER_ADD (its adjoint), and the sources CONSTANT and
 * IOTA. Each output element is computed by one thread from constants of the shapes, as a
 * {@code __host__ __device__} element function that the host can replay.
 *
 * <p>SCATTER_ADD is written as a gather: output element (p, a, q) sums, in index order, the source
 * elements whose index is a. No atomics, so the sum's order is fixed and equals the CPU
 * backend's, which also adds in index order (float32 accumulation, rounded once for half types);
 * the price is a pass over the indices per output element, small for embedding tables. An index
 * outside its axis stops the kernel with its name, the index and the valid range (a trap on the
 * device, which the launch reports; an abort on the host), where the CPU throws.
 */
public final class MovementCodegen {
    private static final Set<Op> OPS = Set.of(Op.RESHAPE, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.PAD, Op.CONCAT, Op.GATHER, Op.SCATTER_ADD,
            Op.CONSTANT, Op.IOTA);

    private MovementCodegen() {
    }

    /** Whether {@code node} is an op this generator writes (SCATTER_ADD only into float types). */
    public static boolean supports(Node node) {
        if (!OPS.contains(node.op())) {
            return false;
        }
        return node.op() != Op.SCATTER_ADD || accumulates(node.output().dtype());
    }

    /**
     * The kernel of {@code node}: parameters its inputs (CONCAT's parts in order, GATHER's and
     * SCATTER_ADD's data then indices; none for CONSTANT and IOTA), then its output.
     *
     * @throws IllegalArgumentException for an op {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA movement code for " + node + ": expected one of " + OPS
                    + " (scatter_add into f32, f16, bf16 or f64)");
        }
        Value out = node.output();
        int[] od = out.shape().dims();
        StringBuilder b = new StringBuilder();
        b.append(KernelText.coordinates(od));
        String value = switch (node.op()) {
            case RESHAPE -> "in0[i]";
            case PERMUTE -> permute(node, od);
            case EXPAND -> "in0[" + KernelText.broadcastOffset(node.input(0).shape(), od) + "]";
            case SLICE -> slice(node, od);
            case PAD -> pad(node, od, b);
            case CONCAT -> concat(node, od, b);
            case GATHER -> gather(node, od, b);
            case SCATTER_ADD -> scatterAdd(node, od, b);
            case CONSTANT -> constant(out.dtype(), node.attrs(OpAttrs.Constant.class).value());
            case IOTA -> "(" + ElementwiseCodegen.cType(out.dtype()) + ") c" + node.attrs(OpAttrs.Axis.class).axis();
            default -> throw new IllegalStateException(node.op().toString());
        };
        b.append("  out0[i] = ").append(value).append(";\n");
        List<Value> inputs = List.copyOf(node.inputs());
        long elements = out.shape().numel();
        String template = KernelText.perItem(KernelText.params(inputs, List.of(out)), KernelText.args(inputs.size(), 1), b.toString(),
                elements);
        return KernelText.named(node.op().printName(), template, inputs, List.of(out), elements);
    }

    private static boolean accumulates(DType t) {
        return t == DType.F32 || t == DType.F16 || t == DType.BF16 || t == DType.F64;
    }

    private static String sum(List<String> terms) {
        return terms.isEmpty() ? "0" : String.join(" + ", terms);
    }

    private static String permute(Node node, int[] od) {
        int[] perm = node.attrs(OpAttrs.Permute.class).perm();
        long[] is = KernelText.strides(node.input(0).shape().dims());
        List<String> terms = new ArrayList<>();
        for (int k = 0; k < od.length; k++) {
            terms.add("c" + k + " * " + is[perm[k]] + "LL");
        }
        return "in0[" + sum(terms) + "]";
    }

    private static String slice(Node node, int[] od) {
        OpAttrs.Slice s = node.attrs(OpAttrs.Slice.class);
        long[] is = KernelText.strides(node.input(0).shape().dims());
        List<String> terms = new ArrayList<>();
        for (int k = 0; k < od.length; k++) {
            terms.add("(" + s.starts()[k] + "LL + c" + k + " * " + s.steps()[k] + "LL) * " + is[k] + "LL");
        }
        return "in0[" + sum(terms) + "]";
    }

    private static String pad(Node node, int[] od, StringBuilder b) {
        OpAttrs.Pad p = node.attrs(OpAttrs.Pad.class);
        int[] id = node.input(0).shape().dims();
        long[] is = KernelText.strides(id);
        List<String> inside = new ArrayList<>();
        List<String> terms = new ArrayList<>();
        for (int k = 0; k < od.length; k++) {
            String c = "(c" + k + " - " + p.before()[k] + "LL)";
            inside.add(c + " >= 0 && " + c + " < " + id[k] + "LL");
            terms.add(c + " * " + is[k] + "LL");
        }
        b.append("  const bool inside = ").append(String.join(" && ", inside)).append(";\n");
        return "inside ? in0[" + sum(terms) + "] : (" + ElementwiseCodegen.cType(node.output().dtype()) + ") 0";
    }

    private static String concat(Node node, int[] od, StringBuilder b) {
        int axis = node.attrs(OpAttrs.Axis.class).axis();
        String type = ElementwiseCodegen.cType(node.output().dtype());
        b.append("  ").append(type).append(" v;\n");
        int start = 0;
        for (int p = 0; p < node.inputs().size(); p++) {
            int[] pd = node.input(p).shape().dims();
            long[] ps = KernelText.strides(pd);
            List<String> terms = new ArrayList<>();
            for (int k = 0; k < od.length; k++) {
                terms.add((k == axis ? "(c" + k + " - " + start + "LL)" : "c" + k) + " * " + ps[k] + "LL");
            }
            int end = start + pd[axis];
            b.append(p == 0 ? "  if" : "  else if").append(" (c").append(axis).append(" < ").append(end).append("LL) v = in").append(p)
                    .append("[").append(sum(terms)).append("];\n");
            start = end;
        }
        b.append("  else v = (").append(type).append(") 0;\n");
        return "v";
    }

    private static String gather(Node node, int[] od, StringBuilder b) {
        int axis = node.attrs(OpAttrs.Axis.class).axis();
        int[] xd = node.input(0).shape().dims();
        int[] idxDims = node.input(1).shape().dims();
        long[] xs = KernelText.strides(xd);
        long[] ids = KernelText.strides(idxDims);
        List<String> idxTerms = new ArrayList<>();
        for (int k = 0; k < idxDims.length; k++) {
            idxTerms.add("c" + (axis + k) + " * " + ids[k] + "LL");
        }
        b.append("  const long long a = (long long) in1[").append(sum(idxTerms)).append("];\n");
        b.append("  if (a < 0 || a >= ").append(xd[axis]).append("LL) FR_FAIL(\"NAME\", \"index\", a, ").append(xd[axis]).append("LL);\n");
        List<String> terms = new ArrayList<>();
        for (int k = 0; k < axis; k++) {
            terms.add("c" + k + " * " + xs[k] + "LL");
        }
        terms.add("a * " + xs[axis] + "LL");
        for (int k = axis + 1; k < xd.length; k++) {
            terms.add("c" + (k - 1 + idxDims.length) + " * " + xs[k] + "LL");
        }
        return "in0[" + sum(terms) + "]";
    }

    private static String scatterAdd(Node node, int[] od, StringBuilder b) {
        int axis = node.attrs(OpAttrs.Axis.class).axis();
        int[] srcDims = node.input(0).shape().dims();
        long[] ss = KernelText.strides(srcDims);
        long indices = node.input(1).shape().numel();
        DType t = node.output().dtype();
        String acc = t == DType.F64 ? "double" : "float";
        // source offset of (pre coords, flat index j, post coords): the index axes of src are contiguous
        List<String> pre = new ArrayList<>();
        for (int k = 0; k < axis; k++) {
            pre.add("c" + k + " * " + ss[k] + "LL");
        }
        int idxRank = node.input(1).shape().rank();
        long perIndex = idxRank == 0 ? 1 : ss[axis + idxRank - 1];
        List<String> post = new ArrayList<>();
        for (int k = axis + 1; k < od.length; k++) {
            post.add("c" + k + " * " + ss[k - 1 + idxRank] + "LL");
        }
        b.append("  const long long base = ").append(sum(pre)).append(" + ").append(sum(post)).append(";\n");
        b.append("  ").append(acc).append(" total = 0;\n");
        b.append("  for (long long j = 0; j < ").append(indices).append("LL; j++) {\n");
        b.append("    const long long a = (long long) in1[j];\n");
        b.append("    if (a < 0 || a >= ").append(od[axis]).append("LL) FR_FAIL(\"NAME\", \"index\", a, ").append(od[axis]).append("LL);\n");
        String load = t == DType.F64 ? "in0[base + j * " + perIndex + "LL]" : ElementwiseCodegen.load(t, "in0[base + j * " + perIndex + "LL]");
        String add = t == DType.F64 ? "total + " + load : "FR_ADD(total, " + load + ")";
        b.append("    if (a == c").append(axis).append(") total = ").append(add).append(";\n");
        b.append("  }\n");
        return t == DType.F64 ? "total" : ElementwiseCodegen.store(t, "total");
    }

    private static String constant(DType t, double v) {
        String type = ElementwiseCodegen.cType(t);
        return switch (t) {
            case F32 -> KernelText.floatLiteral((float) v);
            case F64 -> Double.isFinite(v) ? Double.toHexString(v) : (Double.isNaN(v) ? "(0.0 / 0.0)" : (v > 0 ? "(1.0 / 0.0)" : "(-1.0 / 0.0)"));
            // the half value of the double rounded once (as the CPU does), written as the float that equals it
            case F16 -> "__float2half_rn(" + KernelText.floatLiteral(Float16.toFloat(Float16.fromDouble(v))) + ")";
            case BF16 -> "__float2bfloat16_rn(" + KernelText.floatLiteral(BFloat16.toFloat(BFloat16.fromDouble(v))) + ")";
            case BOOL -> "(unsigned char) " + (v != 0 ? 1 : 0);
            default -> "(" + type + ") " + (long) v + "LL";
        };
    }
}
