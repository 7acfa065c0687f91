package dev.frugal.runtime.cpu;

/**
 * The iteration space of a kernel over several strided operands (one output and its inputs),
 * simplified for fast loops: size-1 dimensions are dropped and neighbouring dimensions that every
 * operand walks contiguously are merged, so the common cases become one long inner row (same
 * shapes), rows with a broadcast scalar, or rows of a broadcast bias. Kernels loop over
 * {@link #rows()} rows of {@link #inner()} elements; {@link #rowOffsets} gives each operand's
 * element offset at the start of a row, and {@link #innerStride} its step within the row.
 */
final class StridedLayout {
    private final int[] dims;       // coalesced, outermost first; never empty
    private final long[][] strides; // [operand][dim]
    private final long[] base;      // per operand offset of element [0...0]

    private StridedLayout(int[] dims, long[][] strides, long[] base) {
        this.dims = dims;
        this.strides = strides;
        this.base = base;
    }

    /**
     * @param dims    the logical shape iterated (the output's)
     * @param base    each operand's element offset of position [0,...,0]
     * @param strides each operand's element strides over {@code dims} (0 for broadcast axes)
     */
    static StridedLayout of(int[] dims, long[] base, long[]... strides) {
        int ops = strides.length;
        int[] d = new int[dims.length];
        long[][] s = new long[ops][dims.length];
        int r = 0;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == 1) {
                continue; // any stride works for a size-1 axis: drop it
            }
            if (r > 0) {
                boolean merge = true;
                for (int j = 0; j < ops; j++) {
                    merge &= s[j][r - 1] == strides[j][i] * dims[i];
                }
                if (merge) {
                    d[r - 1] *= dims[i];
                    for (int j = 0; j < ops; j++) {
                        s[j][r - 1] = strides[j][i];
                    }
                    continue;
                }
            }
            d[r] = dims[i];
            for (int j = 0; j < ops; j++) {
                s[j][r] = strides[j][i];
            }
            r++;
        }
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == 0) {
                r = 1;
                d[0] = 0;
                break;
            }
        }
        if (r == 0) {
            return new StridedLayout(new int[] {1}, new long[ops][1], base.clone());
        }
        int[] dd = java.util.Arrays.copyOf(d, r);
        long[][] ss = new long[ops][];
        for (int j = 0; j < ops; j++) {
            ss[j] = java.util.Arrays.copyOf(s[j], r);
        }
        return new StridedLayout(dd, ss, base.clone());
    }

    /** Row-major contiguous strides for {@code dims}. */
    static long[] contiguous(int[] dims) {
        long[] st = new long[dims.length];
        long s = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= dims[i];
        }
        return st;
    }

    /** Strides of a contiguous array of shape {@code from} broadcast to {@code to} (NumPy rules). */
    static long[] broadcastStrides(int[] from, int[] to) {
        long[] own = contiguous(from);
        long[] st = new long[to.length];
        int lead = to.length - from.length;
        for (int i = lead; i < to.length; i++) {
            st[i] = from[i - lead] == 1 ? 0 : own[i - lead];
        }
        return st;
    }

    /** Elements per row. */
    int inner() {
        return dims[dims.length - 1];
    }

    /** Number of rows. */
    long rows() {
        long n = 1;
        for (int i = 0; i < dims.length - 1; i++) {
            n *= dims[i];
        }
        return dims[dims.length - 1] == 0 ? 0 : n;
    }

    /** Step of operand {@code op} within a row. */
    long innerStride(int op) {
        return strides[op][dims.length - 1];
    }

    /** Writes each operand's element offset at the start of row {@code row} into {@code out}. */
    void rowOffsets(long row, long[] out) {
        for (int j = 0; j < out.length; j++) {
            out[j] = base[j];
        }
        long rem = row;
        for (int d = dims.length - 2; d >= 0; d--) {
            long c = rem % dims[d];
            rem /= dims[d];
            for (int j = 0; j < out.length; j++) {
                out[j] += c * strides[j][d];
            }
        }
    }

    /** Number of operands. */
    int operands() {
        return base.length;
    }
}
