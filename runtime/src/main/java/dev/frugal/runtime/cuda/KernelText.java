package dev.frugal.runtime.cuda;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Value;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * The pieces of CUDA C the generators share: the per-item kernel shape (a host-callable
 * {@code NAME_element} function and the {@code __global__} grid-stride loop that calls it), the
 * pointer parameters, the coordinates of an output element, strides, exact float literals, and
 * the naming of a kernel by a hash of its text. {@code NAME} stands for the kernel's name until
 * {@link #named} fills it in.
 */
final class KernelText {
    private KernelText() {
    }

    /**
     * A kernel whose work items are independent: {@code body} computes item {@code i} in the
     * {@code __host__ __device__} function {@code NAME_element(i, params)}, and the kernel runs it in a
     * grid-stride loop over {@code items}, so any grid covers them.
     */
    static String perItem(String params, String args, String body, long items) {
        return "FR_FN void NAME_element(long long i, " + params + ") {\n" + body + "}\n\n"
                + "extern \"C\" __global__ void NAME(" + params + ") {\n"
                + "  const long long n = " + items + "LL;\n"
                + "  for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {\n"
                + "    NAME_element(i, " + args + ");\n"
                + "  }\n"
                + "}\n";
    }

    /** The pointer parameters {@code const T* __restrict__ in0, ..., U* __restrict__ out0, ...}. */
    static String params(List<Value> inputs, List<Value> outputs) {
        StringJoiner p = new StringJoiner(", ");
        for (int k = 0; k < inputs.size(); k++) {
            p.add("const " + ElementwiseCodegen.cType(inputs.get(k).dtype()) + "* __restrict__ in" + k);
        }
        for (int k = 0; k < outputs.size(); k++) {
            p.add(ElementwiseCodegen.cType(outputs.get(k).dtype()) + "* __restrict__ out" + k);
        }
        return p.toString();
    }

    /** The arguments {@code in0, ..., out0, ...} that pass {@link #params} on. */
    static String args(int inputs, int outputs) {
        StringJoiner a = new StringJoiner(", ");
        for (int k = 0; k < inputs; k++) {
            a.add("in" + k);
        }
        for (int k = 0; k < outputs; k++) {
            a.add("out" + k);
        }
        return a.toString();
    }

    /** A node's inputs without repeats, in first-use order: one pointer parameter each. */
    static List<Value> distinctInputs(Node node) {
        List<Value> inputs = new ArrayList<>();
        for (Value v : node.inputs()) {
            if (!inputs.contains(v)) {
                inputs.add(v);
            }
        }
        return inputs;
    }

    /** The statements that set {@code c0, c1, ...}, the coordinates of element {@code i} of an array of {@code dims}. */
    static String coordinates(int[] dims) {
        StringBuilder b = new StringBuilder("  long long rest = i;\n");
        for (int axis = dims.length - 1; axis >= 0; axis--) {
            b.append("  const long long c").append(axis).append(" = rest % ").append(dims[axis]).append("LL; rest /= ").append(dims[axis])
                    .append("LL;\n");
        }
        b.append("  (void) rest;\n");
        return b.toString();
    }

    /** The offset into a contiguous array of {@code in} broadcast (NumPy rules, aligned right) to output coordinates {@code c*}. */
    static String broadcastOffset(Shape in, int[] outDims) {
        int[] inDims = in.dims();
        int shift = outDims.length - inDims.length;
        StringJoiner terms = new StringJoiner(" + ");
        long stride = 1;
        for (int axis = inDims.length - 1; axis >= 0; axis--) {
            if (inDims[axis] != 1) {
                terms.add(stride == 1 ? "c" + (axis + shift) : "c" + (axis + shift) + " * " + stride + "LL");
            }
            stride *= inDims[axis];
        }
        return terms.length() == 0 ? "0" : terms.toString();
    }

    /** The strides, in elements, of a contiguous array of {@code dims}. */
    static long[] strides(int[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /** {@code f} as an exact C literal: hexadecimal, or the bits of a NaN or an infinity. */
    static String floatLiteral(float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            return "FR_FROM_BITS(0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + "u)";
        }
        return Float.toHexString(f) + "f";
    }

    /**
     * The kernel of {@code template}, named {@code prefix_HASH} after the template's text (so the same
     * kernel always gets the same name and the on-disk cache hits), {@code NAME} replaced by it.
     */
    static GeneratedKernel named(String prefix, String template, List<Value> inputs, List<Value> outputs, long items) {
        return named(prefix, template, inputs, outputs, items, 0);
    }

    /** As {@link #named(String, String, List, List, long)} for a kernel that runs one block of {@code blockThreads} threads per item. */
    static GeneratedKernel named(String prefix, String template, List<Value> inputs, List<Value> outputs, long items, int blockThreads) {
        String name = prefix + "_" + hash(template);
        return new GeneratedKernel(name, template.replace("NAME", name), inputs, outputs, items, blockThreads);
    }

    /** The first 12 hexadecimal digits of the text's SHA-256. */
    static String hash(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6).toLowerCase(Locale.ROOT);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
