package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of max and average pooling over NCHW windows and of their gradients, with the CPU
 * backend's rules and order of operations, so results are bit-identical: padding never wins a
 * max, the first maximum of a window wins ties (a NaN wins), an average sums in double in window
 * order and divides by the window size or by the in-bounds count. The gradients are written as
 * gathers, one thread per input element: it visits the windows that contain it in the order the
 * CPU scatters them and adds, in float32, the output gradients that route to it, so no atomics
 * are needed and the additions happen in the CPU's order. F16/BF16 values are widened on load and
 * rounded once on store.
 */
public final class PoolingCodegen {
    private PoolingCodegen() {
    }

    /** Whether {@code node} is a pooling op over F32, F16 or BF16. */
    public static boolean supports(Node node) {
        Op op = node.op();
        if (op != Op.MAX_POOL2D && op != Op.MAX_POOL2D_GRAD && op != Op.AVG_POOL2D && op != Op.AVG_POOL2D_GRAD) {
            return false;
        }
        DType t = node.output().dtype();
        return t == DType.F32 || t == DType.F16 || t == DType.BF16;
    }

    /**
     * The kernel of {@code node}: parameters its inputs (x; or x and dy for max pooling's
     * gradient; or dy for average pooling's), then its output.
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA pooling code for " + node + ": expected max_pool2d, avg_pool2d or their gradients"
                    + " over f32, f16 or bf16");
        }
        OpAttrs.Pool2d p = node.attrs(OpAttrs.Pool2d.class);
        Op op = node.op();
        DType t = node.output().dtype();
        boolean forward = op == Op.MAX_POOL2D || op == Op.AVG_POOL2D;
        int[] xs = (forward || op == Op.MAX_POOL2D_GRAD ? node.input(0) : node.output()).shape().dims();
        int h = xs[2];
        int w = xs[3];
        int oh = (h + 2 * p.padH() - p.kernelH()) / p.strideH() + 1;
        int ow = (w + 2 * p.padW() - p.kernelW()) / p.strideW() + 1;
        String type = ElementwiseCodegen.cType(t);
        StringBuilder b = new StringBuilder();
        // the clipped window of output (oy, ox): rows [ys, y1), columns [xs, x1)
        b.append("#define NAME_WINDOW(oy, ox) \\\n")
                .append("  const int y0 = (oy) * ").append(p.strideH()).append(" - ").append(p.padH()).append("; \\\n")
                .append("  const int x0 = (ox) * ").append(p.strideW()).append(" - ").append(p.padW()).append("; \\\n")
                .append("  const int ys = y0 > 0 ? y0 : 0; const int y1 = y0 + ").append(p.kernelH()).append(" < ").append(h).append(" ? y0 + ")
                .append(p.kernelH()).append(" : ").append(h).append("; \\\n")
                .append("  const int xs = x0 > 0 ? x0 : 0; const int x1 = x0 + ").append(p.kernelW()).append(" < ").append(w).append(" ? x0 + ")
                .append(p.kernelW()).append(" : ").append(w).append(";\n\n");
        if (op == Op.MAX_POOL2D || op == Op.MAX_POOL2D_GRAD) {
            // the plane offset of the window's first maximum, a NaN winning: CpuPooling's argmax
            b.append("FR_FN int NAME_argmax(const ").append(type).append("* plane, int oy, int ox) {\n")
                    .append("  NAME_WINDOW(oy, ox)\n")
                    .append("  int best = ys * ").append(w).append(" + xs;\n")
                    .append("  float bv = ").append(ElementwiseCodegen.load(t, "plane[best]")).append(";\n")
                    .append("  for (int iy = ys; iy < y1; iy++)\n")
                    .append("    for (int ix = iy == ys ? xs + 1 : xs; ix < x1; ix++) {\n")
                    .append("      const float v = ").append(ElementwiseCodegen.load(t, "plane[iy * " + w + " + ix]")).append(";\n")
                    .append("      if (!(bv != bv) && (v != v || v > bv)) { best = iy * ").append(w).append(" + ix; bv = v; }\n")
                    .append("    }\n")
                    .append("  return best;\n}\n\n");
        }
        if (op == Op.AVG_POOL2D || op == Op.AVG_POOL2D_GRAD) {
            b.append("FR_FN int NAME_count(int ys, int y1, int xs, int x1) { return ")
                    .append(p.countIncludePad() ? String.valueOf(p.kernelH() * p.kernelW()) : "(y1 - ys) * (x1 - xs)").append("; }\n\n");
        }
        long elements = node.output().shape().numel();
        StringBuilder body = new StringBuilder();
        switch (op) {
            case MAX_POOL2D, AVG_POOL2D -> {
                body.append("  const long long plane = i / ").append((long) oh * ow).append("LL;\n")
                        .append("  const int oy = (int) ((i / ").append(ow).append(") % ").append(oh).append(");\n")
                        .append("  const int ox = (int) (i % ").append(ow).append(");\n")
                        .append("  const ").append(type).append("* x = in0 + plane * ").append((long) h * w).append("LL;\n");
                if (op == Op.MAX_POOL2D) {
                    body.append("  out0[i] = x[NAME_argmax(x, oy, ox)];\n");
                } else {
                    body.append("  NAME_WINDOW(oy, ox)\n")
                            .append("  double acc = 0;\n")
                            .append("  for (int iy = ys; iy < y1; iy++)\n")
                            .append("    for (int ix = xs; ix < x1; ix++) acc += (double) ").append(ElementwiseCodegen.load(t, "x[iy * " + w + " + ix]"))
                            .append(";\n")
                            .append("  out0[i] = ").append(ElementwiseCodegen.store(t, "(float) (acc / NAME_count(ys, y1, xs, x1))")).append(";\n");
                }
            }
            default -> {
                boolean max = op == Op.MAX_POOL2D_GRAD;
                String dy = max ? "in1" : "in0";
                body.append("  const long long plane = i / ").append((long) h * w).append("LL;\n")
                        .append("  const int iy = (int) ((i / ").append(w).append(") % ").append(h).append(");\n")
                        .append("  const int ix = (int) (i % ").append(w).append(");\n")
                        .append("  const ").append(type).append("* g = ").append(dy).append(" + plane * ").append((long) oh * ow).append("LL;\n");
                if (max) {
                    body.append("  const ").append(type).append("* x = in0 + plane * ").append((long) h * w).append("LL;\n");
                }
                // the windows holding (iy, ix), in the order the CPU scatters them
                body.append("  int oyFirst = iy + ").append(p.padH()).append(" - ").append(p.kernelH() - 1).append(";\n")
                        .append("  oyFirst = oyFirst <= 0 ? 0 : (oyFirst + ").append(p.strideH() - 1).append(") / ").append(p.strideH()).append(";\n")
                        .append("  int oyLast = (iy + ").append(p.padH()).append(") / ").append(p.strideH()).append(";\n")
                        .append("  if (oyLast > ").append(oh - 1).append(") oyLast = ").append(oh - 1).append(";\n")
                        .append("  int oxFirst = ix + ").append(p.padW()).append(" - ").append(p.kernelW() - 1).append(";\n")
                        .append("  oxFirst = oxFirst <= 0 ? 0 : (oxFirst + ").append(p.strideW() - 1).append(") / ").append(p.strideW()).append(";\n")
                        .append("  int oxLast = (ix + ").append(p.padW()).append(") / ").append(p.strideW()).append(";\n")
                        .append("  if (oxLast > ").append(ow - 1).append(") oxLast = ").append(ow - 1).append(";\n")
                        .append("  float acc = 0.0f;\n")
                        .append("  for (int oy = oyFirst; oy <= oyLast; oy++)\n")
                        .append("    for (int ox = oxFirst; ox <= oxLast; ox++) {\n");
                if (max) {
                    body.append("      if (NAME_argmax(x, oy, ox) == iy * ").append(w).append(" + ix) acc = FR_ADD(acc, ")
                            .append(ElementwiseCodegen.load(t, "g[oy * " + ow + " + ox]")).append(");\n");
                } else {
                    body.append("      NAME_WINDOW(oy, ox)\n")
                            .append("      const double share = (double) ").append(ElementwiseCodegen.load(t, "g[oy * " + ow + " + ox]"))
                            .append(" / NAME_count(ys, y1, xs, x1);\n")
                            .append("      acc = (float) ((double) acc + share);\n");
                }
                body.append("    }\n")
                        .append("  out0[i] = ").append(ElementwiseCodegen.store(t, "acc")).append(";\n");
            }
        }
        List<Value> inputs = List.copyOf(node.inputs());
        List<Value> outputs = List.of(node.output());
        String template = b + KernelText.perItem(KernelText.params(inputs, outputs), KernelText.args(inputs.size(), 1), body.toString(),
                elements);
        return KernelText.named(op.printName(), template, inputs, outputs, elements);
    }
}
