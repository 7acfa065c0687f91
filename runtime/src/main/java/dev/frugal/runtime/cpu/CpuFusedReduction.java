package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.cpu.kernels.LaneSums;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.exec.NonFiniteException;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A fused group that ends in a reduction ({@link FusedGroup#reduction()}), on the CPU: the
 * reduction's loop asks the group's {@link CpuFusedElementwise.TileProgram} for the values it
 * would have loaded, a chunk at a time, so the reduced value is never stored; the members the
 * group must store are stored by the same pass, each element once.
 *
 * <p>The work is split and the values are combined exactly as {@link CpuReduce} splits and
 * combines a stored float32 input of the same shape: a row ([A, R] over R) in vector lanes,
 * whole vectors first, then the lane sum and the scalar tail; a long row into the same fixed
 * partials; columns ([A, R, K] over R) row after row; a channel statistic ([A, R1, K, R2] over
 * R1 and R2) row by row in double. The values are those the unfused members compute (the
 * tile program guarantees it), a half-precision value widened exactly as the unfused reduction
 * widens it on load, so fused and unfused reductions give the same bits.
 *
 * <p>Supported: sum, maximum and minimum into F32 of a float32 or half-precision value, over an
 * [A, R, K] or [A, R1, K, R2] pattern ({@link #supports}); other reductions stay unfused.
 */
final class CpuFusedReduction {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    /** Values evaluated at a time along a row: a multiple of every vector length, small enough for L1. */
    private static final int CHUNK = 2048;
    /** Columns per task of an [A, R, K] reduction, as {@link CpuReduce}'s column blocks. */
    private static final int COLUMNS = 256;

    private CpuFusedReduction() {
    }

    /** Whether the CPU runs {@code reduce} at the end of a fused group. */
    static boolean supports(Node reduce) {
        if (!FusedGroup.isReduction(reduce) || reduce.output().dtype() != DType.F32) {
            return false;
        }
        DType in = reduce.input(0).dtype();
        if (in != DType.F32 && !CpuHalf.isHalf(in)) {
            return false;
        }
        if (reduce.input(0).shape().numel() == 0 || reduce.input(0).shape().numel() > Integer.MAX_VALUE) {
            return false;
        }
        return CpuReduce.arkShape(reduce) != null || CpuReduce.channelShape(reduce) != null;
    }

    static Kernel prepare(FusedGroup group, int[] inputSlots, int[] outputSlots, boolean checkNonFinite) {
        Node reduce = group.root();
        if (!group.reduction() || !supports(reduce)) {
            throw new UnsupportedOperationException("cpu backend cannot fuse the reduction " + reduce + " (in " + group.name() + ")");
        }
        int[] storedSlots = Arrays.copyOfRange(outputSlots, 1, outputSlots.length);
        CpuFusedElementwise.TileProgram tiles = new CpuFusedElementwise.TileProgram(group.elementwise(), group.inputs(),
                group.storedMembers(), reduce.input(0), group.domain().dims(), group.name(), inputSlots, storedSlots);
        Op op = reduce.op();
        int outSlot = outputSlots[0];
        long outCount = reduce.output().shape().numel();
        long inCount = reduce.input(0).shape().numel();
        String where = reduce.toString();
        long[] ark = CpuReduce.arkShape(reduce);
        Body body = ark != null ? arkBody(op, ark[0], ark[1], ark[2]) : channelBody(op, CpuReduce.channelShape(reduce));
        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment[] in = tiles.inputs(b);
                MemorySegment[] stored = tiles.outputs(b);
                MemorySegment y = CpuElements.seg(b, outSlot);
                body.run(tiles, in, stored, y);
                if (checkNonFinite) {
                    check(op, tiles, in, stored, y, outCount, inCount, where);
                }
            }
        };
    }

    /** The reduction's loop over the values of one run. */
    private interface Body {
        void run(CpuFusedElementwise.TileProgram tiles, MemorySegment[] in, MemorySegment[] stored, MemorySegment y);
    }

    // ------------------------------------------------------------------ [A, R, K]

    private static Body arkBody(Op op, long a, long r, long k) {
        int parts = (k == 1 && a < CpuReduce.SPLIT_ROWS && r >= 4L * CpuReduce.GRAIN) ? CpuReduce.SPLIT_PARTS : 1;
        if (parts > 1) {
            // few long rows, split into the same fixed partials as CpuReduce, combined in order
            double[] partials = new double[(int) a * parts];
            return (tiles, in, stored, y) -> {
                CpuParallel.parallelFor(0, (int) a * parts, 1, (from, to) -> {
                    Row row = new Row(op, tiles.cursor(in, stored));
                    for (int task = from; task < to; task++) {
                        long ai = task / parts;
                        int p = task % parts;
                        long r0 = r * p / parts;
                        long r1 = r * (p + 1) / parts;
                        partials[task] = row.reduce(ai * r + r0, r1 - r0);
                    }
                });
                for (int ai = 0; ai < a; ai++) {
                    double acc = partials[ai * parts];
                    for (int p = 1; p < parts; p++) {
                        acc = CpuReduce.combine(op, acc, partials[ai * parts + p]);
                    }
                    y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, ai, (float) acc);
                }
            };
        }
        if (k == 1) {
            int grain = (int) Math.max(1, CpuReduce.GRAIN / Math.max(1, r));
            return (tiles, in, stored, y) -> CpuParallel.parallelFor(0, (int) a, grain, (from, to) -> {
                Row row = new Row(op, tiles.cursor(in, stored));
                for (int ai = from; ai < to; ai++) {
                    y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, ai, (float) row.reduce(ai * r, r));
                }
            });
        }
        int kBlocks = (int) ((k + COLUMNS - 1) / COLUMNS);
        int grain = (int) Math.max(1, CpuReduce.GRAIN / Math.max(1, r * COLUMNS));
        return (tiles, in, stored, y) -> CpuParallel.parallelFor(0, (int) a * kBlocks, grain, (from, to) -> {
            CpuFusedElementwise.TileProgram.Cursor cursor = tiles.cursor(in, stored);
            float[] acc = new float[COLUMNS];
            float[] values = new float[COLUMNS];
            for (int task = from; task < to; task++) {
                long ai = task / kBlocks;
                long k0 = (task % kBlocks) * (long) COLUMNS;
                int kn = (int) Math.min(COLUMNS, k - k0);
                columns(op, cursor, ai * r * k + k0, r, k, kn, acc, values);
                MemorySegment.copy(acc, 0, y, ValueLayout.JAVA_FLOAT_UNALIGNED, (ai * k + k0) * 4, kn);
            }
        });
    }

    /**
     * acc[j] = reduce over r of the value at {@code from + r*k + j}, for j < kn: the first row
     * copied, then each row combined in vector lanes and a scalar tail, as CpuReduce's float32
     * columns.
     */
    private static void columns(Op op, CpuFusedElementwise.TileProgram.Cursor cursor, long from, long r, long k, int kn,
                                float[] acc, float[] values) {
        cursor.evaluate(from, kn, acc, true);
        int upper = FS.loopBound(kn);
        for (long ri = 1; ri < r; ri++) {
            cursor.evaluate(from + ri * k, kn, values, true);
            int j = 0;
            for (; j < upper; j += VL) {
                FloatVector s = FloatVector.fromArray(FS, acc, j);
                FloatVector v = FloatVector.fromArray(FS, values, j);
                s = switch (op) {
                    case REDUCE_SUM -> s.add(v);
                    case REDUCE_MAX -> s.max(v);
                    default -> s.min(v);
                };
                s.intoArray(acc, j);
            }
            for (; j < kn; j++) {
                acc[j] = (float) CpuReduce.combine(op, acc[j], values[j]);
            }
        }
    }

    // ------------------------------------------------------------------ [A, R1, K, R2]

    private static Body channelBody(Op op, long[] shape) {
        long a = shape[0];
        long r1 = shape[1];
        long k = shape[2];
        long r2 = shape[3];
        long outputs = a * k;
        int grain = (int) Math.max(1, CpuReduce.GRAIN / Math.max(1, r1 * r2));
        return (tiles, in, stored, y) -> CpuParallel.parallelFor(0, (int) outputs, grain, (from, to) -> {
            Row row = new Row(op, tiles.cursor(in, stored));
            for (int o = from; o < to; o++) {
                long ai = o / k;
                long ki = o % k;
                long rowStart = (ai * r1 * k + ki) * r2;
                long rowStep = k * r2;
                double acc = row.reduce(rowStart, r2);
                for (long ri = 1; ri < r1; ri++) {
                    acc = CpuReduce.combine(op, acc, row.reduce(rowStart + ri * rowStep, r2));
                }
                y.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, o, (float) acc);
            }
        });
    }

    // ------------------------------------------------------------------ one contiguous row

    /**
     * CpuReduce's float32 row reduction over evaluated values, streamed in chunks of whole
     * vectors: one vector accumulator started from the first vector and combined with each
     * following whole vector in order, the lanes reduced, then the scalar tail. One per task.
     */
    private static final class Row {
        private final Op op;
        private final CpuFusedElementwise.TileProgram.Cursor cursor;
        private final float[] chunk = new float[CHUNK];

        Row(Op op, CpuFusedElementwise.TileProgram.Cursor cursor) {
            this.op = op;
            this.cursor = cursor;
        }

        /**
         * The reduction of the {@code n} values from flat index {@code from}, evaluated a chunk
         * at a time (once per row when it fits one chunk, as a channel statistic's rows do: a
         * separate evaluation of the scalar tail would run the group's program twice per row).
         */
        double reduce(long from, long n) {
            if (n == 0) {
                return 0;
            }
            if (n < VL) {
                cursor.evaluate(from, (int) n, chunk, true);
                float acc = op == Op.REDUCE_SUM ? 0f : chunk[0];
                for (int i = 0; i < n; i++) {
                    acc = (float) CpuReduce.combine(op, acc, chunk[i]);
                }
                return acc;
            }
            long upper = n - n % VL; // whole vectors, combined lane by lane before the scalar tail
            FloatVector v = null;
            float acc = 0;
            for (long c = 0; c < n; c += CHUNK) {
                int len = (int) Math.min(CHUNK, n - c);
                cursor.evaluate(from + c, len, chunk, true);
                int vectors = (int) Math.min(len, upper - c); // CHUNK is a multiple of VL: chunks start on a vector
                int j = 0;
                if (v == null) {
                    v = FloatVector.fromArray(FS, chunk, 0);
                    j = VL;
                }
                v = accumulate(v, vectors, j);
                if (c + len == n) {
                    acc = switch (op) {
                        case REDUCE_SUM -> LaneSums.sum(v);
                        case REDUCE_MAX -> v.reduceLanes(VectorOperators.MAX);
                        default -> v.reduceLanes(VectorOperators.MIN);
                    };
                    for (int t = vectors; t < len; t++) {
                        acc = (float) CpuReduce.combine(op, acc, chunk[t]);
                    }
                }
            }
            return acc;
        }

        private FloatVector accumulate(FloatVector v, int len, int from) {
            switch (op) {
                case REDUCE_SUM -> {
                    for (int j = from; j < len; j += VL) {
                        v = v.add(FloatVector.fromArray(FS, chunk, j));
                    }
                }
                case REDUCE_MAX -> {
                    for (int j = from; j < len; j += VL) {
                        v = v.max(FloatVector.fromArray(FS, chunk, j));
                    }
                }
                default -> {
                    for (int j = from; j < len; j += VL) {
                        v = v.min(FloatVector.fromArray(FS, chunk, j));
                    }
                }
            }
            return v;
        }
    }

    // ------------------------------------------------------------------ non-finite check

    /**
     * CpuReduce's check: the first non-finite output, and the first non-finite value it reduced,
     * found by evaluating the values again (only on the failure path; nothing is stored twice).
     */
    private static void check(Op op, CpuFusedElementwise.TileProgram tiles, MemorySegment[] in, MemorySegment[] stored,
                              MemorySegment y, long outCount, long inCount, String where) {
        for (long i = 0; i < outCount; i++) {
            float v = y.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (Float.isFinite(v)) {
                continue;
            }
            CpuFusedElementwise.TileProgram.Cursor cursor = tiles.cursor(in, stored);
            float[] chunk = new float[CHUNK];
            long bad = -1;
            for (long at = 0; at < inCount && bad < 0; at += CHUNK) {
                int len = (int) Math.min(CHUNK, inCount - at);
                cursor.evaluate(at, len, chunk, false);
                for (int j = 0; j < len; j++) {
                    if (!Float.isFinite(chunk[j])) {
                        bad = at + j;
                        break;
                    }
                }
            }
            throw new NonFiniteException(op, where, i, v, bad);
        }
    }
}
