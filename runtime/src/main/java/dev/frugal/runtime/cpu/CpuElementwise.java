package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Elementwise kernels: unary ops, binary ops and comparisons with NumPy broadcasting, WHERE, NOT
 * and CAST, for every dtype the op allows.
 *
 * <p>Every operand is a contiguous buffer; broadcasting turns into stride-0 axes, and
 * {@link StridedLayout} merges what it can, so most calls become a few long rows. float32 rows
 * whose operands step by 1 or 0 (same shapes, a broadcast scalar, a broadcast bias) run on the
 * Vector API for the cheap arithmetic ops, the comparisons, and WHERE with a contiguous condition.
 * float32 EXP, ERF, SIGMOID and TANH are computed in float32 by {@link VectorMath}'s fma
 * polynomials (within 2 ulp of the correctly rounded result, deterministic lane by lane; the
 * fused kernel uses the same code, so fused and unfused results are bit-identical), on the
 * Vector API for contiguous rows and through its scalar forms otherwise. Everything else runs a
 * scalar loop that computes floating types in double (rounded once on store, which for
 * F32/F16/BF16 equals computing the single correctly-rounded float32 op and rounding; this
 * includes EXP, ERF, SIGMOID and TANH for F64, F16 and BF16) and integer types in long. Rows are
 * split across {@link CpuParallel}'s threads.
 */
final class CpuElementwise {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    /**
     * Bytes in lanes matching {@link #FS}'s count: BOOL masks load and store through it. Null
     * where no byte vector that short exists (4-lane float vectors); comparisons and WHERE then
     * take the scalar loops.
     */
    private static final VectorSpecies<Byte> BS = VL >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(VL * 8)) : null;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Elements per parallel task: below this, forking costs more than the loop. */
    private static final int GRAIN = 1 << 15;

    private CpuElementwise() {
    }

    static Kernel prepare(Node node, int[] in, int out) {
        Value o = node.output();
        int[] dims = o.shape().dims();
        int ops = in.length + 1;
        long[][] strides = new long[ops][];
        strides[0] = StridedLayout.contiguous(dims);
        for (int j = 0; j < in.length; j++) {
            strides[j + 1] = StridedLayout.broadcastStrides(node.input(j).shape().dims(), dims);
        }
        StridedLayout layout = StridedLayout.of(dims, new long[ops], strides);
        if (layout.rows() > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException(node.op().printName() + ": too many rows (" + layout.rows() + ") in " + node);
        }
        Op op = node.op();
        DType inType = node.input(0).dtype();
        DType outType = o.dtype();
        int[] slots = new int[ops];
        slots[0] = out;
        System.arraycopy(in, 0, slots, 1, in.length);
        int rows = (int) layout.rows();
        int inner = layout.inner();
        int grain = Math.max(1, GRAIN / Math.max(1, inner));
        String where = node.toString();
        return new Kernel() {
            @Override
            public void run(Buffer[] b) {
                MemorySegment[] s = new MemorySegment[ops];
                for (int j = 0; j < ops; j++) {
                    s[j] = CpuElements.seg(b, slots[j]);
                }
                CpuParallel.parallelFor(0, rows, grain, (from, to) -> {
                    long[] off = new long[ops];
                    for (int row = from; row < to; row++) {
                        layout.rowOffsets(row, off);
                        try {
                            runRow(op, inType, outType, layout, s, off, inner);
                        } catch (ArithmeticException e) {
                            throw new ArithmeticException(e.getMessage() + " in " + where);
                        }
                    }
                });
            }
        };
    }

    private static void runRow(Op op, DType inType, DType outType, StridedLayout l, MemorySegment[] s, long[] off, int n) {
        switch (op.kind()) {
            case UNARY -> {
                if (op == Op.CAST) {
                    castRow(inType, outType, s[0], off[0], s[1], off[1], l.innerStride(1), n);
                } else if (inType == DType.F32 && l.innerStride(1) == 1 && unaryF32Vector(op, s[0], off[0], s[1], off[1], n)) {
                    return;
                } else if (inType.isFloating()) {
                    unaryRowDouble(op, inType, s[0], off[0], s[1], off[1], l.innerStride(1), n);
                } else {
                    unaryRowLong(op, inType, s[0], off[0], s[1], off[1], l.innerStride(1), n);
                }
            }
            case BINARY -> {
                long as = l.innerStride(1);
                long bs = l.innerStride(2);
                if (inType == DType.F32 && (as == 0 || as == 1) && (bs == 0 || bs == 1)
                        && binaryF32Vector(op, s[0], off[0], s[1], off[1], as, s[2], off[2], bs, n)) {
                    return;
                }
                if (inType.isFloating()) {
                    binaryRowDouble(op, inType, s[0], off[0], s[1], off[1], as, s[2], off[2], bs, n);
                } else {
                    binaryRowLong(op, inType, s[0], off[0], s[1], off[1], as, s[2], off[2], bs, n);
                }
            }
            case COMPARE -> {
                long as = l.innerStride(1);
                long bs = l.innerStride(2);
                if (inType == DType.F32 && BS != null && (as == 0 || as == 1) && (bs == 0 || bs == 1)) {
                    compareF32Vector(op, s[0], off[0], s[1], off[1], as, s[2], off[2], bs, n);
                } else {
                    compareRow(op, inType, s[0], off[0], s[1], off[1], as, s[2], off[2], bs, n);
                }
            }
            case TERNARY -> {
                if (outType == DType.F32 && BS != null && l.innerStride(1) == 1 && (l.innerStride(2) == 0 || l.innerStride(2) == 1)
                        && (l.innerStride(3) == 0 || l.innerStride(3) == 1)) {
                    whereF32Vector(s[0], off[0], s[1], off[1], s[2], off[2], l.innerStride(2), s[3], off[3], l.innerStride(3), n);
                    return;
                }
                int bytes = outType.byteSize();
                long cs = l.innerStride(1);
                long as = l.innerStride(2);
                long bs = l.innerStride(3);
                for (int i = 0; i < n; i++) {
                    boolean c = s[1].get(ValueLayout.JAVA_BYTE, off[1] + i * cs) != 0;
                    if (c) {
                        CpuElements.copyElement(bytes, s[2], off[2] + i * as, s[0], off[0] + i);
                    } else {
                        CpuElements.copyElement(bytes, s[3], off[3] + i * bs, s[0], off[0] + i);
                    }
                }
            }
            default -> throw new IllegalStateException("not an elementwise op: " + op);
        }
    }

    // ------------------------------------------------------------------ unary

    static double unary(Op op, double x) {
        return switch (op) {
            case NEG -> -x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1.0 / Math.sqrt(x);
            case RECIPROCAL -> 1.0 / x;
            case ABS -> Math.abs(x);
            case SIGN -> Math.signum(x);
            // ties to even; exact for every float, so rounding the result back to F32/F16/BF16 is exact too
            case ROUND -> Math.rint(x);
            case RELU -> Math.max(x, 0.0);
            case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case ERF -> Erf.erf(x);
            default -> throw new IllegalStateException("not a floating unary op: " + op);
        };
    }

    /** Whether float32 {@code op} is computed by {@link VectorMath} in float32 rather than in double. */
    static boolean isF32Math(Op op) {
        return op == Op.EXP || op == Op.ERF || op == Op.SIGMOID || op == Op.TANH;
    }

    /**
     * The float32 result of unary {@code op}: {@link VectorMath} for the ops of
     * {@link #isF32Math}, else {@link #unary} in double rounded once. The same bits as the
     * vector loops here and in {@link CpuFusedElementwise}.
     */
    static float unaryF32(Op op, float x) {
        return switch (op) {
            case EXP -> VectorMath.exp(x);
            case ERF -> VectorMath.erf(x);
            case SIGMOID -> VectorMath.sigmoid(x);
            case TANH -> VectorMath.tanh(x);
            default -> (float) unary(op, x);
        };
    }

    private static void unaryRowDouble(Op op, DType t, MemorySegment o, long oo, MemorySegment a, long ao, long as, int n) {
        if (t == DType.F32 && isF32Math(op)) {
            for (int i = 0; i < n; i++) {
                o.setAtIndex(F, oo + i, unaryF32(op, a.getAtIndex(F, ao + i * as)));
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            CpuElements.store(o, t, oo + i, unary(op, CpuElements.load(a, t, ao + i * as)));
        }
    }

    private static void unaryRowLong(Op op, DType t, MemorySegment o, long oo, MemorySegment a, long ao, long as, int n) {
        for (int i = 0; i < n; i++) {
            long x = CpuElements.loadLong(a, t, ao + i * as);
            long r = switch (op) {
                case NEG -> -x;
                case ABS -> Math.abs(x);
                case SIGN -> Long.signum(x);
                case ROUND -> x;
                case RELU -> Math.max(x, 0);
                case NOT -> x != 0 ? 0 : 1;
                default -> throw new UnsupportedOperationException(op.printName() + " is not defined for " + t);
            };
            CpuElements.storeLong(o, t, oo + i, r);
        }
    }

    /** Vector API loops for float32 unary ops over contiguous rows; false when the op has none. */
    private static boolean unaryF32Vector(Op op, MemorySegment o, long oo, MemorySegment a, long ao, int n) {
        switch (op) {
            case EXP -> expF32(o, oo, a, ao, n);
            case ERF -> erfF32(o, oo, a, ao, n);
            case SIGMOID -> sigmoidF32(o, oo, a, ao, n);
            case TANH -> tanhF32(o, oo, a, ao, n);
            default -> {
                return cheapUnaryF32Vector(op, o, oo, a, ao, n);
            }
        }
        return true;
    }

    // One small loop per op with a constant function, so that C2 inlines the Vector API calls. The
    // tail runs the same code on a masked vector: every lane's result depends only on its input.

    private static void expF32(MemorySegment o, long oo, MemorySegment a, long ao, int n) {
        long ob = oo * 4;
        long ab = ao * 4;
        int i = 0;
        for (int upper = FS.loopBound(n); i < upper; i += VL) {
            VectorMath.exp(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE)).intoMemorySegment(o, ob + i * 4L, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            VectorMath.exp(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE, m)).intoMemorySegment(o, ob + i * 4L, NATIVE, m);
        }
    }

    private static void erfF32(MemorySegment o, long oo, MemorySegment a, long ao, int n) {
        long ob = oo * 4;
        long ab = ao * 4;
        int i = 0;
        for (int upper = FS.loopBound(n); i < upper; i += VL) {
            VectorMath.erf(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE)).intoMemorySegment(o, ob + i * 4L, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            VectorMath.erf(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE, m)).intoMemorySegment(o, ob + i * 4L, NATIVE, m);
        }
    }

    private static void sigmoidF32(MemorySegment o, long oo, MemorySegment a, long ao, int n) {
        long ob = oo * 4;
        long ab = ao * 4;
        int i = 0;
        for (int upper = FS.loopBound(n); i < upper; i += VL) {
            VectorMath.sigmoid(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE)).intoMemorySegment(o, ob + i * 4L, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            VectorMath.sigmoid(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE, m)).intoMemorySegment(o, ob + i * 4L, NATIVE, m);
        }
    }

    private static void tanhF32(MemorySegment o, long oo, MemorySegment a, long ao, int n) {
        long ob = oo * 4;
        long ab = ao * 4;
        int i = 0;
        for (int upper = FS.loopBound(n); i < upper; i += VL) {
            VectorMath.tanh(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE)).intoMemorySegment(o, ob + i * 4L, NATIVE);
        }
        if (i < n) {
            VectorMask<Float> m = FS.indexInRange(i, n);
            VectorMath.tanh(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE, m)).intoMemorySegment(o, ob + i * 4L, NATIVE, m);
        }
    }

    /** Vector API loops for cheap float32 unary ops over contiguous rows; false when the op has none. */
    private static boolean cheapUnaryF32Vector(Op op, MemorySegment o, long oo, MemorySegment a, long ao, int n) {
        if (op != Op.NEG && op != Op.ABS && op != Op.RELU && op != Op.SQRT && op != Op.RECIPROCAL) {
            return false;
        }
        int i = 0;
        int upper = FS.loopBound(n);
        long ob = oo * 4;
        long ab = ao * 4;
        FloatVector zero = FloatVector.zero(FS);
        FloatVector one = FloatVector.broadcast(FS, 1f);
        switch (op) {
            case NEG -> {
                for (; i < upper; i += VL) {
                    FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE).neg().intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case ABS -> {
                for (; i < upper; i += VL) {
                    FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE).abs().intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case RELU -> {
                for (; i < upper; i += VL) {
                    FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE).max(zero).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case SQRT -> {
                for (; i < upper; i += VL) {
                    FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE).lanewise(VectorOperators.SQRT).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            default -> {
                for (; i < upper; i += VL) {
                    one.div(FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE)).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
        }
        for (; i < n; i++) {
            o.setAtIndex(F, oo + i, (float) unary(op, a.getAtIndex(F, ao + i)));
        }
        return true;
    }

    // ------------------------------------------------------------------ binary

    static double binary(Op op, double x, double y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            case POW -> Math.pow(x, y);
            case MAXIMUM -> Math.max(x, y);
            case MINIMUM -> Math.min(x, y);
            default -> throw new IllegalStateException("not a binary op: " + op);
        };
    }

    private static void binaryRowDouble(Op op, DType t, MemorySegment o, long oo, MemorySegment a, long ao, long as,
                                        MemorySegment b, long bo, long bs, int n) {
        for (int i = 0; i < n; i++) {
            double x = CpuElements.load(a, t, ao + i * as);
            double y = CpuElements.load(b, t, bo + i * bs);
            CpuElements.store(o, t, oo + i, binary(op, x, y));
        }
    }

    private static void binaryRowLong(Op op, DType t, MemorySegment o, long oo, MemorySegment a, long ao, long as,
                                      MemorySegment b, long bo, long bs, int n) {
        for (int i = 0; i < n; i++) {
            long x = CpuElements.loadLong(a, t, ao + i * as);
            long y = CpuElements.loadLong(b, t, bo + i * bs);
            long r = switch (op) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> {
                    if (y == 0) {
                        throw new ArithmeticException("div: integer division by zero (" + x + " / 0)");
                    }
                    yield x / y;
                }
                case POW -> (long) Math.pow(x, y);
                case MAXIMUM -> Math.max(x, y);
                case MINIMUM -> Math.min(x, y);
                default -> throw new IllegalStateException("not a binary op: " + op);
            };
            CpuElements.storeLong(o, t, oo + i, r);
        }
    }

    /**
     * Vector API loops for float32 add/sub/mul/div/max/min where each operand steps by 1 or is a
     * broadcast scalar (step 0); false when the op has none.
     */
    private static boolean binaryF32Vector(Op op, MemorySegment o, long oo, MemorySegment a, long ao, long as,
                                           MemorySegment b, long bo, long bs, int n) {
        if (op == Op.POW) {
            return false;
        }
        boolean aScalar = as == 0;
        boolean bScalar = bs == 0;
        FloatVector ax = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
        FloatVector bx = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
        long ob = oo * 4;
        long ab = ao * 4;
        long bb = bo * 4;
        int i = 0;
        int upper = FS.loopBound(n);
        switch (op) {
            case ADD -> {
                for (; i < upper; i += VL) {
                    FloatVector x = aScalar ? ax : FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE);
                    FloatVector y = bScalar ? bx : FloatVector.fromMemorySegment(FS, b, bb + i * 4L, NATIVE);
                    x.add(y).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case SUB -> {
                for (; i < upper; i += VL) {
                    FloatVector x = aScalar ? ax : FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE);
                    FloatVector y = bScalar ? bx : FloatVector.fromMemorySegment(FS, b, bb + i * 4L, NATIVE);
                    x.sub(y).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case MUL -> {
                for (; i < upper; i += VL) {
                    FloatVector x = aScalar ? ax : FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE);
                    FloatVector y = bScalar ? bx : FloatVector.fromMemorySegment(FS, b, bb + i * 4L, NATIVE);
                    x.mul(y).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case DIV -> {
                for (; i < upper; i += VL) {
                    FloatVector x = aScalar ? ax : FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE);
                    FloatVector y = bScalar ? bx : FloatVector.fromMemorySegment(FS, b, bb + i * 4L, NATIVE);
                    x.div(y).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case MAXIMUM -> {
                for (; i < upper; i += VL) {
                    FloatVector x = aScalar ? ax : FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE);
                    FloatVector y = bScalar ? bx : FloatVector.fromMemorySegment(FS, b, bb + i * 4L, NATIVE);
                    x.max(y).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            case MINIMUM -> {
                for (; i < upper; i += VL) {
                    FloatVector x = aScalar ? ax : FloatVector.fromMemorySegment(FS, a, ab + i * 4L, NATIVE);
                    FloatVector y = bScalar ? bx : FloatVector.fromMemorySegment(FS, b, bb + i * 4L, NATIVE);
                    x.min(y).intoMemorySegment(o, ob + i * 4L, NATIVE);
                }
            }
            default -> {
                return false;
            }
        }
        for (; i < n; i++) {
            float x = a.getAtIndex(F, ao + i * as);
            float y = b.getAtIndex(F, bo + i * bs);
            o.setAtIndex(F, oo + i, (float) binary(op, x, y));
        }
        return true;
    }

    // ------------------------------------------------------------------ compare, cast

    /**
     * float32 comparisons on the Vector API where each operand steps by 1 or is a broadcast scalar:
     * a lane mask per vector, stored as one 0/1 byte per element. Same results as the scalar
     * loop (IEEE comparisons: anything with NaN is false except NE).
     */
    private static void compareF32Vector(Op op, MemorySegment o, long oo, MemorySegment a, long ao, long as,
                                         MemorySegment b, long bo, long bs, int n) {
        VectorOperators.Comparison cmp = switch (op) {
            case LT -> VectorOperators.LT;
            case LE -> VectorOperators.LE;
            case GT -> VectorOperators.GT;
            case GE -> VectorOperators.GE;
            case EQ -> VectorOperators.EQ;
            default -> VectorOperators.NE;
        };
        FloatVector ax = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
        FloatVector bx = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
        ByteVector zeros = ByteVector.zero(BS);
        int i = 0;
        int upper = FS.loopBound(n);
        for (; i < upper; i += VL) {
            FloatVector x = as == 0 ? ax : FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, NATIVE);
            FloatVector y = bs == 0 ? bx : FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, NATIVE);
            zeros.blend((byte) 1, x.compare(cmp, y).cast(BS)).intoMemorySegment(o, oo + i, NATIVE);
        }
        if (i < n) {
            compareRow(op, DType.F32, o, oo + i, a, ao + i * as, as, b, bo + i * bs, bs, n - i);
        }
    }

    /**
     * {@code where(cond, a, b)} for float32 with a contiguous BOOL condition and float operands
     * that step by 1 or are broadcast scalars: a byte-lane mask per vector selects between them.
     */
    private static void whereF32Vector(MemorySegment o, long oo, MemorySegment c, long co, MemorySegment a, long ao, long as,
                                       MemorySegment b, long bo, long bs, int n) {
        FloatVector ax = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
        FloatVector bx = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
        int i = 0;
        int upper = FS.loopBound(n);
        for (; i < upper; i += VL) {
            VectorMask<Float> take = ByteVector.fromMemorySegment(BS, c, co + i, NATIVE).compare(VectorOperators.NE, (byte) 0).cast(FS);
            FloatVector x = as == 0 ? ax : FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, NATIVE);
            FloatVector y = bs == 0 ? bx : FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, NATIVE);
            y.blend(x, take).intoMemorySegment(o, (oo + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            boolean take = c.get(ValueLayout.JAVA_BYTE, co + i) != 0;
            o.setAtIndex(F, oo + i, take ? a.getAtIndex(F, ao + i * as) : b.getAtIndex(F, bo + i * bs));
        }
    }

    private static void compareRow(Op op, DType t, MemorySegment o, long oo, MemorySegment a, long ao, long as,
                                   MemorySegment b, long bo, long bs, int n) {
        for (int i = 0; i < n; i++) {
            boolean r;
            if (t.isFloating()) {
                double x = CpuElements.load(a, t, ao + i * as);
                double y = CpuElements.load(b, t, bo + i * bs);
                r = switch (op) {
                    case LT -> x < y;
                    case LE -> x <= y;
                    case GT -> x > y;
                    case GE -> x >= y;
                    case EQ -> x == y;
                    default -> x != y;
                };
            } else {
                long x = CpuElements.loadLong(a, t, ao + i * as);
                long y = CpuElements.loadLong(b, t, bo + i * bs);
                r = switch (op) {
                    case LT -> x < y;
                    case LE -> x <= y;
                    case GT -> x > y;
                    case GE -> x >= y;
                    case EQ -> x == y;
                    default -> x != y;
                };
            }
            o.set(ValueLayout.JAVA_BYTE, oo + i, (byte) (r ? 1 : 0));
        }
    }

    /**
     * Conversion rules: floating to floating rounds once to nearest even; floating to integer
     * truncates toward zero (NaN becomes 0, out-of-range values saturate at the 64-bit limits and
     * then wrap to the narrower type); anything to BOOL is {@code != 0}; integers convert exactly
     * where the target can hold the value, and otherwise round once to nearest even.
     */
    private static void castRow(DType from, DType to, MemorySegment o, long oo, MemorySegment a, long ao, long as, int n) {
        for (int i = 0; i < n; i++) {
            long si = ao + i * as;
            long di = oo + i;
            if (from.isFloating() && to.isFloating()) {
                double v = CpuElements.load(a, from, si);
                if (from == DType.F64 && (to == DType.F16 || to == DType.BF16)) {
                    o.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, di, CpuElements.roundDoubleToHalf(v, to));
                } else {
                    CpuElements.store(o, to, di, v);
                }
            } else if (from.isFloating()) {
                double v = CpuElements.load(a, from, si);
                CpuElements.storeLong(o, to, di, to == DType.BOOL ? (v != 0 ? 1 : 0) : (long) v);
            } else if (to.isFloating()) {
                long v = CpuElements.loadLong(a, from, si);
                switch (to) {
                    case F64 -> o.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, di, (double) v);
                    case F32 -> o.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, di, (float) v); // one rounding, not long -> double -> float
                    default -> o.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, di, CpuElements.roundLongToHalf(v, to));
                }
            } else {
                CpuElements.storeLong(o, to, di, CpuElements.loadLong(a, from, si));
            }
        }
    }
}
