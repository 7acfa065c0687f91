package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.numeric.Philox;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Max/average pooling and their gradients (padding, stride, overlapping windows, ties) for the
 * floating dtypes, F16/BF16 pooling as the rounded float32 pooling of the widened input (every
 * path: the 2x2 vector tournaments, odd widths, general windows; NaNs, ties, signed zeros), and
 * the source ops CONSTANT, IOTA and RANDOM_UNIFORM, on the CPU backend.
 */
class CpuPoolingSourcesTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private static final OpAttrs.Pool2d[] WINDOWS = {
        new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false),
        new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false),
        new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, true),
        new OpAttrs.Pool2d(3, 2, 1, 2, 1, 1, false),
        new OpAttrs.Pool2d(1, 3, 1, 1, 0, 1, true),
    };

    /** Window [y0,y1) x [x0,x1) of output (oy, ox), clipped to the input. */
    private static int[] window(OpAttrs.Pool2d p, int h, int w, int oy, int ox) {
        int y0 = oy * p.strideH() - p.padH();
        int x0 = ox * p.strideW() - p.padW();
        return new int[] {Math.max(y0, 0), Math.min(y0 + p.kernelH(), h), Math.max(x0, 0), Math.min(x0 + p.kernelW(), w)};
    }

    @Test
    void poolingForwardAndGradients() {
        int n = 2;
        int c = 3;
        int h = 7;
        int w = 6;
        for (DType t : CpuReference.FLOATING) {
            for (OpAttrs.Pool2d p : WINDOWS) {
                Graph g = new Graph("pool");
                Value x = g.input("x", Shape.of(n, c, h, w), t);
                Value mx = Ops.maxPool2d(x, p);
                Value av = Ops.avgPool2d(x, p);
                int oh = mx.shape().dim(2);
                int ow = mx.shape().dim(3);
                Value dy = g.input("dy", mx.shape(), t);
                Value mg = Ops.maxPool2dGrad(x, dy, p);
                Value ag = Ops.avgPool2dGrad(dy, p, x.shape());
                try (Tensor xt = CpuReference.random(rnd, t, x.shape(), -3, 3); Tensor dyt = CpuReference.random(rnd, t, dy.shape(), -1, 1)) {
                    for (long i = 0; i < xt.numel(); i += 5) {
                        xt.setFlat(i, 1); // ties inside windows
                    }
                    double[] xv = xt.toDoubleArray();
                    double[] dv = dyt.toDoubleArray();
                    List<double[]> out = GraphRun.run(g, List.of(mx, av, mg, ag), Map.of(x, xt, dy, dyt));
                    double[] emx = new double[n * c * oh * ow];
                    double[] eav = new double[emx.length];
                    double[] emg = new double[xv.length];
                    double[] eag = new double[xv.length];
                    for (int pl = 0; pl < n * c; pl++) {
                        for (int oy = 0; oy < oh; oy++) {
                            for (int ox = 0; ox < ow; ox++) {
                                int[] win = window(p, h, w, oy, ox);
                                int o = (pl * oh + oy) * ow + ox;
                                int best = -1;
                                double sum = 0;
                                for (int iy = win[0]; iy < win[1]; iy++) {
                                    for (int ix = win[2]; ix < win[3]; ix++) {
                                        int at = (pl * h + iy) * w + ix;
                                        if (best < 0 || xv[at] > xv[best]) {
                                            best = at;
                                        }
                                        sum += xv[at];
                                    }
                                }
                                int count = p.countIncludePad() ? p.kernelH() * p.kernelW() : (win[1] - win[0]) * (win[3] - win[2]);
                                emx[o] = xv[best];
                                eav[o] = CpuReference.store(t, sum / count);
                                emg[best] += dv[o];
                                for (int iy = win[0]; iy < win[1]; iy++) {
                                    for (int ix = win[2]; ix < win[3]; ix++) {
                                        eag[(pl * h + iy) * w + ix] += dv[o] / count;
                                    }
                                }
                            }
                        }
                    }
                    String what = t + " " + p + " seed " + seed;
                    CpuReference.assertSame(emx, out.get(0), "max_pool2d " + what);
                    double tol = t == DType.F64 ? 1e-14 : t == DType.F32 ? 1e-6 : t == DType.F16 ? 2e-3 : 1.6e-2;
                    CpuReference.assertClose(eav, out.get(1), tol, null, "avg_pool2d " + what);
                    // gradients of overlapping windows accumulate in float32 (F16/BF16) or the stored dtype
                    CpuReference.assertClose(emg, out.get(2), tol * 4, null, "max_pool2d_grad " + what);
                    CpuReference.assertClose(eag, out.get(3), tol * 4, null, "avg_pool2d_grad " + what);
                }
            }
        }
    }

    @Test
    void maxPooling2x2FindsTheFirstNaNElseTheFirstMaximumOnEveryPath() {
        // The 2x2 stride-2 float32 paths (vector tournament for even widths, unrolled scan for odd
        // ones) against the plain window scan, on planes with NaNs, ties and signed zeros.
        OpAttrs.Pool2d p = new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false);
        float[] specials = {Float.NaN, 0f, -0f, 1f, 1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
        for (int[] hw : new int[][] {{8, 40}, {6, 7}, {28, 28}}) {
            int h = hw[0];
            int w = hw[1];
            Graph g = new Graph("pool2x2");
            Value x = g.input("x", Shape.of(2, 3, h, w), DType.F32);
            Value mx = Ops.maxPool2d(x, p);
            Value dy = g.input("dy", mx.shape(), DType.F32);
            Value mg = Ops.maxPool2dGrad(x, dy, p);
            int oh = h / 2;
            int ow = w / 2;
            try (Tensor xt = CpuReference.random(rnd, DType.F32, x.shape(), -2, 2); Tensor dyt = CpuReference.random(rnd, DType.F32, dy.shape(), -1, 1)) {
                for (long i = 0; i < xt.numel(); i++) {
                    if (rnd.nextInt(4) == 0) {
                        xt.setFlat(i, specials[rnd.nextInt(specials.length)]);
                    }
                }
                double[] xv = xt.toDoubleArray();
                double[] dv = dyt.toDoubleArray();
                List<double[]> out = GraphRun.run(g, List.of(mx, mg), Map.of(x, xt, dy, dyt));
                double[] emx = new double[6 * oh * ow];
                double[] emg = new double[xv.length];
                for (int pl = 0; pl < 6; pl++) {
                    for (int oy = 0; oy < oh; oy++) {
                        for (int ox = 0; ox < ow; ox++) {
                            int best = -1;
                            scan:
                            for (int iy = 2 * oy; iy < 2 * oy + 2; iy++) {
                                for (int ix = 2 * ox; ix < 2 * ox + 2; ix++) {
                                    int at = (pl * h + iy) * w + ix;
                                    if (Double.isNaN(xv[at])) {
                                        best = at;
                                        break scan;
                                    }
                                    if (best < 0 || xv[at] > xv[best]) {
                                        best = at;
                                    }
                                }
                            }
                            int o = (pl * oh + oy) * ow + ox;
                            emx[o] = xv[best];
                            emg[best] += dv[o];
                        }
                    }
                }
                String what = h + "x" + w + " seed " + seed;
                CpuReference.assertSame(emx, out.get(0), "max_pool2d " + what);
                CpuReference.assertSame(emg, out.get(1), "max_pool2d_grad " + what);
            }
        }
    }

    @Test
    void halfPoolingIsTheRoundedFloat32PoolingOfTheWidenedInput() {
        OpAttrs.Pool2d[] windows = {
            new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false),
            new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false),
            new OpAttrs.Pool2d(3, 3, 1, 1, 1, 1, true),
            new OpAttrs.Pool2d(3, 2, 1, 2, 1, 1, false),
        };
        float[] specials = {Float.NaN, 0f, -0f, 1f, 1f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
        for (DType t : new DType[] {DType.F16, DType.BF16}) {
            for (int[] hw : new int[][] {{8, 40}, {7, 7}, {28, 28}, {5, 6}}) {
                for (OpAttrs.Pool2d p : windows) {
                    Graph g = new Graph("half_pool");
                    Value x = g.input("x", Shape.of(2, 3, hw[0], hw[1]), t);
                    Value mx = Ops.maxPool2d(x, p);
                    Value dy = g.input("dy", mx.shape(), t);
                    Value x32 = Ops.cast(x, DType.F32);
                    Value dy32 = Ops.cast(dy, DType.F32);
                    List<Value> outs = List.of(mx, Ops.avgPool2d(x, p), Ops.maxPool2dGrad(x, dy, p), Ops.avgPool2dGrad(dy, p, x.shape()),
                            Ops.maxPool2d(x32, p), Ops.avgPool2d(x32, p), Ops.maxPool2dGrad(x32, dy32, p), Ops.avgPool2dGrad(dy32, p, x.shape()));
                    try (Tensor xt = CpuReference.random(rnd, t, x.shape(), -2, 2); Tensor dyt = CpuReference.random(rnd, t, dy.shape(), -1, 1)) {
                        boolean finite = p.countIncludePad(); // one finite variant keeps the average pooling checks meaningful
                        for (long i = 0; i < xt.numel(); i++) {
                            if (rnd.nextInt(4) == 0) {
                                xt.setFlat(i, finite ? Math.round(xt.getFlat(i)) : specials[rnd.nextInt(specials.length)]);
                            }
                        }
                        List<double[]> out = GraphRun.run(g, outs, Map.of(x, xt, dy, dyt));
                        String[] names = {"max_pool2d", "avg_pool2d", "max_pool2d_grad", "avg_pool2d_grad"};
                        for (int i = 0; i < 4; i++) {
                            double[] rounded = out.get(4 + i).clone();
                            for (int j = 0; j < rounded.length; j++) {
                                rounded[j] = CpuReference.store(t, rounded[j]);
                            }
                            CpuReference.assertSame(rounded, out.get(i), names[i] + " " + t + " " + hw[0] + "x" + hw[1] + " " + p + " seed " + seed);
                        }
                    }
                }
            }
        }
    }

    @Test
    void maxPoolingIgnoresPaddingEvenForNegativeInputs() {
        Graph g = new Graph("neg");
        Value x = g.input("x", Shape.of(1, 1, 2, 2), DType.F32);
        Value y = Ops.maxPool2d(x, new OpAttrs.Pool2d(3, 3, 1, 1, 1, 1, false));
        try (Tensor xt = Tensor.of(new float[] {-4, -3, -2, -1}, 1, 1, 2, 2)) {
            assertArrayEquals(new double[] {-1, -1, -1, -1}, GraphRun.run(g, y, Map.of(x, xt)));
        }
    }

    @Test
    void constantsAndIotaForEveryDtype() {
        for (DType t : CpuReference.ALL) {
            Graph g = new Graph("sources");
            // values that need the dtype's rounding: a fractional bool, an out-of-range u8, a fraction for integers
            double value = switch (t) {
                case BOOL -> 0.5;
                case U8 -> 300.7;
                case I64, I32 -> -7.9;
                case F16 -> 1 + 0x1.0p-11 + 0x1.0p-40; // just above a binary16 tie: must round up, once
                case BF16 -> 1 + 0x1.0p-8 + 0x1.0p-40;
                default -> 1.0 / 3;
            };
            Value full = Ops.full(g, Shape.of(2, 3), value, t);
            Value iota0 = Ops.iota(g, Shape.of(3, 4), 0, t);
            Value iota1 = Ops.iota(g, Shape.of(3, 4), -1, t);
            List<double[]> out = GraphRun.run(g, List.of(full, iota0, iota1), Map.of());
            double stored;
            try (Tensor one = Tensor.scalar(value, t)) {
                stored = one.item();
            }
            for (double v : out.get(0)) {
                assertEquals(stored, v, 0.0, "constant " + t);
            }
            for (int i = 0; i < 12; i++) {
                assertEquals(CpuReference.storeLong(t, i / 4), out.get(1)[i], 0.0, "iota axis 0 " + t);
                assertEquals(CpuReference.storeLong(t, i % 4), out.get(2)[i], 0.0, "iota axis 1 " + t);
            }
        }
    }

    private static double[] draw(long offset, int n, long seed, long stream) {
        Graph g = new Graph("rng");
        Value off = g.input("offset", Shape.scalar(), DType.I64);
        Value u = Ops.randomUniform(off, Shape.of(n), seed, stream);
        try (Tensor ot = Tensor.ofLongs(new long[] {offset})) {
            return GraphRun.run(g, u, Map.of(off, ot));
        }
    }

    @Test
    void randomUniformFollowsPhiloxAndIsReproducible() {
        long s = rnd.nextLong();
        for (long offset : new long[] {0, 1, 3, 6, 1L << 40, -1L, -6L, -5L, Long.MAX_VALUE - 2}) {
            for (int n : new int[] {1, 7, 4099}) {
                double[] u = draw(offset, n, s, 5);
                for (int i = 0; i < n; i++) {
                    assertEquals(Philox.uniform(s, 5, offset + i), u[i], 0.0, "element " + i + " offset " + offset + " n " + n + " seed " + s);
                    assertTrue(u[i] >= 0 && u[i] < 1);
                }
            }
        }
        assertArrayEquals(draw(10, 100, s, 1), draw(10, 100, s, 1), "same seed, stream and offset: same numbers");
        assertFalse(java.util.Arrays.equals(draw(10, 100, s, 1), draw(110, 100, s, 1)), "a new offset gives new numbers");
        assertFalse(java.util.Arrays.equals(draw(10, 100, s, 1), draw(10, 100, s, 2)), "a new stream gives new numbers");
        double[] overlap = draw(12, 10, s, 1);
        double[] shifted = draw(10, 12, s, 1);
        assertArrayEquals(java.util.Arrays.copyOfRange(shifted, 2, 12), overlap, "element i is a function of offset + i");
    }

    @Test
    void randomUniformReadsTheOffsetOnEveryRun() {
        Graph g = new Graph("rng");
        Value off = g.input("offset", Shape.scalar(), DType.I64);
        Value u = Ops.randomUniform(off, Shape.of(2, 8), 99, 0);
        try (Program p = Executor.cpu().compile(g, List.of(u))) {
            for (long step = 0; step < 3; step++) {
                try (Tensor ot = Tensor.ofLongs(new long[] {step * 16})) {
                    float[] got = p.run(Map.of(off, ot)).get(0).toFloatArray();
                    for (int i = 0; i < 16; i++) {
                        assertEquals(Philox.uniform(99, 0, step * 16 + i), got[i], 0f, "step " + step + " element " + i);
                    }
                }
            }
        }
    }
}
