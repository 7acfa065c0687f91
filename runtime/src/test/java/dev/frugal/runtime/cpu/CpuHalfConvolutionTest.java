package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;
import dev.frugal.runtime.testing.GraphRun;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * F16/BF16 convolutions (forward, input gradient, weight gradient) run on the float32 kernels:
 * each result is the F32 convolution of the widened operands, rounded once to the half type.
 * Forward and input gradient are bit-identical to it (every sample is computed alone, however
 * the batch is chunked); the weight gradient is too when the batch is one chunk, and when chunks
 * are summed it is within one half-precision ulp of it (or, where the sum cancels, within the
 * float32 error of summing in another order). All three are also checked against float64 loops
 * (the old direct path's arithmetic). Geometries cover the im2col + GEMM path, the direct paths
 * (depthwise, channel multipliers, one input channel), 1x1, stride 2, padding, dilation, groups,
 * odd and non-square sizes, and batches large enough to be cut into chunks, with the last chunk
 * overlapping the one before.
 */
class CpuHalfConvolutionTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    /** One convolution case: input [n, c, h, w], weight [k, c/groups, r, s], and the geometry. */
    private record Case(int n, int c, int h, int w, int k, int r, int s, OpAttrs.Conv2d p) {
        @Override
        public String toString() {
            return "x=[" + n + "," + c + "," + h + "," + w + "] w=[" + k + "," + c / p.groups() + "," + r + "," + s + "] " + p;
        }

        int oh() {
            return Math.floorDiv(h + 2 * p.padH() - p.dilationH() * (r - 1) - 1, p.strideH()) + 1;
        }

        int ow() {
            return Math.floorDiv(w + 2 * p.padW() - p.dilationW() * (s - 1) - 1, p.strideW()) + 1;
        }

        CpuConvolution.HalfChunks chunks(Op op) {
            return CpuConvolution.halfChunks(op, n, c, h, w, k, oh(), ow());
        }
    }

    private static OpAttrs.Conv2d geo(int stride, int pad, int dilation, int groups) {
        return new OpAttrs.Conv2d(stride, stride, pad, pad, dilation, dilation, groups);
    }

    /** Cut into several chunks, the last overlapping the one before: 256 KiB of float operands per sample. */
    private static final Case CHUNKED = new Case(37, 8, 64, 64, 8, 3, 3, geo(1, 1, 1, 1));
    /** Depthwise (direct path), several chunks. */
    private static final Case CHUNKED_DEPTHWISE = new Case(21, 16, 48, 48, 16, 3, 3, geo(1, 1, 1, 16));
    /** Stride 2 (im2col path), several chunks. */
    private static final Case CHUNKED_STRIDED = new Case(19, 12, 81, 77, 16, 3, 3, geo(2, 1, 1, 1));

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case(2, 3, 7, 7, 4, 3, 3, geo(1, 1, 1, 1)),
                new Case(1, 5, 9, 11, 6, 3, 3, geo(1, 0, 1, 1)),
                new Case(3, 4, 13, 10, 8, 3, 3, geo(2, 1, 1, 1)),
                new Case(2, 4, 11, 9, 6, 3, 3, geo(1, 2, 2, 1)),
                new Case(3, 4, 9, 9, 6, 5, 5, geo(2, 2, 1, 2)),
                new Case(2, 6, 8, 8, 6, 1, 1, geo(1, 0, 1, 1)),
                new Case(2, 6, 8, 8, 6, 1, 1, geo(2, 0, 1, 3)),
                new Case(4, 8, 14, 14, 8, 3, 3, geo(1, 1, 1, 8)),
                new Case(2, 5, 11, 11, 5, 3, 3, geo(1, 2, 2, 5)),
                new Case(2, 4, 9, 9, 4, 3, 3, geo(2, 1, 1, 4)),
                new Case(2, 4, 9, 9, 8, 3, 3, geo(1, 1, 1, 4)),
                new Case(5, 16, 15, 15, 24, 3, 3, geo(1, 1, 1, 1)),
                new Case(1, 3, 6, 6, 2, 3, 2, new OpAttrs.Conv2d(2, 1, 1, 0, 1, 2, 1)),
                new Case(3, 1, 13, 11, 6, 3, 3, geo(1, 1, 1, 1)),
                new Case(2, 3, 8, 7, 6, 5, 3, geo(1, 2, 1, 3)),
                new Case(11, 6, 5, 7, 9, 3, 3, geo(1, 1, 1, 3)),
                CHUNKED,
                CHUNKED_DEPTHWISE,
                CHUNKED_STRIDED
        ).flatMap(c -> Stream.of(Arguments.of(c, DType.F16), Arguments.of(c, DType.BF16)));
    }

    @Test
    void largeCasesAreCutIntoChunksAndTheLastOverlaps() {
        for (Case tc : List.of(CHUNKED, CHUNKED_DEPTHWISE, CHUNKED_STRIDED)) {
            CpuConvolution.HalfChunks gw = tc.chunks(Op.CONV2D_GRAD_WEIGHT);
            assertTrue(gw.count() > 1, tc + ": weight gradient in chunks, got " + gw);
            assertTrue(gw.count() * gw.size() > tc.n(), tc + ": last chunk overlaps, got " + gw);
            assertTrue(tc.chunks(Op.CONV2D).count() > 1 || CpuParallel.threads() >= tc.n(), tc + ": forward in chunks");
        }
        // Balanced and covering: every sample in exactly one chunk's new part, windows inside the batch.
        for (int n = 1; n <= 70; n++) {
            for (long perSample = 1 << 12; perSample <= 1 << 22; perSample <<= 1) {
                for (int min : new int[] {1, 3, 8}) {
                    CpuConvolution.HalfChunks ch = CpuConvolution.HalfChunks.plan(n, perSample, min);
                    assertTrue(ch.size() >= Math.min(n, min) && ch.size() <= n, ch.toString());
                    assertTrue((long) ch.size() * perSample * 4 <= Math.max(CpuConvolution.HALF_CHUNK_BYTES, (long) Math.min(n, min) * perSample * 4)
                            || ch.size() == 1, ch + " per sample " + perSample);
                    int covered = 0;
                    for (int i = 0; i < ch.count(); i++) {
                        int start = ch.start(i);
                        int first = ch.first(i);
                        assertTrue(start >= 0 && start <= first && start + ch.size() <= n, ch + " chunk " + i);
                        assertEquals(covered, first, ch + " chunk " + i);
                        covered = start + ch.size();
                    }
                    assertEquals(n, covered, ch.toString());
                }
            }
        }
    }

    @ParameterizedTest(name = "{1} {0}")
    @MethodSource("cases")
    void equalsTheRoundedFloat32ConvolutionOfTheWidenedOperands(Case tc, DType t) {
        OpAttrs.Conv2d p = tc.p();
        int cg = tc.c() / p.groups();
        Shape xs = Shape.of(tc.n(), tc.c(), tc.h(), tc.w());
        Shape ws = Shape.of(tc.k(), cg, tc.r(), tc.s());
        Graph g = new Graph("half_conv");
        Value x = g.input("x", xs, t);
        Value w = g.input("w", ws, t);
        Value y = Ops.conv2d(x, w, p);
        Value dy = g.input("dy", y.shape(), t);
        Value dx = Ops.conv2dGradInput(dy, w, p, xs);
        Value dw = Ops.conv2dGradWeight(x, dy, p, ws);
        Value x32 = Ops.cast(x, DType.F32);
        Value w32 = Ops.cast(w, DType.F32);
        Value dy32 = Ops.cast(dy, DType.F32);
        Value y32 = Ops.conv2d(x32, w32, p);
        Value dx32 = Ops.conv2dGradInput(dy32, w32, p, xs);
        Value dw32 = Ops.conv2dGradWeight(x32, dy32, p, ws);
        assertEquals(t, y.dtype());
        assertEquals(t, dw.dtype());

        try (Tensor tx = CpuReference.random(rnd, t, xs, -1, 1);
             Tensor tw = CpuReference.random(rnd, t, ws, -1, 1);
             Tensor tdy = CpuReference.random(rnd, t, y.shape(), -1, 1)) {
            List<double[]> got = GraphRun.run(g, List.of(y, dx, dw, y32, dx32, dw32), Map.of(x, tx, w, tw, dy, tdy));
            String what = t + " " + tc + " seed " + seed;
            double[][] ref = float64Reference(tc, tx.toDoubleArray(), tw.toDoubleArray(), tdy.toDoubleArray());
            assertRoundedExactly(t, got.get(3), got.get(0), "y " + what);
            assertRoundedExactly(t, got.get(4), got.get(1), "dx " + what);
            if (tc.chunks(Op.CONV2D_GRAD_WEIGHT).count() == 1) {
                assertRoundedExactly(t, got.get(5), got.get(2), "dw " + what);
            } else {
                assertWithinOneUlp(t, got.get(5), ref[5], got.get(2), "dw (chunked) " + what);
            }

            assertCloseToFloat64(t, ref[0], ref[1], got.get(0), "y vs float64 " + what);
            assertCloseToFloat64(t, ref[2], ref[3], got.get(1), "dx vs float64 " + what);
            assertCloseToFloat64(t, ref[4], ref[5], got.get(2), "dw vs float64 " + what);
        }
    }

    @Test
    void workspaceHoldsOneChunkNotTheBatch() {
        // 128 samples of 128 KiB of float operands: the float copies of the whole batch would be
        // 16 MiB; the half kernel holds one chunk (about HALF_CHUNK_BYTES) beside what the F32
        // kernel of the same geometry holds.
        OpAttrs.Conv2d p = geo(1, 1, 1, 1);
        Shape xs = Shape.of(128, 16, 32, 32);
        Shape ws = Shape.of(16, 16, 3, 3);
        long[] workspace = new long[3];
        DType[] types = {DType.F32, DType.F16, DType.BF16};
        for (int i = 0; i < types.length; i++) {
            Graph g = new Graph("workspace");
            Value x = g.input("x", xs, types[i]);
            Value w = g.input("w", ws, types[i]);
            try (Program prog = Executor.cpu().compile(g, List.of(Ops.conv2d(x, w, p)))) {
                workspace[i] = prog.memoryPlan().workspaceBytes();
            }
        }
        long batchCopies = 2 * xs.numel() * Float.BYTES;
        for (int i = 1; i < types.length; i++) {
            long extra = workspace[i] - workspace[0];
            // (The memory manager may hand out a cached block up to 1 MiB larger than asked for.)
            assertTrue(extra <= CpuConvolution.HALF_CHUNK_BYTES + (2L << 20),
                    types[i] + ": workspace " + workspace[i] + " vs f32 " + workspace[0]);
            assertTrue(workspace[i] < batchCopies / 2, types[i] + ": workspace " + workspace[i] + " vs batch copies " + batchCopies);
        }
    }

    @Test
    void nonFiniteInputsGiveNonFiniteOutputs() {
        // An infinity in the input reaches every output that reads it (as in F32), and a NaN too.
        OpAttrs.Conv2d p = geo(1, 1, 1, 1);
        for (DType t : new DType[] {DType.F16, DType.BF16}) {
            Graph g = new Graph("nonfinite");
            Value x = g.input("x", Shape.of(2, 2, 5, 5), t);
            Value w = g.input("w", Shape.of(3, 2, 3, 3), t);
            try (Tensor tx = CpuReference.random(rnd, t, x.shape(), 0.5, 1);
                 Tensor tw = CpuReference.random(rnd, t, w.shape(), 0.5, 1)) {
                tx.setFlat(12, Double.POSITIVE_INFINITY);
                tx.setFlat(50 + 12, Double.NaN);
                double[] y = GraphRun.run(g, Ops.conv2d(x, w, p), Map.of(x, tx, w, tw));
                assertEquals(Double.POSITIVE_INFINITY, y[(0 * 3) * 25 + 12], t + ": inf reaches its window");
                assertTrue(Double.isNaN(y[(1 * 3) * 25 + 12]), t + ": NaN reaches its window");
                assertTrue(Double.isFinite(y[0]), t + ": far outputs stay finite");
            }
        }
    }

    // ------------------------------------------------------------------ references and checks

    /** The half value nearest to {@code v} (ties to even), as the kernels store it. */
    private static double round(DType t, double v) {
        float f = (float) v;
        return t == DType.F16 ? Float16.toFloat(Float16.fromFloat(f)) : BFloat16.toFloat(BFloat16.fromFloat(f));
    }

    /** The spacing of half values around {@code v}: the larger of the gaps either side of its rounding. */
    private static double halfUlp(DType t, double v) {
        float r = (float) round(t, Math.abs(v));
        short bits = t == DType.F16 ? Float16.fromFloat(r) : BFloat16.fromFloat(r);
        double up = t == DType.F16 ? Float16.toFloat((short) (bits + 1)) : BFloat16.toFloat((short) (bits + 1));
        double down = bits == 0 ? 0 : t == DType.F16 ? Float16.toFloat((short) (bits - 1)) : BFloat16.toFloat((short) (bits - 1));
        return Math.max(up - r, r - down);
    }

    private static void assertRoundedExactly(DType t, double[] f32, double[] half, String what) {
        assertEquals(f32.length, half.length, what);
        for (int i = 0; i < half.length; i++) {
            double expected = round(t, f32[i]);
            if (Double.doubleToLongBits(expected) != Double.doubleToLongBits(half[i])) {
                assertEquals(expected, half[i], 0, what + " [" + i + "] (f32 " + f32[i] + ")");
            }
        }
    }

    /**
     * Within one half-precision ulp of the rounded F32 result, or, where the sum cancels (a result
     * far below the sum of its terms' magnitudes, {@code absSum}), within the float32 rounding
     * error of summing in another order, which can then be larger.
     */
    private static void assertWithinOneUlp(DType t, double[] f32, double[] absSum, double[] half, String what) {
        assertEquals(f32.length, half.length, what);
        for (int i = 0; i < half.length; i++) {
            double expected = round(t, f32[i]);
            double tol = Math.max(halfUlp(t, expected), 1e-6 * absSum[i]);
            assertEquals(expected, half[i], tol, what + " [" + i + "] (f32 " + f32[i] + ", sum of |terms| " + absSum[i] + ")");
        }
    }

    /**
     * Within half a half-precision ulp of the float64 result (the rounding) plus the float32
     * accumulation's error (a few ulps of float per term of the sum of absolute products).
     */
    private static void assertCloseToFloat64(DType t, double[] ref, double[] absSum, double[] half, String what) {
        assertEquals(ref.length, half.length, what);
        for (int i = 0; i < half.length; i++) {
            double tol = 0.5 * halfUlp(t, ref[i]) + 1e-6 * absSum[i];
            assertEquals(ref[i], half[i], tol, what + " [" + i + "]");
        }
    }

    /** Float64 loops: {y, |y| terms, dx, |dx| terms, dw, |dw| terms}. */
    private static double[][] float64Reference(Case tc, double[] xv, double[] wv, double[] dyv) {
        OpAttrs.Conv2d p = tc.p();
        int cg = tc.c() / p.groups();
        int kg = tc.k() / p.groups();
        int oh = tc.oh();
        int ow = tc.ow();
        double[] yRef = new double[tc.n() * tc.k() * oh * ow];
        double[] yAbs = new double[yRef.length];
        double[] dxRef = new double[xv.length];
        double[] dxAbs = new double[xv.length];
        double[] dwRef = new double[wv.length];
        double[] dwAbs = new double[wv.length];
        for (int ni = 0; ni < tc.n(); ni++) {
            for (int ki = 0; ki < tc.k(); ki++) {
                int c0 = ki / kg * cg;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int yi = ((ni * tc.k() + ki) * oh + oy) * ow + ox;
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ry = 0; ry < tc.r(); ry++) {
                                int iy = oy * p.strideH() - p.padH() + ry * p.dilationH();
                                if (iy < 0 || iy >= tc.h()) {
                                    continue;
                                }
                                for (int sx = 0; sx < tc.s(); sx++) {
                                    int ix = ox * p.strideW() - p.padW() + sx * p.dilationW();
                                    if (ix < 0 || ix >= tc.w()) {
                                        continue;
                                    }
                                    int xi = ((ni * tc.c() + c0 + ci) * tc.h() + iy) * tc.w() + ix;
                                    int wi = ((ki * cg + ci) * tc.r() + ry) * tc.s() + sx;
                                    yRef[yi] += xv[xi] * wv[wi];
                                    yAbs[yi] += Math.abs(xv[xi] * wv[wi]);
                                    dxRef[xi] += dyv[yi] * wv[wi];
                                    dxAbs[xi] += Math.abs(dyv[yi] * wv[wi]);
                                    dwRef[wi] += dyv[yi] * xv[xi];
                                    dwAbs[wi] += Math.abs(dyv[yi] * xv[xi]);
                                }
                            }
                        }
                    }
                }
            }
        }
        return new double[][] {yRef, yAbs, dxRef, dxAbs, dwRef, dwAbs};
    }
}
