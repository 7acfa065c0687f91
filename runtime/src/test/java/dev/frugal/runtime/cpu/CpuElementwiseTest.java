package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongBinaryOperator;

import static dev.frugal.runtime.cpu.CpuReference.assertSame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward values of the CPU backend's elementwise kernels (unary, binary with broadcasting,
 * comparisons, WHERE, NOT, CAST) for every dtype each op allows, against float64/long reference
 * loops over the same stored input values. Inputs are fed as strided views (permuted,
 * broadcast) as well as contiguous tensors, and shapes exercise the vectorised rows, their
 * scalar tails, broadcast scalars and broadcast rows.
 */
class CpuElementwiseTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private String ctx(Object... parts) {
        StringBuilder sb = new StringBuilder();
        for (Object p : parts) {
            sb.append(p).append(' ');
        }
        return sb.append("(seed ").append(seed).append(')').toString();
    }

    // ------------------------------------------------------------------ unary

    private void unary(Op op, java.util.function.Function<Value, Value> trace, DoubleUnaryOperator ref,
                       DType t, double lo, double hi) {
        for (Shape shape : new Shape[] {Shape.of(37), Shape.of(3, 5, 17), Shape.scalar()}) {
            Graph g = new Graph(op.printName());
            Value x = g.input("x", shape, t);
            Value y = trace.apply(x);
            assertEquals(op, y.node().op());
            try (Tensor xt = CpuReference.random(rnd, t, shape, lo, hi)) {
                double[] in = xt.toDoubleArray();
                double[] out = GraphRun.run(g, y, Map.of(x, xt));
                double[] expected = new double[in.length];
                for (int i = 0; i < in.length; i++) {
                    expected[i] = CpuReference.store(t, ref.applyAsDouble(in[i]));
                }
                if (t == DType.F32 && CpuElementwise.isF32Math(op)) {
                    // float32 fma polynomials (VectorMath): within 2 ulp of the correctly rounded
                    // result, and the same bits as the scalar form whatever the row layout
                    for (int i = 0; i < in.length; i++) {
                        float e = (float) expected[i];
                        assertTrue(Math.abs(Float.floatToIntBits((float) out[i]) - Float.floatToIntBits(e)) <= 2,
                                ctx(op, t, shape) + ": element " + i + " expected " + e + " but was " + out[i]);
                        assertEquals(CpuElementwise.unaryF32(op, (float) in[i]), (float) out[i], 0f, ctx(op, t, shape) + ": element " + i);
                    }
                } else {
                    assertSame(expected, out, ctx(op, t, shape));
                }
            }
        }
    }

    private void unaryFloating(Op op, java.util.function.Function<Value, Value> trace, DoubleUnaryOperator ref, double lo, double hi) {
        for (DType t : CpuReference.FLOATING) {
            unary(op, trace, ref, t, lo, hi);
        }
    }

    @Test
    void floatingUnaryOps() {
        unaryFloating(Op.EXP, Ops::exp, Math::exp, -5, 5);
        unaryFloating(Op.LOG, Ops::log, Math::log, 0.01, 50);
        unaryFloating(Op.SQRT, Ops::sqrt, Math::sqrt, 0, 50);
        unaryFloating(Op.RSQRT, Ops::rsqrt, v -> 1 / Math.sqrt(v), 0.01, 50);
        unaryFloating(Op.RECIPROCAL, Ops::reciprocal, v -> 1 / v, -5, 5);
        unaryFloating(Op.SIGMOID, Ops::sigmoid, v -> 1 / (1 + Math.exp(-v)), -10, 10);
        unaryFloating(Op.TANH, Ops::tanh, Math::tanh, -4, 4);
        unaryFloating(Op.NEG, Ops::neg, v -> -v, -5, 5);
        unaryFloating(Op.ABS, Ops::abs, Math::abs, -5, 5);
        unaryFloating(Op.SIGN, Ops::sign, Math::signum, -5, 5);
        unaryFloating(Op.RELU, Ops::relu, v -> v > 0 ? v : 0, -5, 5);
        unaryFloating(Op.ROUND, Ops::round, Math::rint, -50, 50);
    }

    /** ROUND is round half to even (torch.round, std::nearbyint, ONNX Round), never half away from zero. */
    @Test
    void roundTiesGoToEven() {
        double[] xs = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -0.49999997, 126.5, 127.5, -128.5, 1e7 + 0.5, 0.0, -0.0, 3.7, -3.7};
        double[] even = {-2, -2, -0.0, 0, 2, 2, 4, 0, -0.0, 126, 128, -128, 1e7, 0, -0.0, 4, -4};
        for (DType t : CpuReference.FLOATING) {
            Graph g = new Graph("round");
            Value x = g.input("x", Shape.of(xs.length), t);
            try (Tensor xt = Tensor.of(xs, t, xs.length)) {
                double[] in = xt.toDoubleArray();
                double[] out = GraphRun.run(g, Ops.round(x), Map.of(x, xt));
                for (int i = 0; i < xs.length; i++) {
                    // the input as stored in t (0.49999997 and 1e7 + 0.5 are not representable in every type), rounded to even
                    double expected = Math.rint(in[i]);
                    assertEquals(expected, out[i], 0.0, ctx("round", t, xs[i]));
                    if (in[i] == xs[i]) {
                        assertEquals(even[i], out[i], 0.0, ctx("round (exact input)", t, xs[i]));
                    }
                }
            }
        }
    }

    @Test
    void integerUnaryOps() {
        for (DType t : new DType[] {DType.I64, DType.I32, DType.U8}) {
            unary(Op.NEG, Ops::neg, v -> -v, t, 0, 0);
            unary(Op.ABS, Ops::abs, Math::abs, t, 0, 0);
            unary(Op.SIGN, Ops::sign, Math::signum, t, 0, 0);
            unary(Op.RELU, Ops::relu, v -> Math.max(v, 0), t, 0, 0);
            unary(Op.ROUND, Ops::round, v -> v, t, 0, 0);
        }
        unary(Op.NOT, Ops::not, v -> v != 0 ? 0 : 1, DType.BOOL, 0, 0);
    }

    @Test
    void erfMatchesKnownValues() {
        double[][] known = {
            {0.0, 0.0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
            {-1.5, -0.9661051464753108}, {2.0, 0.9953222650189527}, {2.9, 0.9999589021219005}, {3.0, 0.9999779095030014},
            {3.5, 0.9999992569016276}, {-4.0, -0.9999999845827421}, {5.9, 0.9999999999999999}, {6.5, 1.0}};
        double[] xs = new double[known.length];
        for (int i = 0; i < known.length; i++) {
            xs[i] = known[i][0];
        }
        for (DType t : CpuReference.FLOATING) {
            Graph g = new Graph("erf");
            Value x = g.input("x", Shape.of(xs.length), t);
            try (Tensor xt = Tensor.of(xs, t, xs.length)) {
                double[] in = xt.toDoubleArray();
                double[] out = GraphRun.run(g, Ops.erf(x), Map.of(x, xt));
                for (int i = 0; i < xs.length; i++) {
                    double exact = known[i][1];
                    // the input was rounded to t: erf' <= 2/sqrt(pi) bounds the effect; then one rounding of the result
                    double tol = 1.13 * Math.abs(in[i] - xs[i]) + (t == DType.F64 ? 1e-15 : Math.ulp((float) exact) * (t == DType.F32 ? 1 : t == DType.F16 ? 8192 : 65536));
                    assertEquals(exact, out[i], tol, ctx("erf", t, xs[i]));
                }
            }
        }
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY));
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY));
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
    }

    @Test
    void specialValuesPropagate() {
        double[] xs = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0, -1};
        Op[] ops = {Op.EXP, Op.LOG, Op.SQRT, Op.RELU, Op.ABS, Op.NEG, Op.TANH, Op.SIGMOID, Op.RECIPROCAL};
        for (DType t : CpuReference.FLOATING) {
            for (Op op : ops) {
                Graph g = new Graph("special");
                Value x = g.input("x", Shape.of(xs.length), t);
                Value y = switch (op) {
                    case EXP -> Ops.exp(x);
                    case LOG -> Ops.log(x);
                    case SQRT -> Ops.sqrt(x);
                    case RELU -> Ops.relu(x);
                    case ABS -> Ops.abs(x);
                    case NEG -> Ops.neg(x);
                    case TANH -> Ops.tanh(x);
                    case SIGMOID -> Ops.sigmoid(x);
                    default -> Ops.reciprocal(x);
                };
                try (Tensor xt = Tensor.of(xs, t, xs.length)) {
                    double[] out = GraphRun.run(g, y, Map.of(x, xt));
                    double[] expected = new double[xs.length];
                    for (int i = 0; i < xs.length; i++) {
                        expected[i] = CpuReference.store(t, CpuElementwise.unary(op, xs[i]));
                    }
                    assertSame(expected, out, ctx(op, t, "special values"));
                }
            }
        }
    }

    // ------------------------------------------------------------------ binary

    private static final Shape[][] BROADCASTS = {
        {Shape.of(3, 1, 19), Shape.of(2, 19)},   // both sides stretch
        {Shape.of(4, 21), Shape.of(4, 21)},      // same shape: one long row
        {Shape.of(4, 21), Shape.scalar()},       // broadcast scalar
        {Shape.scalar(), Shape.of(5, 3)},        // scalar on the left
        {Shape.of(6, 1), Shape.of(1, 35)},       // outer product
        {Shape.of(2, 3, 17), Shape.of(3, 1)},    // broadcast column
    };

    private void binary(Op op, java.util.function.BinaryOperator<Value> trace, DoubleBinaryOperator ref, LongBinaryOperator refLong,
                        DType[] types, double lo, double hi, boolean nonZeroB) {
        for (DType t : types) {
            for (Shape[] shapes : BROADCASTS) {
                Graph g = new Graph(op.printName());
                Value a = g.input("a", shapes[0], t);
                Value b = g.input("b", shapes[1], t);
                Value y = trace.apply(a, b);
                assertEquals(op, y.node().op());
                try (Tensor at = CpuReference.random(rnd, t, shapes[0], lo, hi);
                     Tensor bt = CpuReference.random(rnd, t, shapes[1], lo, hi)) {
                    if (nonZeroB) {
                        for (long i = 0; i < bt.numel(); i++) {
                            if (bt.getFlat(i) == 0) {
                                bt.setFlat(i, 3);
                            }
                        }
                    }
                    double[] av = at.toDoubleArray();
                    double[] bv = bt.toDoubleArray();
                    double[] out = GraphRun.run(g, y, Map.of(a, at, b, bt));
                    int[] od = y.shape().dims();
                    double[] expected = new double[out.length];
                    for (int i = 0; i < expected.length; i++) {
                        int[] idx = CpuReference.unravel(i, od);
                        double x = av[(int) CpuReference.broadcastIndex(idx, shapes[0].dims())];
                        double z = bv[(int) CpuReference.broadcastIndex(idx, shapes[1].dims())];
                        expected[i] = t.isFloating() ? CpuReference.store(t, ref.applyAsDouble(x, z))
                                : CpuReference.storeLong(t, refLong.applyAsLong((long) x, (long) z));
                    }
                    assertSame(expected, out, ctx(op, t, shapes[0], shapes[1]));
                }
            }
        }
    }

    @Test
    void binaryOpsBroadcastForEveryNumericDtype() {
        binary(Op.ADD, Ops::add, Double::sum, Long::sum, CpuReference.NUMERIC, -4, 4, false);
        binary(Op.SUB, Ops::sub, (x, y) -> x - y, (x, y) -> x - y, CpuReference.NUMERIC, -4, 4, false);
        binary(Op.MUL, Ops::mul, (x, y) -> x * y, (x, y) -> x * y, CpuReference.NUMERIC, -4, 4, false);
        binary(Op.DIV, Ops::div, (x, y) -> x / y, (x, y) -> x / y, CpuReference.NUMERIC, -4, 4, true);
        binary(Op.MAXIMUM, Ops::maximum, Math::max, Math::max, CpuReference.NUMERIC, -4, 4, false);
        binary(Op.MINIMUM, Ops::minimum, Math::min, Math::min, CpuReference.NUMERIC, -4, 4, false);
        binary(Op.POW, Ops::pow, Math::pow, (x, y) -> (long) Math.pow(x, y), CpuReference.FLOATING, 0.1, 3, false);
        binary(Op.POW, Ops::pow, Math::pow, (x, y) -> (long) Math.pow(x, y),
                new DType[] {DType.I64, DType.I32, DType.U8}, 0, 0, false);
    }

    @Test
    void maximumAndMinimumPropagateNaNAndOrderSignedZeros() {
        double[] av = {Double.NaN, 1, -0.0, 0.0, Double.NEGATIVE_INFINITY, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
        double[] bv = {1, Double.NaN, 0.0, -0.0, 5, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, Double.NaN};
        for (DType t : CpuReference.FLOATING) {
            Graph g = new Graph("nan");
            Value a = g.input("a", Shape.of(av.length), t);
            Value b = g.input("b", Shape.of(bv.length), t);
            try (Tensor at = Tensor.of(av, t, av.length); Tensor bt = Tensor.of(bv, t, bv.length)) {
                var outs = GraphRun.run(g, java.util.List.of(Ops.maximum(a, b), Ops.minimum(a, b)), Map.of(a, at, b, bt));
                double[] mx = new double[av.length];
                double[] mn = new double[av.length];
                for (int i = 0; i < av.length; i++) {
                    mx[i] = Math.max(av[i], bv[i]);
                    mn[i] = Math.min(av[i], bv[i]);
                }
                assertSame(mx, outs.get(0), ctx("maximum", t));
                assertSame(mn, outs.get(1), ctx("minimum", t));
            }
        }
    }

    @Test
    void comparisonsForEveryDtype() {
        Op[] ops = {Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.NE};
        for (DType t : CpuReference.ALL) {
            for (Op op : ops) {
                Graph g = new Graph("cmp");
                Value a = g.input("a", Shape.of(4, 1, 9), t);
                Value b = g.input("b", Shape.of(3, 9), t);
                Value y = switch (op) {
                    case LT -> Ops.lt(a, b);
                    case LE -> Ops.le(a, b);
                    case GT -> Ops.gt(a, b);
                    case GE -> Ops.ge(a, b);
                    case EQ -> Ops.eq(a, b);
                    default -> Ops.ne(a, b);
                };
                assertEquals(DType.BOOL, y.dtype());
                // small integer-valued floats make ties (and so EQ/LE/GE) common
                try (Tensor at = CpuReference.random(rnd, t, a.shape(), -2, 2); Tensor bt = CpuReference.random(rnd, t, b.shape(), -2, 2)) {
                    if (t.isFloating()) {
                        for (long i = 0; i < at.numel(); i++) {
                            at.setFlat(i, Math.round(at.getFlat(i)));
                        }
                        for (long i = 0; i < bt.numel(); i++) {
                            bt.setFlat(i, Math.round(bt.getFlat(i)));
                        }
                        at.setFlat(0, Double.NaN);
                    }
                    double[] av = at.toDoubleArray();
                    double[] bv = bt.toDoubleArray();
                    double[] out = GraphRun.run(g, y, Map.of(a, at, b, bt));
                    double[] expected = new double[out.length];
                    for (int i = 0; i < out.length; i++) {
                        int[] idx = CpuReference.unravel(i, y.shape().dims());
                        double x = av[(int) CpuReference.broadcastIndex(idx, a.shape().dims())];
                        double z = bv[(int) CpuReference.broadcastIndex(idx, b.shape().dims())];
                        boolean r = switch (op) {
                            case LT -> x < z;
                            case LE -> x <= z;
                            case GT -> x > z;
                            case GE -> x >= z;
                            case EQ -> x == z;
                            default -> x != z;
                        };
                        expected[i] = r ? 1 : 0;
                    }
                    assertSame(expected, out, ctx(op, t));
                }
            }
        }
    }

    @Test
    void float32ComparisonsAndWhereOnLongRows() {
        // Rows long enough for the vector loops plus a tail, with NaNs and ties; operands
        // contiguous or broadcast scalars on either side.
        Op[] ops = {Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.NE};
        Shape full = Shape.of(3, 45);
        for (Shape[] shapes : new Shape[][] {{full, full}, {full, Shape.scalar()}, {Shape.scalar(), full}}) {
            for (Op op : ops) {
                Graph g = new Graph("cmp-long");
                Value a = g.input("a", shapes[0], DType.F32);
                Value b = g.input("b", shapes[1], DType.F32);
                Value c = switch (op) {
                    case LT -> Ops.lt(a, b);
                    case LE -> Ops.le(a, b);
                    case GT -> Ops.gt(a, b);
                    case GE -> Ops.ge(a, b);
                    case EQ -> Ops.eq(a, b);
                    default -> Ops.ne(a, b);
                };
                Value picked = Ops.where(c, a, b);
                try (Tensor at = CpuReference.random(rnd, DType.F32, shapes[0], -2, 2); Tensor bt = CpuReference.random(rnd, DType.F32, shapes[1], -2, 2)) {
                    for (Tensor t : new Tensor[] {at, bt}) {
                        for (long i = 0; i < t.numel(); i++) {
                            t.setFlat(i, rnd.nextInt(10) == 0 ? Double.NaN : Math.round(t.getFlat(i)));
                        }
                    }
                    double[] av = at.toDoubleArray();
                    double[] bv = bt.toDoubleArray();
                    List<double[]> out = GraphRun.run(g, List.of(c, picked), Map.of(a, at, b, bt));
                    for (int i = 0; i < out.get(0).length; i++) {
                        double x = av[av.length == 1 ? 0 : i];
                        double z = bv[bv.length == 1 ? 0 : i];
                        boolean r = switch (op) {
                            case LT -> x < z;
                            case LE -> x <= z;
                            case GT -> x > z;
                            case GE -> x >= z;
                            case EQ -> x == z;
                            default -> x != z;
                        };
                        assertEquals(r ? 1.0 : 0.0, out.get(0)[i], 0.0, ctx(op, "f32 " + shapes[0] + " vs " + shapes[1], i));
                        assertEquals(Double.doubleToLongBits(r ? x : z), Double.doubleToLongBits(out.get(1)[i]),
                            ctx("where after " + op, "f32 " + shapes[0] + " vs " + shapes[1], i));
                    }
                }
            }
        }
    }

    @Test
    void whereSelectsWithThreeWayBroadcasting() {
        for (DType t : CpuReference.ALL) {
            Graph g = new Graph("where");
            Value c = g.input("c", Shape.of(3, 1), DType.BOOL);
            Value a = g.input("a", Shape.of(1, 7), t);
            Value b = g.input("b", Shape.of(2, 3, 7), t);
            Value y = Ops.where(c, a, b);
            assertEquals(Shape.of(2, 3, 7), y.shape());
            try (Tensor ct = Tensor.of(new double[] {1, 0, 1}, DType.BOOL, 3, 1);
                 Tensor at = CpuReference.random(rnd, t, a.shape(), -3, 3);
                 Tensor bt = CpuReference.random(rnd, t, b.shape(), -3, 3)) {
                double[] out = GraphRun.run(g, y, Map.of(c, ct, a, at, b, bt));
                for (int i = 0; i < out.length; i++) {
                    int[] idx = CpuReference.unravel(i, y.shape().dims());
                    double expected = idx[1] != 1 ? at.getDouble(0, idx[2]) : bt.getDouble(idx[0], idx[1], idx[2]);
                    assertEquals(expected, out[i], 0.0, ctx("where", t, i));
                }
            }
        }
    }

    @Test
    void stridedFeedsGiveTheSameResults() {
        Graph g = new Graph("strided");
        Value a = g.input("a", Shape.of(5, 4), DType.F32);
        Value b = g.input("b", Shape.of(5, 4), DType.F32);
        Value y = Ops.mul(Ops.add(a, b), a);
        try (Tensor base = CpuReference.random(rnd, DType.F32, Shape.of(4, 5), -2, 2);
             Tensor row = CpuReference.random(rnd, DType.F32, Shape.of(1, 4), -2, 2);
             Tensor big = CpuReference.random(rnd, DType.F32, Shape.of(10, 9), -2, 2)) {
            Tensor at = base.permute(1, 0);              // transposed
            Tensor bt = row.expand(Shape.of(5, 4));      // stride 0
            Tensor ct = big.slice(0, 1, 10, 2).slice(1, 2, 9, 2); // stepped, offset
            double[] out = GraphRun.run(g, y, Map.of(a, at, b, bt));
            double[] out2 = GraphRun.run(g, y, Map.of(a, ct, b, at));
            for (int i = 0; i < 5; i++) {
                for (int j = 0; j < 4; j++) {
                    double x = at.getDouble(i, j);
                    assertEquals((float) ((float) (x + bt.getDouble(i, j)) * x), out[i * 4 + j], 0.0, ctx("strided", i, j));
                    double z = ct.getDouble(i, j);
                    assertEquals((float) ((float) (z + x) * z), out2[i * 4 + j], 0.0, ctx("sliced", i, j));
                }
            }
        }
    }

    // ------------------------------------------------------------------ cast

    /** The documented conversion of a stored value {@code v} of {@code from} (exact {@code lv} for integers) to {@code to}. */
    private static double castRef(DType from, DType to, double v, long lv) {
        if (to == DType.BOOL) {
            return (from.isFloating() ? v != 0 : lv != 0) ? 1 : 0;
        }
        if (from.isFloating() && to.isFloating()) {
            return switch (to) {
                case F64 -> v;
                case F32 -> (float) v;
                case F16 -> Float16.toFloat(Float16.fromDouble(v));
                default -> BFloat16.toFloat(BFloat16.fromDouble(v));
            };
        }
        if (from.isFloating()) {
            return CpuReference.storeLong(to, (long) v);
        }
        if (to.isFloating()) {
            return switch (to) {
                case F64 -> (double) lv;
                case F32 -> (float) lv; // one rounding from the exact integer
                case F16 -> Float16.toFloat(Float16.fromFloat((float) lv)); // exact below 2^24; beyond that already infinity
                default -> bf16OfLong(lv);
            };
        }
        return CpuReference.storeLong(to, lv);
    }

    /** Nearest-even bfloat16 of an exact 64-bit integer, by exact integer arithmetic. */
    private static double bf16OfLong(long lv) {
        if (lv == 0) {
            return 0;
        }
        java.math.BigDecimal x = new java.math.BigDecimal(lv);
        float lo = BFloat16.toFloat(BFloat16.fromFloat((float) lv));
        // candidates: the bf16 values around (float) lv
        float best = lo;
        java.math.BigDecimal bestDist = null;
        for (int d = -2; d <= 2; d++) {
            short bits = (short) (BFloat16.fromFloat(lo) + d);
            float c = BFloat16.toFloat(bits);
            if (Float.isNaN(c) || Float.isInfinite(c)) {
                continue;
            }
            java.math.BigDecimal dist = new java.math.BigDecimal(c).subtract(x).abs();
            int cmp = bestDist == null ? -1 : dist.compareTo(bestDist);
            if (cmp < 0 || (cmp == 0 && (bits & 1) == 0)) {
                best = c;
                bestDist = dist;
            }
        }
        return best;
    }

    @Test
    void castBetweenEveryPairOfDtypes() {
        double[] values = {0, -0.0, 1, -1, 2.5, -2.5, 3.7, -3.7, 127, 128, 255, 256, 300, -129, 65504, 65520, 70000, 1e10, -1e10,
            1.0 / 3, 1 + 0x1.0p-11 + 0x1.0p-40, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 16842753, (1L << 40) + 1};
        long[] longs = {0, 1, -1, 127, 128, 255, 256, 300, -129, 65504, 65519, 65520, 70000, 16777217, 16842753, -16842753,
            Integer.MAX_VALUE, Integer.MIN_VALUE, (1L << 40) + 1, (1L << 60) + (1L << 36) + 1, Long.MAX_VALUE, Long.MIN_VALUE};
        for (DType from : CpuReference.ALL) {
            Tensor src;
            if (from == DType.I64) {
                src = Tensor.ofLongs(longs, longs.length);
            } else if (from.isFloating()) {
                src = Tensor.of(values, from, values.length);
            } else {
                src = Tensor.zeros(Shape.of(longs.length), from);
                for (int i = 0; i < longs.length; i++) {
                    long l = longs[i];
                    src.setDouble(switch (from) {
                        case I32 -> (int) l;
                        case U8 -> l & 0xff;
                        default -> l != 0 ? 1 : 0;
                    }, i);
                }
            }
            try (Tensor s = src) {
                double[] sv = s.toDoubleArray();
                long[] sl = s.toLongArray();
                for (DType to : CpuReference.ALL) {
                    if (to == from) {
                        continue;
                    }
                    Graph g = new Graph("cast");
                    Value x = g.input("x", s.shape(), from);
                    Value y = Ops.cast(x, to);
                    assertEquals(to, y.dtype());
                    double[] out = GraphRun.run(g, y, Map.of(x, s));
                    if (from != DType.I64) { // the eager Tensor.to goes through double, inexact for i64 beyond 2^53
                        try (Tensor eager = s.to(to)) {
                            double[] ev = eager.toDoubleArray();
                            for (int i = 0; i < sv.length; i++) {
                                if (!(Double.isNaN(ev[i]) && Double.isNaN(out[i])) && !(from.isFloating() && Double.isNaN(sv[i]) && !to.isFloating())) {
                                    assertEquals(ev[i], out[i], 0.0, ctx("CAST kernel vs Tensor.to", from, "->", to, "of", sv[i]));
                                }
                            }
                        }
                    }
                    for (int i = 0; i < sv.length; i++) {
                        if (from.isFloating() && !to.isFloating() && to != DType.BOOL && (Double.isNaN(sv[i]) || Math.abs(sv[i]) > 1e18)) {
                            continue; // NaN and out-of-range float-to-integer conversions are unspecified
                        }
                        double expected = castRef(from, to, sv[i], sl[i]);
                        if (Double.isNaN(expected)) {
                            assertTrue(Double.isNaN(out[i]), ctx("cast", from, to, sv[i]));
                        } else {
                            assertEquals(expected, out[i], 0.0, ctx("cast", from, "->", to, "of", from.isFloating() ? sv[i] : sl[i]));
                        }
                    }
                }
            }
        }
    }

    @Test
    void castToHalfMatchesTheNumericConversions() {
        // every f16 pattern (as f32) cast to f16 and bf16 and back, and random f64 values: the
        // kernel's rounding is Float16/BFloat16's, with one rounding from double
        float[] all = new float[65536];
        for (int h = 0; h < all.length; h++) {
            all[h] = Float16.toFloat((short) h);
        }
        double[] doubles = new double[4096];
        for (int i = 0; i < doubles.length; i++) {
            doubles[i] = Math.scalb(1 + rnd.nextDouble(), rnd.nextInt(-30, 17)) * (rnd.nextBoolean() ? 1 : -1);
        }
        Graph g = new Graph("cast16");
        Value f = g.input("f", Shape.of(all.length), DType.F32);
        Value d = g.input("d", Shape.of(doubles.length), DType.F64);
        try (Tensor ft = Tensor.of(all, all.length); Tensor dt = Tensor.of(doubles, DType.F64, doubles.length)) {
            var outs = GraphRun.run(g, java.util.List.of(Ops.cast(f, DType.F16), Ops.cast(f, DType.BF16), Ops.cast(d, DType.F16), Ops.cast(d, DType.BF16)),
                    Map.of(f, ft, d, dt));
            for (int h = 0; h < all.length; h++) {
                if (Float.isNaN(all[h])) {
                    assertTrue(Double.isNaN(outs.get(0)[h]) && Double.isNaN(outs.get(1)[h]));
                    continue;
                }
                assertEquals(all[h], outs.get(0)[h], 0.0, "f32 -> f16 of an f16 value is exact: " + all[h]);
                assertEquals(BFloat16.round(all[h]), outs.get(1)[h], 0.0, "f32 -> bf16 of " + all[h]);
            }
            for (int i = 0; i < doubles.length; i++) {
                assertEquals(Float16.toFloat(Float16.fromDouble(doubles[i])), outs.get(2)[i], 0.0, ctx("f64 -> f16", doubles[i]));
                assertEquals(BFloat16.toFloat(BFloat16.fromDouble(doubles[i])), outs.get(3)[i], 0.0, ctx("f64 -> bf16", doubles[i]));
            }
        }
    }
}
