package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of the hand-fused layer norm: LAYER_NORM, its input gradient LAYER_NORM_GRAD and its
 * weight gradient LAYER_NORM_WEIGHT_GRAD, over rows of the normalized (trailing) axes.
 *
 * <p>Forward and input gradient: one block of {@link RowBlock#THREADS} threads per row (a
 * grid-stride loop over the rows). The block computes the row's sum, then its sum of squared
 * deviations from the mean (two passes, no cancellation), each a strided float32 partial per
 * thread combined by a tree in shared memory ({@link RowBlock}); {@code rstd = 1/sqrt(var + eps)}
 * in double, rounded once. The forward writes {@code (x - mean) * rstd * weight + bias}; the
 * gradient combines {@code sum(g)} and {@code sum(g * xhat)} ({@code g = dy * weight}) the same
 * way and writes {@code rstd * (g - sum(g)/D - xhat * sum(g xhat)/D)}: the statistics are
 * recomputed from x, so the forward keeps nothing for the backward.
 *
 * <p>Weight gradient: one block per {@link RowBlock#THREADS} columns walks every row in order,
 * the block recomputing each row's statistics and each thread adding {@code dy * xhat} of its
 * column: a fixed order, no atomics, but one block per 256 columns, so it is a plain first kernel
 * (a two-stage reduction over row blocks is the next step once it has run on a GPU).
 *
 * <p>Inputs f32, f16 or bf16, each read in its own type; the output rounded once to its type. The
 * host function {@code NAME_element} replays a block (a row; for the weight gradient a tile of
 * columns), so it gives the device's bits; against the CPU backend (double sums in index order)
 * it agrees to float32 rounding.
 */
public final class LayerNormCodegen {
    private LayerNormCodegen() {
    }

    /** Whether {@code node} is a layer norm op over f32, f16 or bf16 values this generator writes. */
    public static boolean supports(Node node) {
        Op op = node.op();
        if (op != Op.LAYER_NORM && op != Op.LAYER_NORM_GRAD && op != Op.LAYER_NORM_WEIGHT_GRAD) {
            return false;
        }
        for (Value v : node.inputs()) {
            if (!registerType(v.dtype())) {
                return false;
            }
        }
        return registerType(node.output().dtype());
    }

    private static boolean registerType(DType t) {
        return t == DType.F32 || t == DType.F16 || t == DType.BF16;
    }

    /**
     * The kernel of {@code node}: parameters its inputs in order (x, weight?, bias? forward; x,
     * weight?, dy for the input gradient; x, dy for the weight gradient), then its output;
     * {@link RowBlock#THREADS} threads per block; {@link GeneratedKernel#elements()} is the number
     * of rows (of 256-column tiles for the weight gradient).
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA layer norm code for " + node + ": expected layer_norm, layer_norm_grad or"
                    + " layer_norm_weight_grad over f32, f16 or bf16");
        }
        OpAttrs.LayerNorm p = node.attrs(OpAttrs.LayerNorm.class);
        int[] dims = node.input(0).shape().dims();
        long d = 1;
        for (int i = dims.length - p.axes(); i < dims.length; i++) {
            d *= dims[i];
        }
        long rows = node.input(0).shape().numel() / d;
        int threads = RowBlock.THREADS;
        List<Value> inputs = node.inputs();
        String params = KernelText.params(inputs, List.of(node.output()));
        String args = KernelText.args(inputs.size(), 1);
        String dLit = KernelText.floatLiteral((float) d);
        StringBuilder b = new StringBuilder(RowBlock.combiners());
        // element (row, c) of input i
        for (int i = 0; i < inputs.size(); i++) {
            b.append("FR_FN float NAME_in").append(i).append("(").append(params).append(", long long row, long long c) { return ")
                    .append(ElementwiseCodegen.load(inputs.get(i).dtype(), "in" + i + "[row * " + d + "LL + c]")).append("; }\n");
        }
        String loop = "  for (long long c = t; c < " + d + "LL; c += " + threads + ") ";
        b.append("FR_FN float NAME_sum_part(int t, long long row, ").append(params).append(") {\n  float s = 0.0f;\n")
                .append(loop).append("s = FR_ADD(s, NAME_in0(").append(args).append(", row, c));\n  return s;\n}\n");
        b.append("FR_FN float NAME_sq_part(int t, long long row, ").append(params).append(", float mean) {\n  float s = 0.0f;\n")
                .append(loop).append("{ const float v = FR_SUB(NAME_in0(").append(args).append(", row, c), mean); s = FR_ADD(s, FR_MUL(v, v)); }\n")
                .append("  return s;\n}\n");
        b.append("FR_FN float NAME_rstd(float sq) { return (float) (1.0 / sqrt((double) FR_ADD(FR_DIV(sq, ").append(dLit).append("), ")
                .append(KernelText.floatLiteral((float) p.eps())).append("))); }\n");
        b.append("FR_FN float NAME_xhat(").append(params).append(", long long row, long long c, float mean, float rstd) { return FR_MUL(FR_SUB(NAME_in0(")
                .append(args).append(", row, c), mean), rstd); }\n");
        DType ot = node.output().dtype();
        String perRow;
        String hostPerRow;
        switch (node.op()) {
            case LAYER_NORM -> {
                String y = "NAME_xhat(" + args + ", row, c, mean, rstd)";
                int next = 1;
                if (p.weight()) {
                    y = "FR_MUL(" + y + ", NAME_in" + next++ + "(" + args + ", 0, c))";
                }
                if (p.bias()) {
                    y = "FR_ADD(" + y + ", NAME_in" + next + "(" + args + ", 0, c))";
                }
                b.append("FR_FN float NAME_y(").append(params).append(", long long row, long long c, float mean, float rstd) { return ")
                        .append(y).append("; }\n\n");
                String store = "out0[row * " + d + "LL + c] = " + ElementwiseCodegen.store(ot, "NAME_y(" + args + ", row, c, mean, rstd)") + ";\n";
                perRow = loop + store;
                hostPerRow = "  for (long long c = 0; c < " + d + "LL; c++) " + store;
            }
            case LAYER_NORM_GRAD -> {
                int dy = p.weight() ? 2 : 1;
                String g = "NAME_in" + dy + "(" + args + ", row, c)";
                if (p.weight()) {
                    g = "FR_MUL(" + g + ", NAME_in1(" + args + ", 0, c))";
                }
                b.append("FR_FN float NAME_g(").append(params).append(", long long row, long long c) { return ").append(g).append("; }\n");
                b.append("FR_FN float NAME_gs_part(int t, long long row, ").append(params).append(") {\n  float s = 0.0f;\n")
                        .append(loop).append("s = FR_ADD(s, NAME_g(").append(args).append(", row, c));\n  return s;\n}\n");
                b.append("FR_FN float NAME_gx_part(int t, long long row, ").append(params).append(", float mean, float rstd) {\n  float s = 0.0f;\n")
                        .append(loop).append("s = FR_ADD(s, FR_MUL(NAME_g(").append(args).append(", row, c), NAME_xhat(").append(args)
                        .append(", row, c, mean, rstd)));\n  return s;\n}\n");
                b.append("FR_FN float NAME_dx(").append(params).append(", long long row, long long c, float mean, float rstd, float gm, float gxm) {\n")
                        .append("  return FR_MUL(rstd, FR_SUB(FR_SUB(NAME_g(").append(args).append(", row, c), gm), FR_MUL(NAME_xhat(").append(args)
                        .append(", row, c, mean, rstd), gxm)));\n}\n\n");
                String store = "out0[row * " + d + "LL + c] = " + ElementwiseCodegen.store(ot, "NAME_dx(" + args + ", row, c, mean, rstd, gm, gxm)") + ";\n";
                perRow = "GRADSUMS" + loop + store;
                hostPerRow = "GRADSUMS" + "  for (long long c = 0; c < " + d + "LL; c++) " + store;
            }
            default -> {
                b.append("\n");
                perRow = null;
                hostPerRow = null;
            }
        }
        if (node.op() == Op.LAYER_NORM_WEIGHT_GRAD) {
            long tiles = (d + threads - 1) / threads;
            String add = "FR_ADD(acc, FR_MUL(NAME_in1(" + args + ", row, j), NAME_xhat(" + args + ", row, j, mean, rstd)))";
            b.append("FR_FN void NAME_element(long long tile, ").append(params).append(") {\n")
                    .append("  float part[").append(threads).append("];\n")
                    .append("  float accs[").append(threads).append("];\n")
                    .append("  for (int u = 0; u < ").append(threads).append("; u++) accs[u] = 0.0f;\n")
                    .append("  for (long long row = 0; row < ").append(rows).append("LL; row++) {\n")
                    .append(statistics(args, false, "    "))
                    .append("    for (int u = 0; u < ").append(threads).append("; u++) {\n")
                    .append("      const long long j = tile * ").append(threads).append("LL + u;\n")
                    .append("      float acc = accs[u];\n")
                    .append("      if (j < ").append(d).append("LL) accs[u] = ").append(add).append(";\n")
                    .append("    }\n  }\n")
                    .append("  for (int u = 0; u < ").append(threads).append("; u++) {\n")
                    .append("    const long long j = tile * ").append(threads).append("LL + u;\n")
                    .append("    if (j < ").append(d).append("LL) out0[j] = ").append(ElementwiseCodegen.store(ot, "accs[u]")).append(";\n  }\n}\n\n");
            b.append("extern \"C\" __global__ void __launch_bounds__(").append(threads).append(") NAME(").append(params).append(") {\n")
                    .append("  __shared__ float part[").append(threads).append("];\n")
                    .append("  const int t = threadIdx.x;\n")
                    .append("  for (long long tile = blockIdx.x; tile < ").append(tiles).append("LL; tile += gridDim.x) {\n")
                    .append("    const long long j = tile * ").append(threads).append("LL + t;\n")
                    .append("    float acc = 0.0f;\n")
                    .append("    for (long long row = 0; row < ").append(rows).append("LL; row++) {\n")
                    .append(statistics(args, true, "      "))
                    .append("      if (j < ").append(d).append("LL) acc = ").append(add).append(";\n")
                    .append("    }\n")
                    .append("    if (j < ").append(d).append("LL) out0[j] = ").append(ElementwiseCodegen.store(ot, "acc")).append(";\n")
                    .append("  }\n}\n");
            return KernelText.named(node.op().printName(), b.toString().replace("DLIT", dLit), inputs, List.of(node.output()), tiles, threads);
        }
        String gradSumsHost = node.op() == Op.LAYER_NORM_GRAD
                ? RowBlock.combine("gs", "NAME_gs_part(t, row, " + args + ")", "NAME_add", false, "  ")
                + RowBlock.combine("gx", "NAME_gx_part(t, row, " + args + ", mean, rstd)", "NAME_add", false, "  ")
                + "  const float gm = FR_DIV(gs, " + dLit + ");\n  const float gxm = FR_DIV(gx, " + dLit + ");\n"
                : "";
        String gradSumsDevice = node.op() == Op.LAYER_NORM_GRAD
                ? RowBlock.combine("gs", "NAME_gs_part(t, row, " + args + ")", "NAME_add", true, "    ")
                + RowBlock.combine("gx", "NAME_gx_part(t, row, " + args + ", mean, rstd)", "NAME_add", true, "    ")
                + "    const float gm = FR_DIV(gs, " + dLit + ");\n    const float gxm = FR_DIV(gx, " + dLit + ");\n"
                : "";
        b.append("FR_FN void NAME_element(long long row, ").append(params).append(") {\n")
                .append("  float part[").append(threads).append("];\n")
                .append(statistics(args, false, "  "))
                .append(hostPerRow.replace("GRADSUMS", gradSumsHost))
                .append("}\n\n");
        b.append("extern \"C\" __global__ void __launch_bounds__(").append(threads).append(") NAME(").append(params).append(") {\n")
                .append("  __shared__ float part[").append(threads).append("];\n")
                .append("  const int t = threadIdx.x;\n")
                .append("  for (long long row = blockIdx.x; row < ").append(rows).append("LL; row += gridDim.x) {\n")
                .append(statistics(args, true, "    "))
                .append(perRow.replace("GRADSUMS", gradSumsDevice))
                .append("  }\n}\n");
        return KernelText.named(node.op().printName(), b.toString().replace("DLIT", dLit), inputs, List.of(node.output()), rows, threads);
    }

    /** Statements that set {@code mean} and {@code rstd} of {@code row} (the block's trees, or their host replay). */
    private static String statistics(String args, boolean device, String indent) {
        return RowBlock.combine("sum", "NAME_sum_part(t, row, " + args + ")", "NAME_add", device, indent)
                + indent + "const float mean = FR_DIV(sum, DLIT);\n"
                + RowBlock.combine("sq", "NAME_sq_part(t, row, " + args + ", mean)", "NAME_add", device, indent)
                + indent + "const float rstd = NAME_rstd(sq);\n";
    }
}
