package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of the hand-fused softmax cross-entropy (SOFTMAX_CROSS_ENTROPY) and its gradient:
 * one block of {@link RowBlock#THREADS} threads per row of the logits (a grid-stride loop over the
 * rows), each row read by the block for its maximum, then its sum of {@code exp(x - max)} (and,
 * with label smoothing, its sum), each a strided float32 partial per thread combined by a tree in
 * shared memory ({@link RowBlock}). The forward writes {@code (1-s)(lse - x[label]) + s(lse -
 * sum/C)}, {@code lse = max + log(sum)}; the gradient writes {@code (exp(x - max)/sum - target) *
 * dLoss[row]} for each of the row's elements, so nothing of size [N, C] is stored between them.
 *
 * <p>Exponentials and the logarithm are computed in double and rounded once (as the elementwise
 * kernels do); additions with {@code __fadd_rn}. A label outside 0..C-1 stops the kernel with its
 * name, the label and the range, as the gather kernels do. The host function
 * {@code NAME_element(row, ...)} replays a block's partials and tree, so it gives the device's bits;
 * against the CPU backend (double sums in index order) it agrees to float32 rounding.
 */
public final class CrossEntropyCodegen {
    private CrossEntropyCodegen() {
    }

    /** Whether {@code node} is a softmax cross-entropy (or its gradient) over f32, f16 or bf16 this generator writes. */
    public static boolean supports(Node node) {
        if (node.op() != Op.SOFTMAX_CROSS_ENTROPY && node.op() != Op.SOFTMAX_CROSS_ENTROPY_GRAD) {
            return false;
        }
        boolean ok = registerType(node.input(0).dtype()) && registerType(node.output().dtype());
        return node.op() == Op.SOFTMAX_CROSS_ENTROPY ? ok : ok && registerType(node.input(2).dtype());
    }

    private static boolean registerType(DType t) {
        return t == DType.F32 || t == DType.F16 || t == DType.BF16;
    }

    /**
     * The kernel of {@code node}: parameters (logits, labels, loss) forward, (logits, labels, dLoss,
     * dLogits) backward; {@link RowBlock#THREADS} threads per block, one block per row (a
     * grid-stride loop covers fewer); {@link GeneratedKernel#elements()} is the number of rows.
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA cross-entropy code for " + node
                    + ": expected softmax_cross_entropy or its gradient over f32, f16 or bf16");
        }
        boolean forward = node.op() == Op.SOFTMAX_CROSS_ENTROPY;
        double s = node.attrs(OpAttrs.CrossEntropy.class).labelSmoothing();
        int n = node.input(0).shape().dim(0);
        int c = node.input(0).shape().dim(1);
        DType xt = node.input(0).dtype();
        DType ot = node.output().dtype();
        int threads = RowBlock.THREADS;
        List<Value> inputs = forward ? List.of(node.input(0), node.input(1)) : List.of(node.input(0), node.input(1), node.input(2));
        String params = KernelText.params(inputs, List.of(node.output()));
        String xParam = "const " + ElementwiseCodegen.cType(xt) + "* __restrict__ in0";
        StringBuilder b = new StringBuilder(RowBlock.combiners());
        b.append("FR_FN float NAME_x(").append(xParam).append(", long long row, long long c) { return ")
                .append(ElementwiseCodegen.load(xt, "in0[row * " + c + "LL + c]")).append("; }\n");
        b.append("FR_FN float NAME_max_part(int t, long long row, ").append(xParam).append(") {\n")
                .append("  float m = FR_FROM_BITS(0xff800000u);\n")
                .append("  for (long long c = t; c < ").append(c).append("LL; c += ").append(threads).append(") m = fr_max(m, NAME_x(in0, row, c));\n")
                .append("  return m;\n}\n");
        b.append("FR_FN float NAME_exp(float x, float mx) { return (float) exp((double) FR_SUB(x, mx)); }\n");
        b.append("FR_FN float NAME_exp_part(int t, long long row, ").append(xParam).append(", float mx) {\n")
                .append("  float s = 0.0f;\n")
                .append("  for (long long c = t; c < ").append(c).append("LL; c += ").append(threads)
                .append(") s = FR_ADD(s, NAME_exp(NAME_x(in0, row, c), mx));\n")
                .append("  return s;\n}\n");
        b.append("FR_FN float NAME_sum_part(int t, long long row, ").append(xParam).append(") {\n")
                .append("  float s = 0.0f;\n")
                .append("  for (long long c = t; c < ").append(c).append("LL; c += ").append(threads).append(") s = FR_ADD(s, NAME_x(in0, row, c));\n")
                .append("  return s;\n}\n");
        String lType = ElementwiseCodegen.cType(node.input(1).dtype());
        b.append("FR_FN long long NAME_label(const ").append(lType).append("* __restrict__ in1, long long row) {\n")
                .append("  const long long l = (long long) in1[row];\n")
                .append("  if (l < 0 || l >= ").append(c).append("LL) FR_FAIL(\"NAME\", \"label\", l, ").append(c).append("LL);\n")
                .append("  return l;\n}\n");
        String keep = KernelText.floatLiteral((float) (1 - s));
        String share = KernelText.floatLiteral((float) s);
        String cLit = KernelText.floatLiteral((float) c);
        String perClass = KernelText.floatLiteral((float) (s / c));
        String hit = KernelText.floatLiteral((float) (1 - s + s / c));
        b.append("FR_FN float NAME_loss(float mx, float se, float xs, float xl) {\n")
                .append("  const float lse = FR_ADD(mx, (float) log((double) se));\n")
                .append("  float loss = FR_MUL(").append(keep).append(", FR_SUB(lse, xl));\n");
        if (s > 0) {
            b.append("  loss = FR_ADD(loss, FR_MUL(").append(share).append(", FR_SUB(lse, FR_DIV(xs, ").append(cLit).append("))));\n");
        }
        b.append("  return loss;\n}\n");
        b.append("FR_FN float NAME_grad(float x, float mx, float se, long long c, long long l, float g) {\n")
                .append("  const float target = c == l ? ").append(hit).append(" : ").append(perClass).append(";\n")
                .append("  return FR_MUL(FR_SUB(FR_DIV(NAME_exp(x, mx), se), target), g);\n}\n\n");
        String store = forward ? "out0[row] = " + ElementwiseCodegen.store(ot, "NAME_loss(mx, se, xs, NAME_x(in0, row, l))") + ";\n"
                : null;
        String gLoad = forward ? null : ElementwiseCodegen.load(node.input(2).dtype(), "in2[row]");
        String gradStore = forward ? null : "out0[row * " + c + "LL + c] = "
                + ElementwiseCodegen.store(ot, "NAME_grad(NAME_x(in0, row, c), mx, se, c, l, g)") + ";\n";
        // host: one row, the same partials and trees
        b.append("FR_FN void NAME_element(long long row, ").append(params).append(") {\n")
                .append("  float part[").append(threads).append("];\n")
                .append(RowBlock.combine("mx", "NAME_max_part(t, row, in0)", "NAME_max", false, "  "))
                .append(RowBlock.combine("se", "NAME_exp_part(t, row, in0, mx)", "NAME_add", false, "  "));
        b.append(forward && s > 0 ? RowBlock.combine("xs", "NAME_sum_part(t, row, in0)", "NAME_add", false, "  ") : "  const float xs = 0.0f;\n");
        b.append("  const long long l = NAME_label(in1, row);\n");
        if (forward) {
            b.append("  ").append(store);
        } else {
            b.append("  const float g = ").append(gLoad).append(";\n")
                    .append("  for (long long c = 0; c < ").append(c).append("LL; c++) ").append(gradStore);
        }
        b.append("  (void) xs;\n}\n\n");
        // device: one block per row
        b.append("extern \"C\" __global__ void __launch_bounds__(").append(threads).append(") NAME(").append(params).append(") {\n")
                .append("  __shared__ float part[").append(threads).append("];\n")
                .append("  const int t = threadIdx.x;\n")
                .append("  for (long long row = blockIdx.x; row < ").append(n).append("LL; row += gridDim.x) {\n")
                .append(RowBlock.combine("mx", "NAME_max_part(t, row, in0)", "NAME_max", true, "    "))
                .append(RowBlock.combine("se", "NAME_exp_part(t, row, in0, mx)", "NAME_add", true, "    "));
        if (forward) {
            if (s > 0) {
                b.append(RowBlock.combine("xs", "NAME_sum_part(t, row, in0)", "NAME_add", true, "    "));
            } else {
                b.append("    const float xs = 0.0f;\n");
            }
            b.append("    if (t == 0) {\n      const long long l = NAME_label(in1, row);\n      ").append(store).append("    }\n");
        } else {
            b.append("    const long long l = NAME_label(in1, row);\n")
                    .append("    const float g = ").append(gLoad).append(";\n")
                    .append("    for (long long c = t; c < ").append(c).append("LL; c += ").append(threads).append(") ").append(gradStore);
        }
        b.append("  }\n}\n");
        return KernelText.named(node.op().printName(), b.toString(), inputs, List.of(node.output()), n, threads);
    }
}
