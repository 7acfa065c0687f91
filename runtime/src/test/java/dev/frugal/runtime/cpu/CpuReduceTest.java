package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.NonFiniteException;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * REDUCE_SUM/MAX/MIN over every combination of axes (with and without keepdims) and ARGMAX
 * (ties, NaN) for every dtype, against reference loops; long rows that take the split-partials
 * path; empty inputs; F16/BF16 inputs reduced into an F32 output (as mixed precision builds
 * them), bit-identical to the F32 reduction of the input cast to F32, on every kernel path.
 */
class CpuReduceTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private static final int[][] AXES = {{}, {0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}, {0, 1, 2}, {-1}, {-3, -1}};

    /** Reference reduction of x (dims) over axes, in double (sums in row-major order), and the output dims. */
    private static double[] reduce(Op op, double[] x, int[] dims, int[] axes, boolean integral) {
        boolean[] red = new boolean[dims.length];
        if (axes.length == 0) {
            java.util.Arrays.fill(red, true);
        }
        for (int a : axes) {
            red[a < 0 ? a + dims.length : a] = true;
        }
        int[] keptDims = new int[dims.length];
        for (int d = 0; d < dims.length; d++) {
            keptDims[d] = red[d] ? 1 : dims[d];
        }
        int outN = 1;
        for (int d : keptDims) {
            outN *= d;
        }
        double[] out = new double[outN];
        boolean[] seen = new boolean[outN];
        long[] outL = new long[outN];
        for (int i = 0; i < x.length; i++) {
            int[] idx = CpuReference.unravel(i, dims);
            for (int d = 0; d < dims.length; d++) {
                if (red[d]) {
                    idx[d] = 0;
                }
            }
            int o = (int) CpuReference.ravel(idx, keptDims);
            double v = x[i];
            if (!seen[o]) {
                out[o] = v;
                outL[o] = (long) v;
                seen[o] = true;
            } else {
                switch (op) {
                    case REDUCE_SUM -> {
                        out[o] += v;
                        outL[o] += (long) v;
                    }
                    case REDUCE_MAX -> out[o] = Math.max(out[o], v);
                    default -> out[o] = Math.min(out[o], v);
                }
            }
        }
        if (integral && op == Op.REDUCE_SUM) {
            for (int o = 0; o < outN; o++) {
                out[o] = outL[o];
            }
        }
        return out;
    }

    @Test
    void sumMaxMinOverEveryAxisSetForEveryDtype() {
        Shape shape = Shape.of(3, 10, 7);
        for (DType t : CpuReference.NUMERIC) {
            for (Op op : new Op[] {Op.REDUCE_SUM, Op.REDUCE_MAX, Op.REDUCE_MIN}) {
                for (int[] axes : AXES) {
                    for (boolean keep : new boolean[] {false, true}) {
                        Graph g = new Graph("reduce");
                        Value x = g.input("x", shape, t);
                        Value y = switch (op) {
                            case REDUCE_SUM -> Ops.sum(x, keep, axes);
                            case REDUCE_MAX -> Ops.max(x, keep, axes);
                            default -> Ops.min(x, keep, axes);
                        };
                        try (Tensor xt = CpuReference.random(rnd, t, shape, -3, 3)) {
                            double[] xv = xt.toDoubleArray();
                            double[] out = GraphRun.run(g, y, Map.of(x, xt));
                            double[] ref = reduce(op, xv, shape.dims(), axes, !t.isFloating());
                            double[] expected = new double[ref.length];
                            double[] scale = new double[ref.length];
                            double[] absRef = reduce(Op.REDUCE_SUM, java.util.Arrays.stream(xv).map(Math::abs).toArray(), shape.dims(), axes, false);
                            for (int i = 0; i < ref.length; i++) {
                                expected[i] = t.isFloating() ? CpuReference.store(t, ref[i]) : CpuReference.storeLong(t, (long) ref[i]);
                                scale[i] = absRef[i];
                            }
                            String what = op + " " + t + " axes=" + java.util.Arrays.toString(axes) + (keep ? " keepdims" : "") + " seed " + seed;
                            assertEquals(y.shape().numel(), out.length, what);
                            if (op != Op.REDUCE_SUM || !t.isFloating() || t == DType.F64) {
                                CpuReference.assertClose(expected, out, t == DType.F64 ? 1e-13 : 0, scale, what);
                            } else {
                                // float32 lanes sum in another order; F16/BF16 round once at the end
                                double tol = t == DType.F32 ? 1e-6 : t == DType.F16 ? 2e-3 : 1.6e-2;
                                CpuReference.assertClose(expected, out, tol, scale, what);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void keepDimsShapes() {
        Graph g = new Graph("shapes");
        Value x = g.input("x", Shape.of(2, 3, 4), DType.F32);
        assertEquals(Shape.of(2, 1, 4), Ops.sum(x, true, 1).shape());
        assertEquals(Shape.of(2, 4), Ops.sum(x, false, 1).shape());
        assertEquals(Shape.of(1, 1, 1), Ops.max(x, true).shape());
        assertEquals(Shape.scalar(), Ops.min(x, false).shape());
        assertEquals(Shape.of(1, 3, 1), Ops.sum(x, true, 0, 2).shape());
        assertEquals(Shape.of(2, 1, 4), Ops.argmax(x, 1, true).shape());
        assertEquals(DType.I64, Ops.argmax(x, 1, true).dtype());
    }

    @Test
    void longRowsAndColumnsSplitAcrossThreads() {
        // [2, 70000] rows take the split-partials path; [70000, 3] takes the column path; [70000] a full sum
        for (Shape shape : new Shape[] {Shape.of(2, 70000), Shape.of(70000, 3), Shape.of(70001)}) {
            int axis = shape.rank() == 2 && shape.dim(1) == 3 ? 0 : -1;
            for (DType t : new DType[] {DType.F32, DType.F64, DType.I64, DType.BF16}) {
                Graph g = new Graph("long");
                Value x = g.input("x", shape, t);
                Value s = Ops.sum(x, false, axis);
                Value mx = Ops.max(x, false, axis);
                Value mn = Ops.min(x, false, axis);
                try (Tensor xt = CpuReference.random(rnd, t, shape, -1, 1)) {
                    double[] xv = xt.toDoubleArray();
                    List<double[]> out = GraphRun.run(g, List.of(s, mx, mn), Map.of(x, xt));
                    int[] ax = {axis};
                    double[] absSum = reduce(Op.REDUCE_SUM, java.util.Arrays.stream(xv).map(Math::abs).toArray(), shape.dims(), ax, false);
                    double[] sum = reduce(Op.REDUCE_SUM, xv, shape.dims(), ax, !t.isFloating());
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] = t.isFloating() ? CpuReference.store(t, sum[i]) : sum[i];
                    }
                    double tol = t == DType.F32 ? 1e-6 : t == DType.BF16 ? 1.6e-2 : t == DType.F64 ? 1e-13 : 0;
                    CpuReference.assertClose(sum, out.get(0), tol, absSum, "sum " + t + shape + " seed " + seed);
                    CpuReference.assertSame(reduce(Op.REDUCE_MAX, xv, shape.dims(), ax, false), out.get(1), "max " + t + shape);
                    CpuReference.assertSame(reduce(Op.REDUCE_MIN, xv, shape.dims(), ax, false), out.get(2), "min " + t + shape);
                }
            }
        }
    }

    @Test
    void channelStatisticsOfNchwBatches() {
        // [R1, K, R2] (batch-norm statistics over N, H, W) and [A, R1, K, R2], rows long enough for
        // the vector loop with a scalar tail, for float, double, half and integer data.
        Object[][] cases = {
            {Shape.of(6, 5, 7, 5), new int[] {0, 2, 3}},
            {Shape.of(3, 4, 5, 33), new int[] {1, 3}},
            {Shape.of(9, 3, 16), new int[] {0, 2}},
        };
        for (Object[] c : cases) {
            Shape shape = (Shape) c[0];
            int[] ax = (int[]) c[1];
            for (DType t : new DType[] {DType.F32, DType.F64, DType.F16, DType.I32}) {
                Graph g = new Graph("channels");
                Value x = g.input("x", shape, t);
                Value s = Ops.sum(x, false, ax);
                Value mx = Ops.max(x, false, ax);
                Value mn = Ops.min(x, true, ax);
                try (Tensor xt = CpuReference.random(rnd, t, shape, -2, 2)) {
                    double[] xv = xt.toDoubleArray();
                    List<double[]> out = GraphRun.run(g, List.of(s, mx, mn), Map.of(x, xt));
                    double[] absSum = reduce(Op.REDUCE_SUM, java.util.Arrays.stream(xv).map(Math::abs).toArray(), shape.dims(), ax, false);
                    double[] sum = reduce(Op.REDUCE_SUM, xv, shape.dims(), ax, !t.isFloating());
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] = t.isFloating() ? CpuReference.store(t, sum[i]) : sum[i];
                    }
                    double tol = t == DType.F32 ? 1e-6 : t == DType.F16 ? 2e-3 : t == DType.F64 ? 1e-13 : 0;
                    String what = t + " " + shape + " axes " + java.util.Arrays.toString(ax) + " seed " + seed;
                    CpuReference.assertClose(sum, out.get(0), tol, absSum, "sum " + what);
                    CpuReference.assertSame(reduce(Op.REDUCE_MAX, xv, shape.dims(), ax, false), out.get(1), "max " + what);
                    CpuReference.assertSame(reduce(Op.REDUCE_MIN, xv, shape.dims(), ax, false), out.get(2), "min " + what);
                }
            }
        }
    }

    @Test
    void argmaxPicksTheFirstMaximumAndNaN() {
        for (DType t : CpuReference.NUMERIC) {
            Shape shape = Shape.of(3, 6, 5);
            for (int axis = -3; axis < 3; axis++) {
                for (boolean keep : new boolean[] {false, true}) {
                    Graph g = new Graph("argmax");
                    Value x = g.input("x", shape, t);
                    Value y = Ops.argmax(x, axis, keep);
                    try (Tensor xt = CpuReference.random(rnd, t, shape, -2, 2)) {
                        if (t.isFloating()) {
                            for (long i = 0; i < xt.numel(); i++) {
                                xt.setFlat(i, Math.round(xt.getFlat(i))); // many ties
                            }
                        } else if (t == DType.U8) {
                            for (long i = 0; i < xt.numel(); i++) {
                                xt.setFlat(i, xt.getFlat(i) % 4);
                            }
                        }
                        double[] xv = xt.toDoubleArray();
                        double[] out = GraphRun.run(g, y, Map.of(x, xt));
                        int a = axis < 0 ? axis + 3 : axis;
                        int[] dims = shape.dims();
                        int[] od = dims.clone();
                        od[a] = 1;
                        double[] expected = new double[out.length];
                        for (int o = 0; o < out.length; o++) {
                            int[] idx = CpuReference.unravel(o, od);
                            int best = 0;
                            double bv = Double.NEGATIVE_INFINITY;
                            for (int k = 0; k < dims[a]; k++) {
                                idx[a] = k;
                                double v = xv[(int) CpuReference.ravel(idx, dims)];
                                if (k == 0 || v > bv) { // strictly greater: the first maximum wins ties
                                    best = k;
                                    bv = v;
                                }
                            }
                            expected[o] = best;
                        }
                        CpuReference.assertSame(expected, out, "argmax " + t + " axis " + axis + " seed " + seed);
                    }
                }
            }
        }
        // NaN counts as the maximum; the first one wins
        Graph g = new Graph("nan");
        Value x = g.input("x", Shape.of(2, 4), DType.F32);
        try (Tensor xt = Tensor.of(new float[] {1, Float.NaN, 5, Float.NaN, 3, 3, 2, 3}, 2, 4)) {
            assertArrayEquals(new double[] {1, 0}, GraphRun.run(g, Ops.argmax(x, 1, false), Map.of(x, xt)));
        }
    }

    @Test
    void emptyInputs() {
        Graph g = new Graph("empty");
        Value x = g.input("x", Shape.of(3, 0), DType.F32);
        Value e = g.input("e", Shape.of(0, 4), DType.F32);
        try (Tensor xt = Tensor.zeros(Shape.of(3, 0), DType.F32); Tensor et = Tensor.zeros(Shape.of(0, 4), DType.F32)) {
            List<double[]> out = GraphRun.run(g, List.of(Ops.sum(x, false, 1), Ops.sum(x, false), Ops.max(e, false, 1), Ops.sum(e, true, 0)),
                    Map.of(x, xt, e, et));
            assertArrayEquals(new double[] {0, 0, 0}, out.get(0), "sum over an empty axis is 0");
            assertArrayEquals(new double[] {0}, out.get(1));
            assertEquals(0, out.get(2).length);
            assertArrayEquals(new double[4], out.get(3));
        }
    }

    @Test
    void sameProgramGivesIdenticalResultsOnEveryRun() {
        Graph g = new Graph("repeat");
        Value x = g.input("x", Shape.of(3, 100_000), DType.F32);
        try (Program p = Executor.cpu().compile(g, List.of(Ops.sum(x, false, 1), Ops.sum(x, false)));
             Tensor xt = CpuReference.random(rnd, DType.F32, x.shape(), -1, 1)) {
            float[] first = p.run(Map.of(x, xt)).get(0).toFloatArray();
            float scalar = p.run(Map.of(x, xt)).get(1).toFloatArray()[0];
            for (int i = 0; i < 5; i++) {
                List<Tensor> out = p.run(Map.of(x, xt));
                assertArrayEquals(first, out.get(0).toFloatArray(), "run " + i);
                assertEquals(scalar, out.get(1).toFloatArray()[0], 0f, "run " + i);
            }
        }
    }

    /** A reduction of a half input {@code x} with an F32 output, as the autocast pass builds it (Ops keeps the input dtype). */
    private static Value reduceToF32(Op op, Value x, boolean keep, int... axes) {
        Value same = switch (op) {
            case REDUCE_SUM -> Ops.sum(x, keep, axes);
            case REDUCE_MAX -> Ops.max(x, keep, axes);
            default -> Ops.min(x, keep, axes);
        };
        return x.graph().add(op, List.of(x), same.node().attrs(OpAttrs.Reduce.class), same.shape(), DType.F32);
    }

    private static Value reduce(Op op, Value x, boolean keep, int... axes) {
        return switch (op) {
            case REDUCE_SUM -> Ops.sum(x, keep, axes);
            case REDUCE_MAX -> Ops.max(x, keep, axes);
            default -> Ops.min(x, keep, axes);
        };
    }

    @Test
    void halfInputsReduceIntoFloat32LikeTheFloat32ReductionOfTheCast() {
        // Every kernel path: [A, R, K] rows (K == 1, with and without a vector tail and longer than
        // a widening block), columns (K > 1, with a vector tail), split partials (few long rows, a
        // full sum), channel statistics [R1, K, R2] and [A, R1, K, R2], and the general odometer.
        Object[][] cases = {
            {Shape.of(5, 37), new int[] {1}},
            {Shape.of(7, 3), new int[] {1}},
            {Shape.of(3, 1500), new int[] {-1}},
            {Shape.of(3, 37, 21), new int[] {1}},
            {Shape.of(4, 300, 3), new int[] {1}},
            {Shape.of(70001), new int[] {}},
            {Shape.of(2, 70000), new int[] {1}},
            {Shape.of(5, 7, 9), new int[] {}},
            {Shape.of(6, 5, 7, 9), new int[] {0, 2, 3}},
            {Shape.of(3, 4, 5, 33), new int[] {1, 3}},
            {Shape.of(16, 8, 12, 12), new int[] {0, 2, 3}},
            {Shape.of(3, 10, 7, 4), new int[] {0, 2}},
            {Shape.of(1, 9, 1, 11), new int[] {1, 3}},
        };
        for (Object[] c : cases) {
            Shape shape = (Shape) c[0];
            int[] ax = (int[]) c[1];
            for (DType t : new DType[] {DType.F16, DType.BF16}) {
                for (boolean keep : new boolean[] {false, true}) {
                    Graph g = new Graph("mixed");
                    Value x = g.input("x", shape, t);
                    Value x32 = Ops.cast(x, DType.F32);
                    List<Value> outs = new java.util.ArrayList<>();
                    for (Op op : new Op[] {Op.REDUCE_SUM, Op.REDUCE_MAX, Op.REDUCE_MIN}) {
                        Value mixed = reduceToF32(op, x, keep, ax);
                        assertEquals(DType.F32, mixed.dtype());
                        outs.add(mixed);
                        outs.add(reduce(op, x32, keep, ax));
                    }
                    try (Tensor xt = CpuReference.random(rnd, t, shape, -2, 3)) {
                        List<double[]> out = GraphRun.run(g, outs, Map.of(x, xt));
                        String what = t + " " + shape + " axes " + java.util.Arrays.toString(ax) + (keep ? " keepdims" : "") + " seed " + seed;
                        CpuReference.assertSame(out.get(1), out.get(0), "sum " + what);
                        CpuReference.assertSame(out.get(3), out.get(2), "max " + what);
                        CpuReference.assertSame(out.get(5), out.get(4), "min " + what);
                        // and the sum is the float64 sum up to float32 accumulation (no rounding to half)
                        double[] xv = xt.toDoubleArray();
                        int[] axes = ax.length == 0 ? java.util.stream.IntStream.range(0, shape.rank()).toArray() : ax;
                        double[] sum = reduce(Op.REDUCE_SUM, xv, shape.dims(), axes, false);
                        double[] abs = reduce(Op.REDUCE_SUM, java.util.Arrays.stream(xv).map(Math::abs).toArray(), shape.dims(), axes, false);
                        CpuReference.assertClose(sum, out.get(0), 1e-6, abs, "sum vs float64 " + what);
                    }
                }
            }
        }
    }

    @Test
    void halfSumsIntoFloat32DoNotOverflowAndTheNonFiniteCheckStillWorks() {
        Graph g = new Graph("mixed_overflow");
        Value h = g.input("h", Shape.of(2, 1000), DType.F16);
        Value rows = reduceToF32(Op.REDUCE_SUM, h, false, 1);
        Value all = reduceToF32(Op.REDUCE_SUM, h, false);
        try (Program p = Executor.cpu().compile(g, List.of(rows, all));
             Program onlyRows = Executor.cpu().compile(g, List.of(rows));
             Tensor big = Tensor.full(h.shape(), DType.F16, 60000)) {
            // 1000 * 60000 is far past F16's 65504, and finite in F32: no error.
            List<Tensor> out = p.run(Map.of(h, big));
            assertArrayEquals(new float[] {6e7f, 6e7f}, out.get(0).toFloatArray());
            assertEquals(1.2e8f, out.get(1).toFloatArray()[0]);
            big.setFlat(1500, Double.NEGATIVE_INFINITY);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> onlyRows.run(Map.of(h, big)));
            assertEquals(Op.REDUCE_SUM, e.op());
            assertEquals(1, e.outputIndex());
            assertEquals(1500, e.inputIndex());
        }
        Graph n = new Graph("mixed_nan");
        Value b = n.input("b", Shape.of(4, 6, 5), DType.BF16);
        Value stat = reduceToF32(Op.REDUCE_MAX, b, false, 0, 2);
        try (Program p = Executor.cpu().compile(n, List.of(stat));
             Tensor bt = CpuReference.random(rnd, DType.BF16, b.shape(), -1, 1)) {
            bt.setFlat(2 * 30 + 3 * 5 + 4, Double.NaN);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> p.run(Map.of(b, bt)));
            assertEquals(3, e.outputIndex());
        }
    }

    @Test
    void otherDtypeChangesAreRefusedAtCompileTime() {
        for (DType[] io : new DType[][] {{DType.F32, DType.F64}, {DType.F16, DType.F64}, {DType.F32, DType.F16}, {DType.I32, DType.F32}}) {
            Graph g = new Graph("refused");
            Value x = g.input("x", Shape.of(3, 4), io[0]);
            Value y = x.graph().add(Op.REDUCE_SUM, List.of(x), new OpAttrs.Reduce(new int[] {1}, false), Shape.of(3), io[1]);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> Executor.cpu().compile(g, List.of(y)).close());
            assertTrue(e.getMessage().contains("not to " + io[1]), e.getMessage());
        }
    }
}
