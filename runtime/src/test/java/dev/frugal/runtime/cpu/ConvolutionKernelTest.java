package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.GraphRun;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float32 convolution kernels (forward, input gradient, weight gradient), run through the CPU
 * executor, against naive float64 loops over the same inputs. The geometries cover the im2col +
 * GEMM path (stride 1 and 2, dilation, padding 0/1/2, groups, 1x1, odd and non-square sizes), the
 * direct path for one input channel per output channel at stride 1 (depthwise, channel
 * multipliers whose input gradient sums several output channels, and single-channel images
 * feeding many filters; 3x3 and other kernels, with and without dilation and padding),
 * depthwise with stride 2 (GEMM), and batches smaller and larger than the thread count.
 */
class ConvolutionKernelTest {

    /** One convolution case: input [n, c, h, w], weight [k, c/groups, r, s], and the geometry. */
    private record Case(int n, int c, int h, int w, int k, int r, int s, OpAttrs.Conv2d p) {
        @Override
        public String toString() {
            return "x=[" + n + "," + c + "," + h + "," + w + "] w=[" + k + "," + c / p.groups() + "," + r + "," + s + "] " + p;
        }
    }

    private static OpAttrs.Conv2d geo(int stride, int pad, int dilation, int groups) {
        return new OpAttrs.Conv2d(stride, stride, pad, pad, dilation, dilation, groups);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case(2, 3, 7, 7, 4, 3, 3, geo(1, 1, 1, 1)),
                new Case(1, 5, 9, 11, 6, 3, 3, geo(1, 0, 1, 1)),
                new Case(3, 4, 13, 10, 8, 3, 3, geo(2, 1, 1, 1)),
                new Case(2, 3, 12, 12, 5, 3, 3, geo(2, 0, 1, 1)),
                new Case(2, 4, 11, 9, 6, 3, 3, geo(1, 2, 2, 1)),
                new Case(2, 6, 10, 10, 4, 3, 3, geo(1, 2, 1, 2)),
                new Case(3, 4, 9, 9, 6, 5, 5, geo(2, 2, 1, 2)),
                new Case(2, 6, 8, 8, 6, 1, 1, geo(1, 0, 1, 1)),
                new Case(2, 6, 8, 8, 6, 1, 1, geo(2, 0, 1, 3)),
                new Case(4, 8, 14, 14, 8, 3, 3, geo(1, 1, 1, 8)),
                new Case(3, 5, 7, 9, 5, 3, 3, geo(1, 0, 1, 5)),
                new Case(2, 5, 11, 11, 5, 3, 3, geo(1, 2, 2, 5)),
                new Case(2, 4, 9, 9, 4, 3, 3, geo(2, 1, 1, 4)),
                new Case(2, 4, 8, 9, 4, 5, 3, geo(1, 2, 1, 4)),
                new Case(2, 4, 9, 9, 8, 3, 3, geo(1, 1, 1, 4)),
                new Case(1, 7, 33, 17, 9, 3, 3, geo(1, 1, 1, 1)),
                new Case(5, 16, 15, 15, 24, 3, 3, geo(1, 1, 1, 1)),
                new Case(1, 3, 6, 6, 2, 3, 2, new OpAttrs.Conv2d(2, 1, 1, 0, 1, 2, 1)),
                new Case(3, 1, 13, 11, 6, 3, 3, geo(1, 1, 1, 1)),
                new Case(2, 1, 9, 8, 5, 5, 3, geo(1, 2, 1, 1)),
                new Case(2, 3, 8, 7, 6, 5, 3, geo(1, 2, 1, 3)),
                new Case(2, 2, 10, 9, 6, 3, 3, geo(1, 2, 2, 2))
        ).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndBothGradientsMatchFloat64Loops(Case tc) {
        OpAttrs.Conv2d p = tc.p();
        int cg = tc.c() / p.groups();
        Shape xs = Shape.of(tc.n(), tc.c(), tc.h(), tc.w());
        Shape ws = Shape.of(tc.k(), cg, tc.r(), tc.s());
        Graph g = new Graph("conv_kernel_test");
        Value x = g.input("x", xs, DType.F32);
        Value w = g.input("w", ws, DType.F32);
        Value y = Ops.conv2d(x, w, p);
        Value dy = g.input("dy", y.shape(), DType.F32);
        Value dx = Ops.conv2dGradInput(dy, w, p, xs);
        Value dw = Ops.conv2dGradWeight(x, dy, p, ws);
        int oh = y.shape().dims()[2];
        int ow = y.shape().dims()[3];

        try (Tensor tx = random(xs, 1); Tensor tw = random(ws, 2); Tensor tdy = random(y.shape(), 3)) {
            double[] xv = tx.toDoubleArray();
            double[] wv = tw.toDoubleArray();
            double[] dyv = tdy.toDoubleArray();
            List<double[]> got = GraphRun.run(g, List.of(y, dx, dw), Map.of(x, tx, w, tw, dy, tdy));

            double[] yRef = new double[(int) y.shape().numel()];
            double[] yAbs = new double[yRef.length];
            double[] dxRef = new double[xv.length];
            double[] dxAbs = new double[xv.length];
            double[] dwRef = new double[wv.length];
            double[] dwAbs = new double[wv.length];
            int kg = tc.k() / p.groups();
            // One loop over every (output element, tap) pair feeds all three references.
            for (int ni = 0; ni < tc.n(); ni++) {
                for (int ki = 0; ki < tc.k(); ki++) {
                    int c0 = ki / kg * cg;
                    for (int oy = 0; oy < oh; oy++) {
                        for (int ox = 0; ox < ow; ox++) {
                            int yi = ((ni * tc.k() + ki) * oh + oy) * ow + ox;
                            for (int ci = 0; ci < cg; ci++) {
                                for (int ry = 0; ry < tc.r(); ry++) {
                                    int iy = oy * p.strideH() - p.padH() + ry * p.dilationH();
                                    for (int sx = 0; sx < tc.s(); sx++) {
                                        int ix = ox * p.strideW() - p.padW() + sx * p.dilationW();
                                        if (iy < 0 || iy >= tc.h() || ix < 0 || ix >= tc.w()) {
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
            assertClose("y", yRef, yAbs, got.get(0), tc);
            assertClose("dx", dxRef, dxAbs, got.get(1), tc);
            assertClose("dw", dwRef, dwAbs, got.get(2), tc);
        }
    }

    /** float32 accumulation: error bounded by a few ulps of the sum of absolute terms per rounding step. */
    private static void assertClose(String what, double[] expected, double[] absSum, double[] actual, Case tc) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            double tol = 1e-5 * absSum[i] + 1e-6;
            int idx = i;
            assertEquals(expected[i], actual[i], tol, () -> tc + ": " + what + "[" + idx + "]");
        }
    }

    private static Tensor random(Shape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape, DType.F32);
        for (long i = 0; i < shape.numel(); i++) {
            t.setFlat(i, (float) rnd.nextDouble(-1, 1));
        }
        return t;
    }
}
