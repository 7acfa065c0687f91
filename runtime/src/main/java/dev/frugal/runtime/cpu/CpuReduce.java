package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.cpu.kernels.LaneSums;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.exec.NonFiniteException;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reductions (sum, max, min over any set of axes) and argmax (one axis).
 *
 * <p>The input's axes are grouped into runs of kept and reduced axes (size-1 axes dropped,
 * neighbours merged). When the reduced axes form one run, which is nearly always (a softmax
 * row, a bias gradient over the batch, a channel statistic), the input is an [A, R, K] array and
 * the output is [A, K]: with K == 1 each output is a contiguous row reduction (float32 on the
 * Vector API), otherwise rows of K are combined elementwise (also vectorised). Other patterns use
 * a general odometer loop, except [A, R1, K, R2] (a channel statistic of an NCHW batch), which
 * reduces each of its R1 rows of R2 contiguous elements on the Vector API and combines the rows in
 * order. Work is split over outputs; a few long rows (a full sum) are split
 * along R into a fixed number of partials that are combined in a fixed order, so results depend
 * neither on scheduling nor on the number of threads.
 *
 * <p>Accumulation: float32 sums accumulate in float32 lanes (as a GPU does); every other
 * floating type accumulates in double and rounds once on store; integers accumulate in long.
 * With the non-finite check on, a NaN or infinite result throws {@link NonFiniteException}.
 *
 * <p>Dtypes: the output has the input's dtype (ARGMAX: I64), except that a sum, max or min of an
 * F16/BF16 input may have an F32 output (what mixed precision makes of a sum: the half values
 * read as they are, the reduction in float32, no widened copy of the input and no rounding to
 * half). Such a reduction runs the F32 code on the input widened element by element as it is
 * read (exactly), with the same operations in the same order, so its result is bit-identical to
 * the F32 reduction of {@code CAST(x, F32)} of the same shape.
 */
final class CpuReduce {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final int GRAIN = 1 << 14;
    /** Reductions with fewer output rows than this split each long row into partials. */
    static final int SPLIT_ROWS = 8;
    /** Partials per split row: enough to keep 8 threads busy, fixed so the summation order is too. */
    static final int SPLIT_PARTS = 16;
    /** Floats of a half row widened at a time for a float32 reduction (a multiple of any vector length). */
    private static final int WIDEN_BLOCK = 512;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    private CpuReduce() {
    }

    static Kernel prepare(Node node, int[] in, int out, boolean checkNonFinite) {
        Op op = node.op();
        DType t = node.input(0).dtype();
        DType ot = node.output().dtype();
        if (op == Op.ARGMAX ? ot != DType.I64 : ot != t && !(CpuHalf.isHalf(t) && ot == DType.F32)) {
            String allowed = op == Op.ARGMAX ? "I64" : CpuHalf.isHalf(t) ? t + " or F32" : t.toString();
            throw new UnsupportedOperationException(op.printName() + ": the cpu backend reduces " + t + " to " + allowed
                    + ", not to " + ot + ", in " + node);
        }
        final int inSlot = in[0];
        final String where = node.toString();
        final boolean check = checkNonFinite && t.isFloating() && op != Op.ARGMAX;
        final long outCount = node.output().shape().numel();
        long[] ark = arkShape(node);
        if (ark != null) {
            return arkKernel(op, t, ot, inSlot, out, ark[0], ark[1], ark[2], check, where, outCount);
        }
        long[] channel = op == Op.ARGMAX ? null : channelShape(node);
        if (channel != null) {
            return channelKernel(op, t, ot, inSlot, out, channel[0], channel[1], channel[2], channel[3], check, where, outCount);
        }
        int[] dims = node.input(0).shape().dims();
        int[] axes = node.attrs(OpAttrs.Reduce.class).axes();
        return generalKernel(op, t, ot, inSlot, out, dims, axes, check, where, outCount);
    }

    /**
     * The input's axes grouped into runs of kept and reduced axes (size-1 axes dropped,
     * neighbours merged): each run {size, 1 if reduced else 0}.
     */
    private static List<long[]> runs(Node node) {
        int[] dims = node.input(0).shape().dims();
        int[] axes = node.attrs(OpAttrs.Reduce.class).axes();
        List<long[]> runs = new ArrayList<>();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == 1) {
                continue;
            }
            boolean red = Arrays.binarySearch(axes, i) >= 0;
            if (!runs.isEmpty() && (runs.getLast()[1] == 1) == red) {
                runs.getLast()[0] *= dims[i];
            } else {
                runs.add(new long[] {dims[i], red ? 1 : 0});
            }
        }
        return runs;
    }

    /**
     * {A, R, K} when the reduction is of an [A, R, K] array over R (at most one run of reduced
     * axes, or an empty input), else null.
     */
    static long[] arkShape(Node node) {
        List<long[]> runs = runs(node);
        long total = node.input(0).shape().numel();
        int reducedRuns = 0;
        for (long[] r : runs) {
            reducedRuns += (int) r[1];
        }
        if (total != 0 && reducedRuns > 1) {
            return null;
        }
        if (total == 0) {
            return new long[] {node.output().shape().numel(), 0, 1};
        }
        long a = 1;
        long r = 1;
        long k = 1;
        boolean seenReduced = false;
        for (long[] run : runs) {
            if (run[1] == 1) {
                r = run[0];
                seenReduced = true;
            } else if (seenReduced) {
                k *= run[0];
            } else {
                a *= run[0];
            }
        }
        return new long[] {a, r, k};
    }

    /**
     * {A, R1, K, R2} when the reduction is of an [A, R1, K, R2] array over R1 and R2 (a
     * per-channel statistic over NCHW, as batch norm takes: N and H*W reduced), else null.
     */
    static long[] channelShape(Node node) {
        List<long[]> runs = runs(node);
        int reducedRuns = 0;
        for (long[] r : runs) {
            reducedRuns += (int) r[1];
        }
        if (node.input(0).shape().numel() == 0 || reducedRuns != 2 || runs.getLast()[1] != 1 || runs.size() > 4) {
            return null;
        }
        boolean leadingKept = runs.size() == 4;
        long a = leadingKept ? runs.get(0)[0] : 1;
        int first = leadingKept ? 1 : 0;
        return new long[] {a, runs.get(first)[0], runs.get(first + 1)[0], runs.get(first + 2)[0]};
    }

    // ------------------------------------------------------------------ [A, R, K]

    /** Whether a reduction of {@code t} into {@code ot} reads half values into float32 ({@link #rowWidened}). */
    private static boolean widens(DType t, DType ot) {
        return ot == DType.F32 && CpuHalf.isHalf(t);
    }

    /** Scratch for {@link #rowWidened} and {@link #columnsWidened}: one per task, when the reduction widens. */
    private static float[] widenBuffer(DType t, DType ot) {
        return widens(t, ot) ? new float[WIDEN_BLOCK] : null;
    }

    private static Kernel arkKernel(Op op, DType t, DType ot, int inSlot, int outSlot, long a, long r, long k, boolean check, String where, long outCount) {
        // Full-ish reductions: few long rows are split along R into partials. The split depends on
        // the shape only, never on the thread count, so results are the same on any machine.
        int parts = (k == 1 && a < SPLIT_ROWS && r >= 4L * GRAIN && op != Op.ARGMAX) ? SPLIT_PARTS : 1;
        double[] partials = parts > 1 ? new double[(int) a * parts] : null;
        long[] partialsLong = parts > 1 ? new long[(int) a * parts] : null;
        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment x = CpuElements.seg(b, inSlot);
                MemorySegment y = CpuElements.seg(b, outSlot);
                if (parts > 1) {
                    CpuParallel.parallelFor(0, (int) a * parts, 1, (from, to) -> {
                        float[] buf = widenBuffer(t, ot);
                        for (int task = from; task < to; task++) {
                            long ai = task / parts;
                            int p = task % parts;
                            long r0 = r * p / parts;
                            long r1 = r * (p + 1) / parts;
                            long base = ai * r;
                            if (t.isFloating()) {
                                partials[task] = rowDouble(op, t, ot, x, base + r0, r1 - r0, buf);
                            } else {
                                partialsLong[task] = rowLong(op, t, x, base + r0, r1 - r0);
                            }
                        }
                    });
                    for (int ai = 0; ai < a; ai++) {
                        if (t.isFloating()) {
                            double acc = partials[ai * parts];
                            for (int p = 1; p < parts; p++) {
                                acc = combine(op, acc, partials[ai * parts + p]);
                            }
                            CpuElements.store(y, ot, ai, acc);
                        } else {
                            long acc = partialsLong[ai * parts];
                            for (int p = 1; p < parts; p++) {
                                acc = combineLong(op, acc, partialsLong[ai * parts + p]);
                            }
                            CpuElements.storeLong(y, t, ai, acc);
                        }
                    }
                } else if (k == 1) {
                    int grain = (int) Math.max(1, GRAIN / Math.max(1, r));
                    CpuParallel.parallelFor(0, (int) a, grain, (from, to) -> {
                        float[] buf = widenBuffer(t, ot);
                        for (int ai = from; ai < to; ai++) {
                            if (op == Op.ARGMAX) {
                                y.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, ai, argmax(t, x, ai * r, 1, r));
                            } else if (t.isFloating()) {
                                CpuElements.store(y, ot, ai, rowDouble(op, t, ot, x, ai * r, r, buf));
                            } else {
                                CpuElements.storeLong(y, t, ai, rowLong(op, t, x, ai * r, r));
                            }
                        }
                    });
                } else {
                    // Blocks of up to 256 columns of one [R, K] slab per task.
                    int kBlocks = (int) ((k + 255) / 256);
                    int grain = (int) Math.max(1, GRAIN / Math.max(1, r * 256));
                    CpuParallel.parallelFor(0, (int) a * kBlocks, grain, (from, to) -> {
                        float[] buf = widenBuffer(t, ot);
                        for (int task = from; task < to; task++) {
                            long ai = task / kBlocks;
                            long k0 = (task % kBlocks) * 256L;
                            int kn = (int) Math.min(256, k - k0);
                            columns(op, t, ot, x, ai * r * k + k0, r, k, y, ai * k + k0, kn, buf);
                        }
                    });
                }
                if (check) {
                    checkFinite(op, t, ot, x, y, outCount, a * r * k, where);
                }
            }
        };
    }

    // ------------------------------------------------------------------ [A, R1, K, R2]

    /**
     * Reduces an [A, R1, K, R2] array over R1 and R2 to [A, K]: each output is R1 contiguous rows
     * of R2 elements, each row reduced on the Vector API (as {@link #rowDouble}) and the row
     * results combined in R1 order in double (floating types) or long (integers), so the order,
     * and with it the result, depends only on the shape. Parallel over outputs.
     */
    private static Kernel channelKernel(Op op, DType t, DType ot, int inSlot, int outSlot, long a, long r1, long k, long r2,
                                        boolean check, String where, long outCount) {
        long outputs = a * k;
        int grain = (int) Math.max(1, GRAIN / Math.max(1, r1 * r2));
        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment x = CpuElements.seg(b, inSlot);
                MemorySegment y = CpuElements.seg(b, outSlot);
                CpuParallel.parallelFor(0, (int) outputs, grain, (from, to) -> {
                    float[] buf = widenBuffer(t, ot);
                    for (int o = from; o < to; o++) {
                        long ai = o / k;
                        long ki = o % k;
                        long rowStart = (ai * r1 * k + ki) * r2;
                        long rowStep = k * r2;
                        if (t.isFloating()) {
                            double acc = rowDouble(op, t, ot, x, rowStart, r2, buf);
                            for (long ri = 1; ri < r1; ri++) {
                                acc = combine(op, acc, rowDouble(op, t, ot, x, rowStart + ri * rowStep, r2, buf));
                            }
                            CpuElements.store(y, ot, o, acc);
                        } else {
                            long acc = rowLong(op, t, x, rowStart, r2);
                            for (long ri = 1; ri < r1; ri++) {
                                acc = combineLong(op, acc, rowLong(op, t, x, rowStart + ri * rowStep, r2));
                            }
                            CpuElements.storeLong(y, t, o, acc);
                        }
                    }
                });
                if (check) {
                    checkFinite(op, t, ot, x, y, outCount, a * r1 * k * r2, where);
                }
            }
        };
    }

    /**
     * Reduces {@code n} contiguous elements starting at element {@code from}, for an output of
     * {@code ot}; {@code buf} is the task's {@link #widenBuffer}.
     */
    private static double rowDouble(Op op, DType t, DType ot, MemorySegment x, long from, long n, float[] buf) {
        if (t == DType.F32) {
            return rowF32(op, x, from, n);
        }
        if (widens(t, ot)) {
            return rowWidened(op, t, x, from, n, buf);
        }
        double acc = op == Op.REDUCE_SUM ? 0.0 : CpuElements.load(x, t, from);
        for (long i = op == Op.REDUCE_SUM ? 0 : 1; i < n; i++) {
            acc = combine(op, acc, CpuElements.load(x, t, from + i));
        }
        return acc;
    }

    private static double rowF32(Op op, MemorySegment x, long from, long n) {
        if (n == 0) {
            return 0;
        }
        long i = 0;
        long base = from * 4;
        float acc;
        if (n >= VL) {
            FloatVector v = FloatVector.fromMemorySegment(FS, x, base, NATIVE);
            long upper = n - n % VL;
            switch (op) {
                case REDUCE_SUM -> {
                    for (i = VL; i < upper; i += VL) {
                        v = v.add(FloatVector.fromMemorySegment(FS, x, base + i * 4, NATIVE));
                    }
                    acc = LaneSums.sum(v);
                }
                case REDUCE_MAX -> {
                    for (i = VL; i < upper; i += VL) {
                        v = v.max(FloatVector.fromMemorySegment(FS, x, base + i * 4, NATIVE));
                    }
                    acc = v.reduceLanes(VectorOperators.MAX);
                }
                default -> {
                    for (i = VL; i < upper; i += VL) {
                        v = v.min(FloatVector.fromMemorySegment(FS, x, base + i * 4, NATIVE));
                    }
                    acc = v.reduceLanes(VectorOperators.MIN);
                }
            }
        } else {
            acc = op == Op.REDUCE_SUM ? 0f : x.getAtIndex(F, from);
        }
        for (; i < n; i++) {
            acc = (float) combine(op, acc, x.getAtIndex(F, from + i));
        }
        return acc;
    }

    /**
     * {@link #rowF32} of F16/BF16 elements, widened exactly into {@code buf} a block at a time:
     * the same vector accumulator over the same whole vectors, the same lane reduction and the
     * same scalar tail, so the result is rowF32's on a float32 copy of the row, bit for bit.
     */
    private static double rowWidened(Op op, DType t, MemorySegment x, long from, long n, float[] buf) {
        if (n == 0) {
            return 0;
        }
        long i = 0;
        float acc;
        if (n >= VL) {
            long upper = n - n % VL;
            int len = (int) Math.min(buf.length, upper);
            CpuHalf.widen(t, x, from, buf, len);
            FloatVector v = FloatVector.fromArray(FS, buf, 0);
            int j = VL;
            while (true) {
                for (; j < len; j += VL) {
                    FloatVector u = FloatVector.fromArray(FS, buf, j);
                    v = switch (op) {
                        case REDUCE_SUM -> v.add(u);
                        case REDUCE_MAX -> v.max(u);
                        default -> v.min(u);
                    };
                }
                i += len;
                if (i >= upper) {
                    break;
                }
                len = (int) Math.min(buf.length, upper - i);
                CpuHalf.widen(t, x, from + i, buf, len);
                j = 0;
            }
            acc = switch (op) {
                case REDUCE_SUM -> LaneSums.sum(v);
                case REDUCE_MAX -> v.reduceLanes(VectorOperators.MAX);
                default -> v.reduceLanes(VectorOperators.MIN);
            };
        } else {
            acc = op == Op.REDUCE_SUM ? 0f : CpuHalf.toFloat(t, x.getAtIndex(S, from));
        }
        for (; i < n; i++) {
            acc = (float) combine(op, acc, CpuHalf.toFloat(t, x.getAtIndex(S, from + i)));
        }
        return acc;
    }

    private static long rowLong(Op op, DType t, MemorySegment x, long from, long n) {
        long acc = op == Op.REDUCE_SUM ? 0 : CpuElements.loadLong(x, t, from);
        for (long i = op == Op.REDUCE_SUM ? 0 : 1; i < n; i++) {
            acc = combineLong(op, acc, CpuElements.loadLong(x, t, from + i));
        }
        return acc;
    }

    /** y[j] = reduce over r of x[from + r*k + j], for j < kn (one block of columns); {@code buf} is the task's {@link #widenBuffer}. */
    private static void columns(Op op, DType t, DType ot, MemorySegment x, long from, long r, long k, MemorySegment y, long yFrom, int kn,
                                float[] buf) {
        if (op == Op.ARGMAX) {
            for (int j = 0; j < kn; j++) {
                y.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, yFrom + j, argmax(t, x, from + j, k, r));
            }
            return;
        }
        if (t == DType.F32 && r > 0) {
            // Accumulate straight into the output row: it is ours alone.
            MemorySegment.copy(x, F, from * 4, y, F, yFrom * 4, kn);
            int upper = FS.loopBound(kn);
            for (long ri = 1; ri < r; ri++) {
                long src = (from + ri * k) * 4;
                int j = 0;
                for (; j < upper; j += VL) {
                    FloatVector acc = FloatVector.fromMemorySegment(FS, y, (yFrom + j) * 4, NATIVE);
                    FloatVector v = FloatVector.fromMemorySegment(FS, x, src + j * 4L, NATIVE);
                    acc = switch (op) {
                        case REDUCE_SUM -> acc.add(v);
                        case REDUCE_MAX -> acc.max(v);
                        default -> acc.min(v);
                    };
                    acc.intoMemorySegment(y, (yFrom + j) * 4, NATIVE);
                }
                for (; j < kn; j++) {
                    float cur = y.getAtIndex(F, yFrom + j);
                    y.setAtIndex(F, yFrom + j, (float) combine(op, cur, x.getAtIndex(F, from + ri * k + j)));
                }
            }
            return;
        }
        if (widens(t, ot) && r > 0) {
            columnsWidened(op, t, x, from, r, k, y, yFrom, kn, buf);
            return;
        }
        for (int j = 0; j < kn; j++) {
            if (t.isFloating()) {
                double acc = op == Op.REDUCE_SUM ? 0.0 : CpuElements.load(x, t, from + j);
                for (long ri = op == Op.REDUCE_SUM ? 0 : 1; ri < r; ri++) {
                    acc = combine(op, acc, CpuElements.load(x, t, from + ri * k + j));
                }
                CpuElements.store(y, ot, yFrom + j, acc);
            } else {
                long acc = op == Op.REDUCE_SUM ? 0 : CpuElements.loadLong(x, t, from + j);
                for (long ri = op == Op.REDUCE_SUM ? 0 : 1; ri < r; ri++) {
                    acc = combineLong(op, acc, CpuElements.loadLong(x, t, from + ri * k + j));
                }
                CpuElements.storeLong(y, t, yFrom + j, acc);
            }
        }
    }

    /**
     * The float32 column path of {@link #columns} for F16/BF16 rows, each widened exactly into
     * {@code buf} (kn <= 256 floats) first: the same float32 operations on the same values in the
     * same row order, so the same bits as the F32 path on a float32 copy.
     */
    private static void columnsWidened(Op op, DType t, MemorySegment x, long from, long r, long k, MemorySegment y, long yFrom, int kn,
                                       float[] buf) {
        CpuHalf.widen(t, x, from, buf, kn);
        MemorySegment.copy(buf, 0, y, F, yFrom * 4, kn);
        int upper = FS.loopBound(kn);
        for (long ri = 1; ri < r; ri++) {
            CpuHalf.widen(t, x, from + ri * k, buf, kn);
            int j = 0;
            for (; j < upper; j += VL) {
                FloatVector acc = FloatVector.fromMemorySegment(FS, y, (yFrom + j) * 4, NATIVE);
                FloatVector v = FloatVector.fromArray(FS, buf, j);
                acc = switch (op) {
                    case REDUCE_SUM -> acc.add(v);
                    case REDUCE_MAX -> acc.max(v);
                    default -> acc.min(v);
                };
                acc.intoMemorySegment(y, (yFrom + j) * 4, NATIVE);
            }
            for (; j < kn; j++) {
                float cur = y.getAtIndex(F, yFrom + j);
                y.setAtIndex(F, yFrom + j, (float) combine(op, cur, buf[j]));
            }
        }
    }

    /** Index of the first maximum of {@code n} elements at {@code from}, {@code from+step}, ...; a NaN counts as the maximum. */
    private static long argmax(DType t, MemorySegment x, long from, long step, long n) {
        long best = 0;
        if (t.isFloating()) {
            double bv = CpuElements.load(x, t, from);
            if (Double.isNaN(bv)) {
                return 0;
            }
            for (long i = 1; i < n; i++) {
                double v = CpuElements.load(x, t, from + i * step);
                if (Double.isNaN(v)) {
                    return i;
                }
                if (v > bv) {
                    bv = v;
                    best = i;
                }
            }
        } else {
            long bv = CpuElements.loadLong(x, t, from);
            for (long i = 1; i < n; i++) {
                long v = CpuElements.loadLong(x, t, from + i * step);
                if (v > bv) {
                    bv = v;
                    best = i;
                }
            }
        }
        return best;
    }

    static double combine(Op op, double acc, double v) {
        return switch (op) {
            case REDUCE_SUM -> acc + v;
            case REDUCE_MAX -> Math.max(acc, v);
            default -> Math.min(acc, v);
        };
    }

    private static long combineLong(Op op, long acc, long v) {
        return switch (op) {
            case REDUCE_SUM -> acc + v;
            case REDUCE_MAX -> Math.max(acc, v);
            default -> Math.min(acc, v);
        };
    }

    // ------------------------------------------------------------------ general pattern

    /**
     * Any other pattern: an odometer over the reduced axes per output, accumulating in double
     * (also for F32, and for a half input with an F32 output, whose widened values are exact in
     * double: the same sums as the F32 path on a float32 copy).
     */
    private static Kernel generalKernel(Op op, DType t, DType ot, int inSlot, int outSlot, int[] dims, int[] axes, boolean check, String where,
                                        long outCount) {
        long[] strides = StridedLayout.contiguous(dims);
        int nk = dims.length - axes.length;
        int[] keptDims = new int[nk];
        long[] keptStrides = new long[nk];
        int[] redDims = new int[axes.length];
        long[] redStrides = new long[axes.length];
        long redCount = 1;
        for (int i = 0, ki = 0, ri = 0; i < dims.length; i++) {
            if (Arrays.binarySearch(axes, i) >= 0) {
                redDims[ri] = dims[i];
                redStrides[ri++] = strides[i];
                redCount *= dims[i];
            } else {
                keptDims[ki] = dims[i];
                keptStrides[ki++] = strides[i];
            }
        }
        final long rc = redCount;
        long total = 1;
        for (int d : dims) {
            total *= d;
        }
        final long inCount = total;
        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment x = CpuElements.seg(b, inSlot);
                MemorySegment y = CpuElements.seg(b, outSlot);
                int grain = (int) Math.max(1, GRAIN / Math.max(1, rc));
                CpuParallel.parallelFor(0, (int) outCount, grain, (from, to) -> {
                    int[] idx = new int[redDims.length];
                    for (int o = from; o < to; o++) {
                        long base = 0;
                        long rem = o;
                        for (int d = nk - 1; d >= 0; d--) {
                            base += (rem % keptDims[d]) * keptStrides[d];
                            rem /= keptDims[d];
                        }
                        Arrays.fill(idx, 0);
                        double acc = 0;
                        long accL = 0;
                        for (long e = 0; e < rc; e++) {
                            long off = base;
                            for (int d = 0; d < idx.length; d++) {
                                off += idx[d] * redStrides[d];
                            }
                            if (t.isFloating()) {
                                double v = CpuElements.load(x, t, off);
                                acc = e == 0 && op != Op.REDUCE_SUM ? v : combine(op, acc, v);
                            } else {
                                long v = CpuElements.loadLong(x, t, off);
                                accL = e == 0 && op != Op.REDUCE_SUM ? v : combineLong(op, accL, v);
                            }
                            for (int d = idx.length - 1; d >= 0; d--) {
                                if (++idx[d] < redDims[d]) {
                                    break;
                                }
                                idx[d] = 0;
                            }
                        }
                        if (t.isFloating()) {
                            CpuElements.store(y, ot, o, acc);
                        } else {
                            CpuElements.storeLong(y, t, o, accL);
                        }
                    }
                });
                if (check) {
                    checkFinite(op, t, ot, x, y, outCount, inCount, where);
                }
            }
        };
    }

    // ------------------------------------------------------------------ non-finite check

    private static void checkFinite(Op op, DType t, DType ot, MemorySegment x, MemorySegment y, long outCount, long inCount, String where) {
        for (long i = 0; i < outCount; i++) {
            double v = CpuElements.load(y, ot, i);
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                long bad = -1;
                for (long j = 0; j < inCount; j++) {
                    double u = CpuElements.load(x, t, j);
                    if (Double.isNaN(u) || Double.isInfinite(u)) {
                        bad = j;
                        break;
                    }
                }
                throw new NonFiniteException(op, where, i, v, bad);
            }
        }
    }
}
