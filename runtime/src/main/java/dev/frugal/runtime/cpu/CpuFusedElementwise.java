package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One loop over a {@link FusedGroup}: the CPU's fused elementwise kernel.
 *
 * <p>The output is walked in tiles of {@link #TILE} elements along {@link StridedLayout}'s merged
 * rows. For each tile the group's inputs are loaded into small float registers (heap arrays that
 * stay in the L1 cache), the members run one after another register to register, and only the
 * registers of the group's outputs are stored. So a chain of k elementwise nodes costs one pass
 * over memory instead of k passes and the stores of every intermediate.
 *
 * <p>The group is float32 arithmetic plus the BOOL values of comparisons, held in registers as
 * 0 and 1. Every member computes exactly what {@link CpuElementwise} computes for it alone: the
 * cheap ops (negation, abs, ReLU, square root, reciprocal, the four arithmetic operations,
 * maximum, minimum, comparisons, select) on the Vector API, whose IEEE float32 results equal
 * {@code CpuElementwise}'s; the others (exp, log, tanh, ...) through
 * {@link CpuElementwise#unary}/{@link CpuElementwise#binary} in double, rounded once to float.
 * So fused and unfused programs give bit-identical results.
 */
final class CpuFusedElementwise {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    /** Elements per tile: a multiple of every vector length, and registers small enough for L1. */
    private static final int TILE = 512;
    /** Elements per parallel task: below this, forking costs more than the loop. */
    private static final int GRAIN = 1 << 15;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** One member's computation: {@code op} over registers {@code a}, {@code b}, {@code c} into {@code dst}. */
    private record Instruction(Op op, int dst, int a, int b, int c) {
    }

    private CpuFusedElementwise() {
    }

    /** Whether {@code node} can run inside a fused group on the CPU: float32 arithmetic and BOOL masks. */
    static boolean canFuse(Node node) {
        Value o = node.output();
        if (o == null || o.shape().numel() > Integer.MAX_VALUE) {
            return false;
        }
        DType out = o.dtype();
        DType in0 = node.inputs().isEmpty() ? null : node.input(0).dtype();
        return switch (node.op()) {
            case EXPAND -> out == DType.F32 || out == DType.BOOL;
            case CAST -> (in0 == DType.F32 || in0 == DType.BOOL) && (out == DType.F32 || out == DType.BOOL);
            case NOT -> in0 == DType.BOOL;
            case LT, LE, GT, GE, EQ, NE -> in0 == DType.F32;
            case WHERE -> out == DType.F32;
            default -> node.op().isElementwise() && in0 == DType.F32 && out == DType.F32;
        };
    }

    static Kernel prepare(FusedGroup group, int[] inputSlots, int[] outputSlots) {
        Value output = group.output();
        int[] dims = output.shape().dims();
        List<Value> inputs = group.inputs();
        int nIn = inputs.size();

        // Registers 0..nIn-1 hold the inputs; each computing member gets the next one. An EXPAND
        // (a broadcast, which loading the input already does) and a CAST that keeps the register
        // representation (BOOL and F32 are both floats here) reuse their input's register.
        Map<Value, Integer> register = new IdentityHashMap<>();
        for (int j = 0; j < nIn; j++) {
            register.put(inputs.get(j), j);
        }
        List<Instruction> code = new ArrayList<>();
        int registers = nIn;
        for (Node m : group.members()) {
            int a = register.get(m.input(0));
            boolean alias = m.op() == Op.EXPAND
                    || (m.op() == Op.CAST && (m.input(0).dtype() == DType.BOOL || m.output().dtype() == DType.F32));
            if (alias) {
                register.put(m.output(), a);
                continue;
            }
            int b = m.inputs().size() > 1 ? register.get(m.input(1)) : -1;
            int c = m.inputs().size() > 2 ? register.get(m.input(2)) : -1;
            code.add(new Instruction(m.op(), registers, a, b, c));
            register.put(m.output(), registers++);
        }
        Instruction[] program = code.toArray(new Instruction[0]);
        // Every output has the group's shape: one operand of the layout stands for all of them.
        List<Value> outputs = group.outputs();
        int nOut = outputs.size();
        int[] results = new int[nOut];
        boolean[] boolOutput = new boolean[nOut];
        for (int o = 0; o < nOut; o++) {
            results[o] = register.get(outputs.get(o));
            boolOutput[o] = outputs.get(o).dtype() == DType.BOOL;
        }
        int registerCount = registers;

        int ops = nIn + 1;
        long[][] strides = new long[ops][];
        strides[0] = StridedLayout.contiguous(dims);
        for (int j = 0; j < nIn; j++) {
            strides[j + 1] = StridedLayout.broadcastStrides(inputs.get(j).shape().dims(), dims);
        }
        StridedLayout layout = StridedLayout.of(dims, new long[ops], strides);
        int inner = layout.inner();
        long tilesPerRow = (inner + (long) TILE - 1) / TILE;
        long tileCount = layout.rows() * tilesPerRow;
        if (tileCount > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException(group.name() + ": too many tiles (" + tileCount + ") for " + output);
        }
        int tiles = (int) tileCount;
        int perTile = (int) Math.min(inner, TILE);
        int grain = Math.max(1, GRAIN / Math.max(1, perTile));
        boolean[] boolInput = new boolean[nIn];
        long[] innerStride = new long[nIn];
        // Single-element inputs (learning rates, optimizer constants, scalars) are the same in
        // every tile: their registers are filled once per task instead of once per tile.
        boolean[] scalar = new boolean[nIn];
        for (int j = 0; j < nIn; j++) {
            boolInput[j] = inputs.get(j).dtype() == DType.BOOL;
            innerStride[j] = layout.innerStride(j + 1);
            scalar[j] = inputs.get(j).shape().numel() == 1;
        }
        int[] inSlots = inputSlots.clone();
        int[] outSlots = outputSlots.clone();
        int rowTiles = (int) tilesPerRow;

        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment[] in = new MemorySegment[nIn];
                for (int j = 0; j < nIn; j++) {
                    in[j] = CpuElements.seg(b, inSlots[j]);
                }
                MemorySegment[] out = new MemorySegment[nOut];
                for (int o = 0; o < nOut; o++) {
                    out[o] = CpuElements.seg(b, outSlots[o]);
                }
                CpuParallel.parallelFor(0, tiles, grain, (from, to) -> {
                    float[][] r = new float[registerCount][TILE];
                    long[] off = new long[ops];
                    for (int j = 0; j < nIn; j++) {
                        if (scalar[j]) {
                            load(in[j], 0, 0, boolInput[j], r[j], TILE);
                        }
                    }
                    long currentRow = -1;
                    for (int t = from; t < to; t++) {
                        int row = t / rowTiles;
                        int start = (t - row * rowTiles) * TILE;
                        int len = Math.min(TILE, inner - start);
                        if (row != currentRow) {
                            layout.rowOffsets(row, off);
                            currentRow = row;
                        }
                        for (int j = 0; j < nIn; j++) {
                            if (!scalar[j]) {
                                load(in[j], off[j + 1] + start * innerStride[j], innerStride[j], boolInput[j], r[j], len);
                            }
                        }
                        for (Instruction instruction : program) {
                            execute(instruction, r, len);
                        }
                        for (int o = 0; o < nOut; o++) {
                            store(out[o], off[0] + start, boolOutput[o], r[results[o]], len);
                        }
                    }
                });
            }
        };
    }

    private static void load(MemorySegment src, long at, long stride, boolean bool, float[] dst, int len) {
        if (bool) {
            for (int i = 0; i < len; i++) {
                dst[i] = src.get(ValueLayout.JAVA_BYTE, at + i * stride) != 0 ? 1f : 0f;
            }
        } else if (stride == 1) {
            MemorySegment.copy(src, F, at * 4, dst, 0, len);
        } else if (stride == 0) {
            java.util.Arrays.fill(dst, 0, len, src.getAtIndex(F, at));
        } else {
            for (int i = 0; i < len; i++) {
                dst[i] = src.getAtIndex(F, at + i * stride);
            }
        }
    }

    private static void store(MemorySegment dst, long at, boolean bool, float[] src, int len) {
        if (bool) {
            for (int i = 0; i < len; i++) {
                dst.set(ValueLayout.JAVA_BYTE, at + i, (byte) (src[i] != 0 ? 1 : 0));
            }
        } else {
            MemorySegment.copy(src, 0, dst, F, at * 4, len);
        }
    }

    /**
     * Runs one member over the first {@code len} elements of its registers. Vector loops cover
     * whole vectors up to the tile's end (registers are {@link #TILE} long, a multiple of the
     * vector length), so lanes past {@code len} hold leftovers that are never stored. Each op has
     * its own small loop method with a constant operator: C2 only turns Vector API calls into
     * vector instructions when it can inline them, which one big method defeats.
     */
    private static void execute(Instruction in, float[][] r, int len) {
        float[] d = r[in.dst()];
        float[] a = r[in.a()];
        float[] b = in.b() >= 0 ? r[in.b()] : null;
        int n = (len + VL - 1) / VL * VL;
        switch (in.op()) {
            case NEG -> neg(a, d, n);
            case ABS -> abs(a, d, n);
            case RELU -> relu(a, d, n);
            case SQRT -> sqrt(a, d, n);
            case RECIPROCAL -> reciprocal(a, d, n);
            case ADD -> add(a, b, d, n);
            case SUB -> sub(a, b, d, n);
            case MUL -> mul(a, b, d, n);
            case DIV -> div(a, b, d, n);
            case MAXIMUM -> max(a, b, d, n);
            case MINIMUM -> min(a, b, d, n);
            case LT -> lt(a, b, d, n);
            case LE -> le(a, b, d, n);
            case GT -> gt(a, b, d, n);
            case GE -> ge(a, b, d, n);
            case EQ -> eq(a, b, d, n);
            case NE -> ne(a, b, d, n);
            case WHERE -> where(a, b, r[in.c()], d, n);
            case NOT -> not(a, d, n);
            case CAST -> nonZero(a, d, n); // float32 to BOOL: x != 0 (NaN is true), as CpuElementwise's cast
            case POW -> {
                for (int i = 0; i < len; i++) {
                    d[i] = (float) CpuElementwise.binary(Op.POW, a[i], b[i]);
                }
            }
            default -> { // exp, log, rsqrt, sign, sigmoid, tanh, erf: in double, rounded once
                Op op = in.op();
                for (int i = 0; i < len; i++) {
                    d[i] = (float) CpuElementwise.unary(op, a[i]);
                }
            }
        }
    }

    private static void neg(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).neg().intoArray(d, i);
        }
    }

    private static void abs(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).abs().intoArray(d, i);
        }
    }

    private static void relu(float[] a, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).max(zero).intoArray(d, i);
        }
    }

    private static void sqrt(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).lanewise(VectorOperators.SQRT).intoArray(d, i);
        }
    }

    private static void reciprocal(float[] a, float[] d, int n) {
        FloatVector one = FloatVector.broadcast(FS, 1f);
        for (int i = 0; i < n; i += VL) {
            one.div(FloatVector.fromArray(FS, a, i)).intoArray(d, i);
        }
    }

    private static void add(float[] a, float[] b, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).add(FloatVector.fromArray(FS, b, i)).intoArray(d, i);
        }
    }

    private static void sub(float[] a, float[] b, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).sub(FloatVector.fromArray(FS, b, i)).intoArray(d, i);
        }
    }

    private static void mul(float[] a, float[] b, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).mul(FloatVector.fromArray(FS, b, i)).intoArray(d, i);
        }
    }

    private static void div(float[] a, float[] b, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).div(FloatVector.fromArray(FS, b, i)).intoArray(d, i);
        }
    }

    private static void max(float[] a, float[] b, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).max(FloatVector.fromArray(FS, b, i)).intoArray(d, i);
        }
    }

    private static void min(float[] a, float[] b, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, a, i).min(FloatVector.fromArray(FS, b, i)).intoArray(d, i);
        }
    }

    // Comparisons and selects hold BOOL as 0 and 1; IEEE semantics (anything with NaN is false except NE).

    private static void lt(float[] a, float[] b, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).lt(FloatVector.fromArray(FS, b, i))).intoArray(d, i);
        }
    }

    private static void le(float[] a, float[] b, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).compare(VectorOperators.LE, FloatVector.fromArray(FS, b, i))).intoArray(d, i);
        }
    }

    private static void gt(float[] a, float[] b, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).compare(VectorOperators.GT, FloatVector.fromArray(FS, b, i))).intoArray(d, i);
        }
    }

    private static void ge(float[] a, float[] b, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).compare(VectorOperators.GE, FloatVector.fromArray(FS, b, i))).intoArray(d, i);
        }
    }

    private static void eq(float[] a, float[] b, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).eq(FloatVector.fromArray(FS, b, i))).intoArray(d, i);
        }
    }

    private static void ne(float[] a, float[] b, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).compare(VectorOperators.NE, FloatVector.fromArray(FS, b, i))).intoArray(d, i);
        }
    }

    /** {@code where(cond, x, y)}: x where the 0/1 condition is set, else y. */
    private static void where(float[] cond, float[] x, float[] y, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            FloatVector.fromArray(FS, y, i)
                    .blend(FloatVector.fromArray(FS, x, i), FloatVector.fromArray(FS, cond, i).compare(VectorOperators.NE, zero))
                    .intoArray(d, i);
        }
    }

    private static void not(float[] a, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).eq(zero)).intoArray(d, i);
        }
    }

    private static void nonZero(float[] a, float[] d, int n) {
        FloatVector zero = FloatVector.zero(FS);
        for (int i = 0; i < n; i += VL) {
            zero.blend(1f, FloatVector.fromArray(FS, a, i).compare(VectorOperators.NE, zero)).intoArray(d, i);
        }
    }
}
