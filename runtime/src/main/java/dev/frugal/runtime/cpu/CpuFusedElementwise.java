package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Philox;
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
 * <p>Registers are float32. BOOL values (comparison masks) are held as 0 and 1; F16 and BF16
 * inputs are widened exactly on load, and the result of every member whose type is F16 or BF16
 * is rounded to that type in its register (round to nearest even), as the member's own stored
 * value would be, before the next member reads it; a widening cast is then free and a narrowing
 * one is that rounding. Every member computes exactly what {@link CpuElementwise} computes for it
 * alone: the cheap ops (negation, abs, ReLU, square root, reciprocal, the four arithmetic
 * operations, maximum, minimum, comparisons, select) on the Vector API, whose IEEE float32
 * results equal {@code CpuElementwise}'s (which computes in double and rounds once: for these
 * ops rounding the exact result to float32 and then to a half type is the same as rounding it
 * to the half type once, since float32 has more than twice the half types' precision plus two
 * bits); exp, erf, sigmoid and tanh on the Vector API through {@link VectorMath}, the same
 * float32 fma code {@code CpuElementwise} runs for float32 (bit-identical lane by lane); the
 * others (log, rsqrt, sign, round, pow) through {@link CpuElementwise#unary}/
 * {@link CpuElementwise#binary} in double, rounded once to float. The ops outside the cheap set
 * run only in float32 (a half result would be rounded twice, and {@code CpuElementwise} computes
 * them for half types in double, so those stay unfused). So fused and unfused programs give
 * bit-identical results.
 *
 * <p>A RANDOM_UNIFORM member (dropout's draw) reads its I64 counter offset straight from the
 * input's memory, not through a float register (an I64 does not fit in one), and fills its
 * register with {@link Philox#uniforms}: the draw's element at each flat domain index, the
 * numbers {@link CpuSources} would store for it.
 */
final class CpuFusedElementwise {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    /** Elements per tile: a multiple of every vector length, and registers small enough for L1. */
    private static final int TILE = 512;
    /** Elements per parallel task: below this, forking costs more than the loop. */
    private static final int GRAIN = 1 << 15;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;

    /**
     * One member's computation: {@code op} over registers {@code a}, {@code b}, {@code c} into
     * {@code dst}, then rounded to {@code round} when that is F16 or BF16 (else null). A CAST
     * instruction is either float to BOOL ({@code toBool}) or a copy followed by the rounding. A
     * RANDOM_UNIFORM instruction's {@code a} is the index of its I64 offset input, and
     * {@code seed} and {@code stream} are its draw's (zero for every other op).
     */
    private record Instruction(Op op, int dst, int a, int b, int c, DType round, boolean toBool, long seed, long stream) {
    }

    private CpuFusedElementwise() {
    }

    /** The ops whose float32 result rounded to a half type equals the exact result rounded once. */
    private static final java.util.Set<Op> HALF_EXACT = java.util.EnumSet.of(Op.NEG, Op.ABS, Op.RELU, Op.SQRT, Op.RECIPROCAL,
            Op.ROUND, Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.MAXIMUM, Op.MINIMUM);

    private static boolean isHalf(DType t) {
        return t == DType.F16 || t == DType.BF16;
    }

    private static boolean isFloat(DType t) {
        return t == DType.F32 || isHalf(t);
    }

    /**
     * Whether {@code node} can run inside a fused group on the CPU: float32, F16 and BF16
     * arithmetic (F16/BF16 only for the ops in {@link #HALF_EXACT}), casts among those and BOOL,
     * BOOL masks, and float32 uniform draws with a scalar I64 offset.
     */
    static boolean canFuse(Node node) {
        Value o = node.output();
        if (o == null || o.shape().numel() > Integer.MAX_VALUE) {
            return false;
        }
        DType out = o.dtype();
        DType in0 = node.inputs().isEmpty() ? null : node.input(0).dtype();
        return switch (node.op()) {
            case EXPAND -> isFloat(out) || out == DType.BOOL;
            case CAST -> (isFloat(in0) || in0 == DType.BOOL) && (isFloat(out) || out == DType.BOOL);
            case NOT -> in0 == DType.BOOL;
            case LT, LE, GT, GE, EQ, NE -> isFloat(in0);
            case WHERE -> isFloat(out);
            case RANDOM_UNIFORM -> out == DType.F32 && in0 == DType.I64 && node.input(0).shape().numel() == 1;
            default -> node.op().isElementwise() && in0 == out && (out == DType.F32 || (isHalf(out) && HALF_EXACT.contains(node.op())));
        };
    }

    static Kernel prepare(FusedGroup group, int[] inputSlots, int[] outputSlots) {
        return prepare(group.members(), group.inputs(), group.outputs(), group.name(), inputSlots, outputSlots);
    }

    /**
     * One node alone on this kernel (a half-precision op that no group took in): its distinct
     * inputs are loaded once, as a group's are.
     */
    static Kernel prepareSingle(Node node, int[] inputSlots, int outputSlot) {
        List<Value> inputs = new ArrayList<>();
        List<Integer> slots = new ArrayList<>();
        for (int i = 0; i < node.inputs().size(); i++) {
            if (!inputs.contains(node.input(i))) {
                inputs.add(node.input(i));
                slots.add(inputSlots[i]);
            }
        }
        return prepare(List.of(node), inputs, List.of(node.output()), node.op().printName(),
                slots.stream().mapToInt(Integer::intValue).toArray(), new int[] {outputSlot});
    }

    private static Kernel prepare(List<Node> members, List<Value> inputs, List<Value> outputs, String name, int[] inputSlots,
                                  int[] outputSlots) {
        Value output = outputs.getFirst();
        TileProgram tiles = new TileProgram(members, inputs, outputs, null, output.shape().dims(), name, inputSlots, outputSlots);
        long tileCount = tiles.tileCount();
        if (tileCount > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException(name + ": too many tiles (" + tileCount + ") for " + output);
        }
        int count = (int) tileCount;
        int grain = Math.max(1, GRAIN / Math.max(1, Math.min(tiles.inner(), TILE)));
        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment[] in = tiles.inputs(b);
                MemorySegment[] out = tiles.outputs(b);
                CpuParallel.parallelFor(0, count, grain, (from, to) -> {
                    TileProgram.Cursor cursor = tiles.cursor(in, out);
                    for (int t = from; t < to; t++) {
                        cursor.tile(t);
                    }
                });
            }
        };
    }

    /**
     * A group's members compiled to register instructions over a {@link StridedLayout} of its
     * domain: what the fused elementwise kernel runs tile by tile, and what a fused reduction
     * ({@link CpuFusedReduction}) evaluates over the ranges of its input it reduces.
     */
    static final class TileProgram {
        private final Instruction[] program;
        private final int registerCount;
        private final StridedLayout layout;
        private final int inner;
        private final int rowTiles;
        private final int nIn;
        private final int nOut;
        private final DType[] inType;
        private final long[] innerStride;
        private final boolean[] scalar;
        private final int[] results;
        private final DType[] outType;
        private final int value;
        private final int[] inSlots;
        private final int[] outSlots;

        /**
         * @param outputs     the values to store, each of shape {@code dims}
         * @param valueOf     a value whose register {@link Cursor#evaluate} hands out, or null
         * @param dims        the domain: the shape every member's value has
         */
        TileProgram(List<Node> members, List<Value> inputs, List<Value> outputs, Value valueOf, int[] dims, String name,
                    int[] inputSlots, int[] outputSlots) {
            nIn = inputs.size();
            // Registers 0..nIn-1 hold the inputs; each computing member gets the next one. An EXPAND
            // (a broadcast, which loading the input already does) and a CAST that keeps the register
            // representation (BOOL and F32 are both floats here) reuse their input's register.
            Map<Value, Integer> register = new IdentityHashMap<>();
            for (int j = 0; j < nIn; j++) {
                register.put(inputs.get(j), j);
            }
            List<Instruction> code = new ArrayList<>();
            int registers = nIn;
            for (Node m : members) {
                int a = register.get(m.input(0));
                DType from = m.input(0).dtype();
                DType to = m.output().dtype();
                // A register already holds a value exactly representable in the wider type: widening
                // (and BOOL 0/1 to any float type) needs no instruction.
                boolean alias = m.op() == Op.EXPAND
                        || (m.op() == Op.CAST && (from == DType.BOOL || from == to || to == DType.F32));
                if (alias) {
                    register.put(m.output(), a);
                    continue;
                }
                int b = m.inputs().size() > 1 ? register.get(m.input(1)) : -1;
                int c = m.inputs().size() > 2 ? register.get(m.input(2)) : -1;
                boolean toBool = m.op() == Op.CAST && to == DType.BOOL;
                long seed = 0;
                long stream = 0;
                if (m.op() == Op.RANDOM_UNIFORM) {
                    if (a >= nIn) {
                        throw new IllegalArgumentException(name + ": the counter offset of " + m + " must be a group input");
                    }
                    OpAttrs.Random random = m.attrs(OpAttrs.Random.class);
                    seed = random.seed();
                    stream = random.stream();
                }
                code.add(new Instruction(m.op(), registers, a, b, c, isHalf(to) ? to : null, toBool, seed, stream));
                register.put(m.output(), registers++);
            }
            program = code.toArray(new Instruction[0]);
            // Every output has the domain's shape: one operand of the layout stands for all of them.
            nOut = outputs.size();
            results = new int[nOut];
            outType = new DType[nOut];
            for (int o = 0; o < nOut; o++) {
                results[o] = register.get(outputs.get(o));
                outType[o] = outputs.get(o).dtype();
            }
            value = valueOf == null ? -1 : register.get(valueOf);
            registerCount = registers;

            int ops = nIn + 1;
            long[][] strides = new long[ops][];
            strides[0] = StridedLayout.contiguous(dims);
            for (int j = 0; j < nIn; j++) {
                strides[j + 1] = StridedLayout.broadcastStrides(inputs.get(j).shape().dims(), dims);
            }
            layout = StridedLayout.of(dims, new long[ops], strides);
            inner = layout.inner();
            long tilesPerRow = (inner + (long) TILE - 1) / TILE;
            if (tilesPerRow > Integer.MAX_VALUE) {
                throw new UnsupportedOperationException(name + ": rows too long (" + inner + " elements)");
            }
            rowTiles = (int) tilesPerRow;
            inType = new DType[nIn];
            innerStride = new long[nIn];
            // Single-element inputs (learning rates, optimizer constants, scalars) are the same in
            // every tile: their registers are filled once per task instead of once per tile.
            scalar = new boolean[nIn];
            for (int j = 0; j < nIn; j++) {
                inType[j] = inputs.get(j).dtype();
                innerStride[j] = layout.innerStride(j + 1);
                scalar[j] = inputs.get(j).shape().numel() == 1;
            }
            inSlots = inputSlots.clone();
            outSlots = outputSlots.clone();
        }

        int inner() {
            return inner;
        }

        long tileCount() {
            return layout.rows() * rowTiles;
        }

        MemorySegment[] inputs(Buffer[] b) {
            MemorySegment[] in = new MemorySegment[nIn];
            for (int j = 0; j < nIn; j++) {
                in[j] = CpuElements.seg(b, inSlots[j]);
            }
            return in;
        }

        MemorySegment[] outputs(Buffer[] b) {
            MemorySegment[] out = new MemorySegment[nOut];
            for (int o = 0; o < nOut; o++) {
                out[o] = CpuElements.seg(b, outSlots[o]);
            }
            return out;
        }

        /** One task's registers and position: not shared between threads. */
        Cursor cursor(MemorySegment[] in, MemorySegment[] out) {
            return new Cursor(in, out);
        }

        final class Cursor {
            private final MemorySegment[] in;
            private final MemorySegment[] out;
            private final float[][] r = new float[registerCount][TILE];
            private final long[] off = new long[nIn + 1];
            private long currentRow = -1;

            private Cursor(MemorySegment[] in, MemorySegment[] out) {
                this.in = in;
                this.out = out;
                for (int j = 0; j < nIn; j++) {
                    if (scalar[j] && inType[j] != DType.I64) { // an I64 (a draw's offset) is read by its draw
                        load(in[j], 0, 0, inType[j], r[j], TILE);
                    }
                }
            }

            /** Computes and stores tile {@code t} (row-major over the layout's rows, {@link #TILE} per tile). */
            void tile(int t) {
                int row = t / rowTiles;
                int start = (t - row * rowTiles) * TILE;
                run(row, start, Math.min(TILE, inner - start), true);
            }

            /**
             * Computes elements {@code flat .. flat+n-1} of the domain (row-major), stores the
             * program's outputs there when {@code store}, and copies the value register into
             * {@code dst[0..n)}.
             */
            void evaluate(long flat, int n, float[] dst, boolean store) {
                int done = 0;
                while (done < n) {
                    long at = flat + done;
                    long row = at / inner;
                    int start = (int) (at - row * inner);
                    int len = Math.min(Math.min(TILE, inner - start), n - done);
                    run(row, start, len, store);
                    System.arraycopy(r[value], 0, dst, done, len);
                    done += len;
                }
            }

            private void run(long row, int start, int len, boolean store) {
                if (row != currentRow) {
                    layout.rowOffsets(row, off);
                    currentRow = row;
                }
                for (int j = 0; j < nIn; j++) {
                    if (!scalar[j]) {
                        load(in[j], off[j + 1] + start * innerStride[j], innerStride[j], inType[j], r[j], len);
                    }
                }
                for (Instruction instruction : program) {
                    if (instruction.op() == Op.RANDOM_UNIFORM) {
                        // off[0] + start is the tile's first flat domain index (the output operand is contiguous)
                        long offset = in[instruction.a()].get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
                        Philox.uniforms(instruction.seed(), instruction.stream(), offset + off[0] + start, r[instruction.dst()], len);
                    } else {
                        execute(instruction, r, len);
                    }
                }
                if (store) {
                    for (int o = 0; o < nOut; o++) {
                        CpuFusedElementwise.store(out[o], off[0] + start, outType[o], r[results[o]], len);
                    }
                }
            }
        }
    }

    private static void load(MemorySegment src, long at, long stride, DType type, float[] dst, int len) {
        switch (type) {
            case BOOL -> {
                for (int i = 0; i < len; i++) {
                    dst[i] = src.get(ValueLayout.JAVA_BYTE, at + i * stride) != 0 ? 1f : 0f;
                }
            }
            case F16, BF16 -> {
                if (stride == 1) {
                    CpuHalf.widen(type, src, at, dst, len);
                } else {
                    for (int i = 0; i < len; i++) {
                        dst[i] = CpuHalf.toFloat(type, src.getAtIndex(H, at + i * stride));
                    }
                }
            }
            default -> {
                if (stride == 1) {
                    MemorySegment.copy(src, F, at * 4, dst, 0, len);
                } else if (stride == 0) {
                    java.util.Arrays.fill(dst, 0, len, src.getAtIndex(F, at));
                } else {
                    for (int i = 0; i < len; i++) {
                        dst[i] = src.getAtIndex(F, at + i * stride);
                    }
                }
            }
        }
    }

    private static void store(MemorySegment dst, long at, DType type, float[] src, int len) {
        switch (type) {
            case BOOL -> {
                for (int i = 0; i < len; i++) {
                    dst.set(ValueLayout.JAVA_BYTE, at + i, (byte) (src[i] != 0 ? 1 : 0));
                }
            }
            // registers of half members already hold rounded values: the conversion is exact
            case F16, BF16 -> CpuHalf.narrow(type, src, len, dst, at);
            default -> MemorySegment.copy(src, 0, dst, F, at * 4, len);
        }
    }

    /** Rounds the first {@code len} elements of {@code d} to F16 or BF16 in place. */
    private static void round(float[] d, DType type, int len) {
        if (type == DType.F16) {
            for (int i = 0; i < len; i++) {
                d[i] = CpuHalf.f16ToFloat(CpuHalf.floatToF16(d[i]));
            }
        } else {
            for (int i = 0; i < len; i++) {
                d[i] = BFloat16.round(d[i]);
            }
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
            case CAST -> {
                if (in.toBool()) {
                    nonZero(a, d, n); // float to BOOL: x != 0 (NaN is true), as CpuElementwise's cast
                } else {
                    System.arraycopy(a, 0, d, 0, len); // narrowed by the rounding below
                }
            }
            case POW -> {
                for (int i = 0; i < len; i++) {
                    d[i] = (float) CpuElementwise.binary(Op.POW, a[i], b[i]);
                }
            }
            case EXP -> exp(a, d, n);
            case ERF -> erf(a, d, n);
            case SIGMOID -> sigmoid(a, d, n);
            case TANH -> tanh(a, d, n);
            default -> { // log, rsqrt, sign, round: in double, rounded once (exact for round)
                Op op = in.op();
                for (int i = 0; i < len; i++) {
                    d[i] = (float) CpuElementwise.unary(op, a[i]);
                }
            }
        }
        if (in.round() != null) {
            round(d, in.round(), len);
        }
    }

    private static void exp(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            VectorMath.exp(FloatVector.fromArray(FS, a, i)).intoArray(d, i);
        }
    }

    private static void erf(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            VectorMath.erf(FloatVector.fromArray(FS, a, i)).intoArray(d, i);
        }
    }

    private static void sigmoid(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            VectorMath.sigmoid(FloatVector.fromArray(FS, a, i)).intoArray(d, i);
        }
    }

    private static void tanh(float[] a, float[] d, int n) {
        for (int i = 0; i < n; i += VL) {
            VectorMath.tanh(FloatVector.fromArray(FS, a, i)).intoArray(d, i);
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
