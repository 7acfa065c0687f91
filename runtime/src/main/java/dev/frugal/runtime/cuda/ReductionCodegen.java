package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

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
 *
 * <p>A fused group that ends in a reduction ({@link FusedGroup#reduction()}) gets the same kernel
 * with the load replaced by {@code NAME_value}, which computes the group's elementwise members
 * for that element of the reduction's input (and stores the members the group stores: every
 * element is visited by exactly one thread), so the reduced value is never written to memory.
 * Its parameters are the group's inputs, then its outputs: the reduction's, then the stored
 * members'.
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
        List<Value> inputs = List.of(node.input(0));
        List<Value> outputs = List.of(node.output());
        String load = ElementwiseCodegen.load(node.input(0).dtype(), "in0[base + NAME_offset(r)]");
        return generate(node, node.op().printName(), "", inputs, outputs, load);
    }

    /**
     * The kernel of a fused group that ends in a reduction: parameters (the group's inputs, the
     * reduction's output, the stored members).
     *
     * @throws IllegalArgumentException for a group without a reduction, or one {@link #supports} refuses
     */
    public static GeneratedKernel generate(FusedGroup group) {
        Node reduce = group.root();
        if (!group.reduction() || !supports(reduce)) {
            throw new IllegalArgumentException("no CUDA fused reduction code for " + group.name() + ": expected elementwise members"
                    + " ending in reduce_sum, reduce_max or reduce_min of f32, f16 or bf16 into the same type or f32");
        }
        List<Value> inputs = group.inputs();
        List<Value> outputs = group.outputs();
        String params = KernelText.params(inputs, outputs);
        Map<Value, String> registers = new IdentityHashMap<>();
        String statements = ElementwiseCodegen.statements(group.elementwise(), inputs, group.storedMembers(), 1, group.domain(), registers);
        String value = "FR_FN float NAME_value(long long i, " + params + ") {\n" + statements
                + "  return " + registers.get(reduce.input(0)) + ";\n}\n\n";
        String load = "NAME_value(base + NAME_offset(r), " + KernelText.args(inputs.size(), outputs.size()) + ")";
        return generate(reduce, ElementwiseCodegen.baseName(group.members()), value, inputs, outputs, load);
    }

    /**
     * The reduction kernel of {@code node} over {@code inputs} into {@code outputs} (the first is
     * the reduction's), the element r of output o read by {@code load} (in terms of {@code base}
     * and {@code r}), after the functions of {@code prologue}.
     */
    private static GeneratedKernel generate(Node node, String prefix, String prologue, List<Value> inputs, List<Value> outputs, String load) {
        Shape inShape = node.input(0).shape();
        int[] dims = inShape.dims();
        boolean[] reduced = new boolean[dims.length];
        for (int axis : node.attrs(OpAttrs.Reduce.class).axes()) {
            reduced[axis] = true;
        }
        long[] strides = KernelText.strides(dims);
        long outputCount = node.output().shape().numel();
        long count = inShape.numel() / Math.max(1, outputCount);
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
        StringBuilder b = new StringBuilder(prologue);
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
        String params = KernelText.params(inputs, outputs);
        String args = KernelText.args(inputs.size(), outputs.size());
        // one thread's strided share
        b.append("FR_FN float NAME_partial(long long o, int t, ").append(params).append(") {\n")
                .append("  const long long base = NAME_base(o);\n")
                .append("  float acc = ").append(identity).append(";\n")
                .append("  for (long long r = t; r < ").append(count).append("LL; r += ").append(THREADS).append(") acc = NAME_combine(acc, ")
                .append(load).append(");\n")
                .append("  return acc;\n}\n\n");
        // the host's replay of the block: the same partials combined by the same tree
        b.append("FR_FN void NAME_element(long long o, ").append(params).append(") {\n")
                .append("  float part[").append(THREADS).append("];\n")
                .append("  for (int t = 0; t < ").append(THREADS).append("; t++) part[t] = NAME_partial(o, t, ").append(args).append(");\n")
                .append("  for (int stride = ").append(THREADS / 2).append("; stride > 0; stride >>= 1)\n")
                .append("    for (int t = 0; t < stride; t++) part[t] = NAME_combine(part[t], part[t + stride]);\n")
                .append("  out0[o] = ").append(ElementwiseCodegen.store(outType, "part[0]")).append(";\n}\n\n");
        b.append("extern \"C\" __global__ void __launch_bounds__(").append(THREADS).append(") NAME(").append(params).append(") {\n")
                .append("  __shared__ float part[").append(THREADS).append("];\n")
                .append("  const int t = threadIdx.x;\n")
                .append("  for (long long o = blockIdx.x; o < ").append(outputCount).append("LL; o += gridDim.x) {\n")
                .append("    part[t] = NAME_partial(o, t, ").append(args).append(");\n")
                .append("    for (int stride = ").append(THREADS / 2).append("; stride > 0; stride >>= 1) {\n")
                .append("      __syncthreads();\n")
                .append("      if (t < stride) part[t] = NAME_combine(part[t], part[t + stride]);\n")
                .append("    }\n")
                .append("    if (t == 0) out0[o] = ").append(ElementwiseCodegen.store(outType, "part[0]")).append(";\n")
                .append("    __syncthreads();\n")
                .append("  }\n}\n");
        String template = b.toString();
        return KernelText.named(prefix, template, inputs, outputs, outputCount, THREADS);
    }
}
