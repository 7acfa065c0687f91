package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward values of the composite operations against naive Java references (in f64, on fresh
 * random inputs), their printed scopes, and their argument errors.
 */
class FunctionalTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    private double[] randn(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextGaussian();
        }
        return v;
    }

    private void assertClose(double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length, "length (seed " + seed + ")");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * (1 + Math.abs(expected[i])), "element " + i + " (seed " + seed + ")");
        }
    }

    @Test
    void linearMatchesTheDefinition() {
        Graph g = new Graph("linear");
        Value x = g.input("x", Shape.of(2, 3), DType.F64);
        Value w = g.input("w", Shape.of(4, 3), DType.F64);
        Value b = g.input("b", Shape.of(4), DType.F64);
        Value y = Functional.linear(x, w, b);
        assertEquals(Shape.of(2, 4), y.shape());
        double[] xs = randn(6);
        double[] ws = randn(12);
        double[] bs = randn(4);
        double[] expected = new double[8];
        for (int i = 0; i < 2; i++) {
            for (int o = 0; o < 4; o++) {
                double s = bs[o];
                for (int k = 0; k < 3; k++) {
                    s += xs[i * 3 + k] * ws[o * 3 + k];
                }
                expected[i * 4 + o] = s;
            }
        }
        try (Tensor xt = Tensor.of(xs, DType.F64, 2, 3); Tensor wt = Tensor.of(ws, DType.F64, 4, 3); Tensor bt = Tensor.of(bs, DType.F64, 4)) {
            assertClose(expected, GraphRun.run(g, y, Map.of(x, xt, w, wt, b, bt)), 1e-12);
        }
    }

    @Test
    void softmaxAndLogSoftmaxMatchTheDefinition() {
        Graph g = new Graph("softmax");
        Value x = g.input("x", Shape.of(3, 4), DType.F64);
        Value p = Functional.softmax(x, 1);
        Value lp = Functional.logSoftmax(x, -1);
        double[] xs = randn(12);
        double[] expectedP = new double[12];
        double[] expectedLp = new double[12];
        for (int r = 0; r < 3; r++) {
            double z = 0;
            for (int c = 0; c < 4; c++) {
                z += Math.exp(xs[r * 4 + c]);
            }
            for (int c = 0; c < 4; c++) {
                expectedP[r * 4 + c] = Math.exp(xs[r * 4 + c]) / z;
                expectedLp[r * 4 + c] = xs[r * 4 + c] - Math.log(z);
            }
        }
        try (Tensor xt = Tensor.of(xs, DType.F64, 3, 4)) {
            List<double[]> out = GraphRun.run(g, List.of(p, lp), Map.of(x, xt));
            assertClose(expectedP, out.get(0), 1e-12);
            assertClose(expectedLp, out.get(1), 1e-12);
        }
        String listing = g.toString();
        assertTrue(listing.contains("[softmax]") && listing.contains("[softmax/stop_gradient]") && listing.contains("[log_softmax]"), listing);
    }

    @Test
    void crossEntropyMatchesPyTorchsDefinitionWithLabelSmoothing() {
        int n = 3;
        int classes = 4;
        double smoothing = 0.2;
        Graph g = new Graph("ce");
        Value logits = g.input("logits", Shape.of(n, classes), DType.F64);
        Value labels = g.input("labels", Shape.of(n), DType.I32);
        Value plain = Functional.crossEntropy(logits, labels);
        Value smoothed = Functional.crossEntropy(logits, labels, smoothing);
        double[] xs = randn(n * classes);
        int[] ls = new int[n];
        double nll = 0;
        double smooth = 0;
        for (int r = 0; r < n; r++) {
            ls[r] = rnd.nextInt(classes);
            double z = 0;
            for (int c = 0; c < classes; c++) {
                z += Math.exp(xs[r * classes + c]);
            }
            nll -= xs[r * classes + ls[r]] - Math.log(z);
            for (int c = 0; c < classes; c++) {
                smooth -= (xs[r * classes + c] - Math.log(z)) / classes;
            }
        }
        double expectedPlain = nll / n;
        double expectedSmoothed = ((1 - smoothing) * nll + smoothing * smooth) / n;
        try (Tensor xt = Tensor.of(xs, DType.F64, n, classes); Tensor lt = Tensor.ofInts(ls, n)) {
            List<double[]> out = GraphRun.run(g, List.of(plain, smoothed), Map.of(logits, xt, labels, lt));
            assertEquals(expectedPlain, out.get(0)[0], 1e-12, "seed " + seed);
            assertEquals(expectedSmoothed, out.get(1)[0], 1e-12, "seed " + seed);
        }
    }

    @Test
    void crossEntropyRejectsAnOutOfRangeLabelAtRunTime() {
        Graph g = new Graph("ce_range");
        Value logits = g.input("logits", Shape.of(2, 3), DType.F32);
        Value labels = g.input("labels", Shape.of(2), DType.I64);
        Value loss = Functional.crossEntropy(logits, labels);
        try (Tensor xt = Tensor.zeros(Shape.of(2, 3), DType.F32); Tensor lt = Tensor.ofLongs(new long[] {1, 3}, 2)) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> GraphRun.run(g, loss, Map.of(logits, xt, labels, lt)));
            assertTrue(String.valueOf(e.getMessage()).contains("3"), String.valueOf(e.getMessage()));
        }
    }

    @Test
    void mseLossMatchesTheDefinition() {
        Graph g = new Graph("mse");
        Value a = g.input("a", Shape.of(2, 3), DType.F64);
        Value b = g.input("b", Shape.of(2, 3), DType.F64);
        double[] as = randn(6);
        double[] bs = randn(6);
        double expected = 0;
        for (int i = 0; i < 6; i++) {
            expected += (as[i] - bs[i]) * (as[i] - bs[i]) / 6;
        }
        try (Tensor at = Tensor.of(as, DType.F64, 2, 3); Tensor bt = Tensor.of(bs, DType.F64, 2, 3)) {
            assertEquals(expected, GraphRun.run(g, Functional.mseLoss(a, b), Map.of(a, at, b, bt))[0], 1e-12);
        }
    }

    @Test
    void layerNormMatchesTheDefinition() {
        Graph g = new Graph("ln");
        Value x = g.input("x", Shape.of(2, 5), DType.F64);
        Value w = g.input("w", Shape.of(5), DType.F64);
        Value b = g.input("b", Shape.of(5), DType.F64);
        double eps = 1e-5;
        Value y = Functional.layerNorm(x, Shape.of(5), w, b, eps);
        double[] xs = randn(10);
        double[] ws = randn(5);
        double[] bs = randn(5);
        double[] expected = new double[10];
        for (int r = 0; r < 2; r++) {
            double mean = 0;
            for (int c = 0; c < 5; c++) {
                mean += xs[r * 5 + c] / 5;
            }
            double var = 0;
            for (int c = 0; c < 5; c++) {
                var += (xs[r * 5 + c] - mean) * (xs[r * 5 + c] - mean) / 5;
            }
            for (int c = 0; c < 5; c++) {
                expected[r * 5 + c] = (xs[r * 5 + c] - mean) / Math.sqrt(var + eps) * ws[c] + bs[c];
            }
        }
        try (Tensor xt = Tensor.of(xs, DType.F64, 2, 5); Tensor wt = Tensor.of(ws, DType.F64, 5); Tensor bt = Tensor.of(bs, DType.F64, 5)) {
            assertClose(expected, GraphRun.run(g, y, Map.of(x, xt, w, wt, b, bt)), 1e-10);
        }
    }

    @Test
    void batchNormTrainingNormalisesAndUpdatesRunningStatisticsAsPyTorch() {
        int n = 2, c = 2, h = 2, wd = 3;
        double momentum = 0.1, eps = 1e-5;
        Graph g = new Graph("bn");
        Value x = g.input("x", Shape.of(n, c, h, wd), DType.F64);
        Value rm = g.state("running_mean", Shape.of(c), DType.F64);
        Value rv = g.state("running_var", Shape.of(c), DType.F64);
        Functional.BatchNormResult r = Functional.batchNorm2dTrain(x, null, null, rm, rv, momentum, eps);
        double[] xs = randn(n * c * h * wd);
        double[] rms = randn(c);
        double[] rvs = {0.7, 1.3};
        double[] expectedY = new double[xs.length];
        double[] expectedMean = new double[c];
        double[] expectedVar = new double[c];
        int count = n * h * wd;
        for (int ch = 0; ch < c; ch++) {
            double mean = 0;
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < h * wd; k++) {
                    mean += xs[(i * c + ch) * h * wd + k] / count;
                }
            }
            double ss = 0;
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < h * wd; k++) {
                    double d = xs[(i * c + ch) * h * wd + k] - mean;
                    ss += d * d;
                }
            }
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < h * wd; k++) {
                    int at = (i * c + ch) * h * wd + k;
                    expectedY[at] = (xs[at] - mean) / Math.sqrt(ss / count + eps);
                }
            }
            expectedMean[ch] = (1 - momentum) * rms[ch] + momentum * mean;
            expectedVar[ch] = (1 - momentum) * rvs[ch] + momentum * ss / (count - 1);
        }
        try (Tensor xt = Tensor.of(xs, DType.F64, n, c, h, wd); Tensor rmt = Tensor.of(rms, DType.F64, c);
             Tensor rvt = Tensor.of(rvs, DType.F64, c)) {
            List<double[]> out;
            try (var p = dev.frugal.runtime.exec.Executor.cpu().compile(g, List.of(r.output(), r.runningMean(), r.runningVar()))) {
                p.bind(rm, rmt);
                p.bind(rv, rvt);
                out = p.run(Map.of(x, xt)).stream().map(Tensor::toDoubleArray).toList();
            }
            assertClose(expectedY, out.get(0), 1e-10);
            assertClose(expectedMean, out.get(1), 1e-12);
            assertClose(expectedVar, out.get(2), 1e-12);
        }
    }

    @Test
    void batchNormEvalUsesTheRunningStatistics() {
        Graph g = new Graph("bn_eval");
        Value x = g.input("x", Shape.of(1, 2, 1, 2), DType.F64);
        Value w = g.input("w", Shape.of(2), DType.F64);
        Value b = g.input("b", Shape.of(2), DType.F64);
        Value rm = g.input("rm", Shape.of(2), DType.F64);
        Value rv = g.input("rv", Shape.of(2), DType.F64);
        Value y = Functional.batchNorm2dEval(x, w, b, rm, rv, 0.0625);
        // channel 0: (x - 1) / sqrt(0.1875 + 0.0625) * 2 + 1 = (x - 1) * 4 + 1; channel 1: (x + 1) / 1 * 1 - 2
        try (Tensor xt = Tensor.of(new double[] {1, 2, 3, 4}, DType.F64, 1, 2, 1, 2);
             Tensor wt = Tensor.of(new double[] {2, 1}, DType.F64, 2); Tensor bt = Tensor.of(new double[] {1, -2}, DType.F64, 2);
             Tensor rmt = Tensor.of(new double[] {1, -1}, DType.F64, 2); Tensor rvt = Tensor.of(new double[] {0.1875, 0.9375}, DType.F64, 2)) {
            double[] got = GraphRun.run(g, y, Map.of(x, xt, w, wt, b, bt, rm, rmt, rv, rvt));
            assertArrayEquals(new double[] {1, 5, 2, 3}, got, 1e-12);
        }
    }

    @Test
    void activationsMatchTheirFormulas() {
        Graph g = new Graph("act");
        Value x = g.input("x", Shape.of(7), DType.F64);
        Value exact = Functional.gelu(x);
        Value approx = Functional.gelu(x, true);
        Value silu = Functional.silu(x);
        double[] xs = {-4, -1.5, -0.3, 0, 0.2, 1, 3.5};
        double[] e = new double[7], a = new double[7], s = new double[7];
        // x * Phi(x), computed with Python's math.erf (Java has no erf to compare against)
        double[] exactRef = {-0.00012668496733247991, -0.10021080190328713, -0.1146265733433142, 0.0, 0.11585194188782061,
            0.8413447460685429, 3.4991857982233756};
        for (int i = 0; i < 7; i++) {
            e[i] = exactRef[i];
            a[i] = 0.5 * xs[i] * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (xs[i] + 0.044715 * Math.pow(xs[i], 3))));
            s[i] = xs[i] / (1 + Math.exp(-xs[i]));
        }
        try (Tensor xt = Tensor.of(xs, DType.F64, 7)) {
            List<double[]> out = GraphRun.run(g, List.of(exact, approx, silu), Map.of(x, xt));
            for (int i = 0; i < 7; i++) {
                assertEquals(e[i], out.get(0)[i], 1e-12, "gelu(" + xs[i] + ")");
            }
            assertClose(a, out.get(1), 1e-12);
            assertClose(s, out.get(2), 1e-12);
        }
    }

    @Test
    void dropoutKeepsAboutOneMinusPScalesTheKeptAndRepeatsForTheSameOffset() {
        Graph g = new Graph("dropout");
        Value x = g.input("x", Shape.of(100, 100), DType.F32);
        Value offset = g.input("offset", Shape.scalar(), DType.I64);
        double p = 0.25;
        Value y = Functional.dropout(x, p, true, offset, 42, 0);
        assertSame(x, Functional.dropout(x, p, false, offset, 42, 0), "evaluation mode is the identity");
        assertSame(x, Functional.dropout(x, 0, true, offset, 42, 0), "p = 0 is the identity");
        try (Tensor xt = Tensor.full(Shape.of(100, 100), DType.F32, 3); Tensor o1 = Tensor.scalar(0, DType.I64);
             Tensor o2 = Tensor.scalar(10_000, DType.I64)) {
            double[] first = GraphRun.run(g, y, Map.of(x, xt, offset, o1));
            double[] again = GraphRun.run(g, y, Map.of(x, xt, offset, o1));
            double[] other = GraphRun.run(g, y, Map.of(x, xt, offset, o2));
            int kept = 0;
            for (double v : first) {
                assertTrue(v == 0 || Math.abs(v - 3 / (1 - p)) < 1e-6, "dropout output " + v);
                kept += v != 0 ? 1 : 0;
            }
            // 10 000 Bernoulli(0.75) draws: 7500 +- 43 (1 sigma); 6 sigma bounds
            assertTrue(Math.abs(kept - 7500) < 260, "kept " + kept + " of 10000 with p = " + p);
            assertArrayEquals(first, again, 0, "same offset, same mask");
            assertFalse(java.util.Arrays.equals(first, other), "a new offset must draw a new mask");
        }
    }

    @Test
    void embeddingFlattenAndVariance() {
        Graph g = new Graph("misc");
        Value table = g.input("table", Shape.of(3, 2), DType.F64);
        Value ids = g.input("ids", Shape.of(2, 2), DType.I64);
        Value e = Functional.embedding(table, ids);
        assertEquals(Shape.of(2, 2, 2), e.shape());
        Value flat = Functional.flatten(e);
        assertEquals(Shape.of(2, 4), flat.shape());
        assertEquals(Shape.of(8), Functional.flatten(e, 0, -1).shape());
        assertEquals(Shape.of(4, 2), Functional.flatten(e, 0, 1).shape());
        Value var = Functional.variance(flat, 1, false, 1);
        Value mean = Functional.mean(flat, false, 1);
        try (Tensor tt = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, DType.F64, 3, 2);
             Tensor it = Tensor.ofLongs(new long[] {2, 0, 1, 1}, 2, 2)) {
            List<double[]> out = GraphRun.run(g, List.of(flat, var, mean), Map.of(table, tt, ids, it));
            assertArrayEquals(new double[] {5, 6, 1, 2, 3, 4, 3, 4}, out.get(0), 0);
            // row 0: 5,6,1,2 mean 3.5, squared deviations 2.25+6.25+6.25+2.25 = 17 over 3
            assertArrayEquals(new double[] {17.0 / 3, 1.0 / 3}, out.get(1), 1e-12);
            assertArrayEquals(new double[] {3.5, 3.5}, out.get(2), 1e-12);
        }
    }

    // ---------------------------------------------------------------- argument errors

    @Test
    void errorsNameTheCompositeAndTheShapes() {
        Graph g = new Graph("errors");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value w = g.input("w", Shape.of(4, 5), DType.F32);
        TraceException e = assertThrows(TraceException.class, () -> Functional.linear(x, w, null));
        assertTrue(e.getMessage().startsWith("linear:") && e.getMessage().contains("[2,3]") && e.getMessage().contains("[4,5]"), e.getMessage());
        assertTrue(e.getMessage().contains("FunctionalTest."), "call site missing: " + e.getMessage());
        assertEquals("linear", e.operation());

        Value b = g.input("b", Shape.of(3), DType.F32);
        Value w2 = g.input("w2", Shape.of(4, 3), DType.F32);
        e = assertThrows(TraceException.class, () -> Functional.linear(x, w2, b));
        assertTrue(e.getMessage().contains("bias") && e.getMessage().contains("[4]"), e.getMessage());

        Value labelsF = g.input("labelsF", Shape.of(2), DType.F32);
        e = assertThrows(TraceException.class, () -> Functional.crossEntropy(x, labelsF));
        assertTrue(e.getMessage().startsWith("cross_entropy:") && e.getMessage().contains("i32 or i64"), e.getMessage());
        Value labels3 = g.input("labels3", Shape.of(3), DType.I64);
        e = assertThrows(TraceException.class, () -> Functional.crossEntropy(x, labels3));
        assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("[2]"), e.getMessage());
        Value labels = g.input("labels", Shape.of(2), DType.I64);
        e = assertThrows(TraceException.class, () -> Functional.crossEntropy(x, labels, 1.5));
        assertTrue(e.getMessage().contains("1.5"), e.getMessage());

        e = assertThrows(TraceException.class, () -> Functional.softmax(x, 2));
        assertTrue(e.getMessage().startsWith("softmax:") && e.getMessage().contains("axis 2"), e.getMessage());

        e = assertThrows(TraceException.class, () -> Functional.layerNorm(x, Shape.of(4), null, null, 1e-5));
        assertTrue(e.getMessage().startsWith("layer_norm:") && e.getMessage().contains("[4]"), e.getMessage());
        e = assertThrows(TraceException.class, () -> Functional.layerNorm(x, Shape.of(3), null, null, 0));
        assertTrue(e.getMessage().contains("eps"), e.getMessage());

        e = assertThrows(TraceException.class, () -> Functional.batchNorm2dTrain(x, null, null, null, null, 0.1, 1e-5));
        assertTrue(e.getMessage().startsWith("batch_norm2d:") && e.getMessage().contains("rank 4"), e.getMessage());
        Value img = g.input("img", Shape.of(1, 3, 1, 1), DType.F32);
        e = assertThrows(TraceException.class, () -> Functional.batchNorm2dTrain(img, null, null, null, null, 0.1, 1e-5));
        assertTrue(e.getMessage().contains("more than one value"), e.getMessage());
        Value rm = g.input("rm", Shape.of(2), DType.F32);
        e = assertThrows(TraceException.class, () -> Functional.batchNorm2dEval(img, null, null, rm, rm, 1e-5));
        assertTrue(e.getMessage().contains("running mean") && e.getMessage().contains("[3]"), e.getMessage());

        Value offset = g.input("offset", Shape.scalar(), DType.I64);
        e = assertThrows(TraceException.class, () -> Functional.dropout(x, 1.2, true, offset, 1, 0));
        assertTrue(e.getMessage().startsWith("dropout:") && e.getMessage().contains("1.2"), e.getMessage());
        e = assertThrows(TraceException.class, () -> Functional.dropout(x, 0.5, true, x, 1, 0));
        assertTrue(e.getMessage().contains("i64 scalar"), e.getMessage());

        Value ids = g.input("ids", Shape.of(2), DType.F32);
        e = assertThrows(TraceException.class, () -> Functional.embedding(w, ids));
        assertTrue(e.getMessage().startsWith("embedding:"), e.getMessage());

        e = assertThrows(TraceException.class, () -> Functional.flatten(x, 1, 0));
        assertTrue(e.getMessage().startsWith("flatten:"), e.getMessage());
        e = assertThrows(TraceException.class, () -> Functional.variance(x, 3, false, 1));
        assertTrue(e.getMessage().startsWith("variance:") && e.getMessage().contains("degrees of freedom"), e.getMessage());

        Value xi = g.input("xi", Shape.of(2, 3), DType.I32);
        e = assertThrows(TraceException.class, () -> Functional.gelu(xi));
        assertTrue(e.getMessage().startsWith("gelu:") && e.getMessage().contains("i32"), e.getMessage());
        e = assertThrows(TraceException.class, () -> Functional.mseLoss(x, w));
        assertTrue(e.getMessage().startsWith("mse_loss:"), e.getMessage());
    }
}
