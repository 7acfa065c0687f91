package dev.frugal.runtime.cuda;

/**
 * The block-wide combination shared by the hand-fused row kernels ({@link CrossEntropyCodegen},
 * {@link LayerNormCodegen}): each of the {@link #THREADS} threads of a block computes a strided
 * float32 partial of one row, then a tree in shared memory combines them, in an order fixed by
 * {@link #THREADS} alone. The host form replays the same partials and the same tree in a loop, so
 * the host's {@code NAME_element} gives the device's bits.
 */
final class RowBlock {
    /** Threads per block the row kernels are written for. */
    static final int THREADS = 256;

    private RowBlock() {
    }

    /**
     * Statements that set {@code float result} to the block's combination of
     * {@code partial} (an expression of the thread index {@code t}) with {@code combine} (a
     * function of two floats), on the device (every thread gets the result) or on the host.
     */
    static String combine(String result, String partial, String combine, boolean device, String indent) {
        StringBuilder b = new StringBuilder();
        if (device) {
            b.append(indent).append("part[t] = ").append(partial).append(";\n")
                    .append(indent).append("for (int stride = ").append(THREADS / 2).append("; stride > 0; stride >>= 1) {\n")
                    .append(indent).append("  __syncthreads();\n")
                    .append(indent).append("  if (t < stride) part[t] = ").append(combine).append("(part[t], part[t + stride]);\n")
                    .append(indent).append("}\n")
                    .append(indent).append("__syncthreads();\n")
                    .append(indent).append("const float ").append(result).append(" = part[0];\n")
                    .append(indent).append("__syncthreads();\n");
        } else {
            b.append(indent).append("for (int t = 0; t < ").append(THREADS).append("; t++) part[t] = ").append(partial).append(";\n")
                    .append(indent).append("for (int stride = ").append(THREADS / 2).append("; stride > 0; stride >>= 1)\n")
                    .append(indent).append("  for (int t = 0; t < stride; t++) part[t] = ").append(combine).append("(part[t], part[t + stride]);\n")
                    .append(indent).append("const float ").append(result).append(" = part[0];\n");
        }
        return b.toString();
    }

    /** The two float combiners the row kernels use, as {@code __host__ __device__} functions. */
    static String combiners() {
        return "FR_FN float NAME_add(float a, float b) { return FR_ADD(a, b); }\n"
                + "FR_FN float NAME_max(float a, float b) { return fr_max(a, b); }\n\n";
    }
}
