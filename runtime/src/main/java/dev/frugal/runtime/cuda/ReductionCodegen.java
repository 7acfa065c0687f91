package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import java.util.List;

/**
 * The CUDA C of a sum, maximum or minimum over any set of axes: one thread block of
 * {@link #THREADS} threads per output element (a grid-stride loop over the outputs), each thread
 * accumulating a strided share of the reduced elements in float32, then a tree over the block in
 * shared memory. The order of every operation is fixed by the shapes alone, so a result does not
 * depend on the grid, and the host function {@code NAME_element(o, in, out)} performs the same
 * operations in the same order: host and device give the same bits, and the host run is checked
 * against the CPU backend (whose float32 sums use another order, so sums agree to rounding).
 *
 * <p>Inputs F32, F16 or BF16 (widened exactly on load); output the input's type or F32 (a mixed
 * precision sum); sums accumulate with {@code __fadd_rn}, maximum and minimum with Java's NaN
 * rules. Launch with {@link #THREADS} threads per block.
 */
public final class ReductionCodegen {
    /** Threads per block the kernel is written for. */
    public static final int THREADS = 256;

    private ReductionCodegen() {
    }

    /** Whether {@code node} is a reduction this generator writes. */
    public static boolean supports(Node node) {
        Op op = node.op();
        if (op != Op.REDUCE_SUM && op != Op.REDUCE_MAX && op != Op.REDUCE_MIN) {
            return false;
        }
        DType in = node.input(0).dtype();
        DType out = node.output().dtype();
        return (in == DType.F32 || in == DType.F16 || in == DType.BF16) && (out == in || out == DType.F32);
    }

    /**
     * The kernel of {@code node}: parameters (input, output).
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA reduction code for " + node + ": expected reduce_sum, reduce_max or reduce_min"
                    + " of f32, f16 or bf16 into the same type or f32");
        }
        Shape inShape = node.input(0).shape();
        int[] dims = inShape.dims();
        boolean[] reduced = new boolean[dims.length];
        for (int axis : node.attrs(OpAttrs.Reduce.class).axes()) {
            reduced[axis] = true;
        }
        long[] strides = KernelText.strides(dims);
        long outputs = node.output().shape().numel();
        long count = inShape.numel() / Math.max(1, outputs);
        DType inType = node.input(0).dtype();
        DType outType = node.output().dtype();
        String combine = switch (node.op()) {
            case REDUCE_SUM -> "FR_ADD(a, b)";
            case REDUCE_MAX -> "fr_max(a, b)";
            default -> "fr_min(a, b)";
        };
        String identity = switch (node.op()) {
            case REDUCE_SUM -> "0.0f";
            case REDUCE_MAX -> "FR_FROM_BITS(0xff800000u)";
            default -> "FR_FROM_BITS(0x7f800000u)";
        };
        StringBuilder b = new StringBuilder();
        b.append("FR_FN float NAME_combine(float a, float b) { return ").append(combine).append("; }\n\n");
        // the offset of output o's first element (kept axes) and of reduced element r (reduced axes)
        b.append("FR_FN long long NAME_base(long long o) {\n  long long rest = o;\n  long long off = 0;\n");
        for (int axis = dims.length - 1; axis >= 0; axis--) {
            if (!reduced[axis] && dims[axis] > 1) {
                b.append("  off += (rest % ").append(dims[axis]).append("LL) * ").append(strides[axis]).append("LL; rest /= ")
                        .append(dims[axis]).append("LL;\n");
            }
        }
        b.append("  return off;\n}\n\n");
        b.append("FR_FN long long NAME_offset(long long r) {\n  long long rest = r;\n  long long off = 0;\n");
        for (int axis = dims.length - 1; axis >= 0; axis--) {
            if (reduced[axis] && dims[axis] > 1) {
                b.append("  off += (rest % ").append(dims[axis]).append("LL) * ").append(strides[axis]).append("LL; rest /= ")
                        .append(dims[axis]).append("LL;\n");
            }
        }
        b.append("  return off;\n}\n\n");
        String in = "const " + ElementwiseCodegen.cType(inType) + "* __restrict__ in0";
        String out = ElementwiseCodegen.cType(outType) + "* __restrict__ out0";
        String load = ElementwiseCodegen.load(inType, "in0[base + NAME_offset(r)]");
        // one thread's strided share
        b.append("FR_FN float NAME_partial(long long o, int t, ").append(in).append(") {\n")
                .append("  const long long base = NAME_base(o);\n")
                .append("  float acc = ").append(identity).append(";\n")
                .append("  for (long long r = t; r < ").append(count).append("LL; r += ").append(THREADS).append(") acc = NAME_combine(acc, ")
                .append(load).append(");\n")
                .append("  return acc;\n}\n\n");
        // the host's replay of the block: the same partials combined by the same tree
        b.append("FR_FN void NAME_element(long long o, ").append(in).append(", ").append(out).append(") {\n")
                .append("  float part[").append(THREADS).append("];\n")
                .append("  for (int t = 0; t < ").append(THREADS).append("; t++) part[t] = NAME_partial(o, t, in0);\n")
                .append("  for (int stride = ").append(THREADS / 2).append("; stride > 0; stride >>= 1)\n")
                .append("    for (int t = 0; t < stride; t++) part[t] = NAME_combine(part[t], part[t + stride]);\n")
                .append("  out0[o] = ").append(ElementwiseCodegen.store(outType, "part[0]")).append(";\n}\n\n");
        b.append("extern \"C\" __global__ void __launch_bounds__(").append(THREADS).append(") NAME(").append(in).append(", ").append(out).append(") {\n")
                .append("  __shared__ float part[").append(THREADS).append("];\n")
                .append("  const int t = threadIdx.x;\n")
                .append("  for (long long o = blockIdx.x; o < ").append(outputs).append("LL; o += gridDim.x) {\n")
                .append("    part[t] = NAME_partial(o, t, in0);\n")
                .append("    for (int stride = ").append(THREADS / 2).append("; stride > 0; stride >>= 1) {\n")
                .append("      __syncthreads();\n")
                .append("      if (t < stride) part[t] = NAME_combine(part[t], part[t + stride]);\n")
                .append("    }\n")
                .append("    if (t == 0) out0[o] = ").append(ElementwiseCodegen.store(outType, "part[0]")).append(";\n")
                .append("    __syncthreads();\n")
                .append("  }\n}\n");
        String template = b.toString();
        return KernelText.named(node.op().printName(), template, List.of(node.input(0)), List.of(node.output()), outputs);
    }
}
