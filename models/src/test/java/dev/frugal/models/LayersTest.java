package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.layers.BatchNorm2d;
import dev.frugal.models.layers.Conv2d;
import dev.frugal.models.layers.DepthwiseSeparableConv2d;
import dev.frugal.models.layers.Dropout;
import dev.frugal.models.layers.Embedding;
import dev.frugal.models.layers.Flatten;
import dev.frugal.models.layers.GELU;
import dev.frugal.models.layers.GlobalAvgPool2d;
import dev.frugal.models.layers.LayerNorm;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.MaxPool2d;
import dev.frugal.models.layers.ReLU;
import dev.frugal.models.layers.Residual;
import dev.frugal.models.layers.SiLU;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Layers: output shapes, values against hand computations, and train/eval behaviour. */
class LayersTest {

    @Test
    void outputShapes() {
        assertEquals(Shape.of(4, 7), shape(new Linear(5, 7), Shape.of(4, 5)));
        assertEquals(Shape.of(2, 8, 28, 28), shape(new Conv2d(1, 8, 3, 1, 1, 1, 1, true), Shape.of(2, 1, 28, 28)));
        assertEquals(Shape.of(2, 8, 14, 14), shape(new Conv2d(4, 8, 3, 2, 1, 1, 1, false), Shape.of(2, 4, 28, 28)));
        assertEquals(Shape.of(2, 4, 24, 24), shape(new Conv2d(4, 4, 3, 1, 0, 2, 4, true), Shape.of(2, 4, 28, 28)), "dilation 2, depthwise");
        assertEquals(Shape.of(2, 16, 14, 14), shape(new DepthwiseSeparableConv2d(8, 16, 2), Shape.of(2, 8, 28, 28)));
        assertEquals(Shape.of(2, 3, 14, 14), shape(new MaxPool2d(2), Shape.of(2, 3, 28, 28)));
        assertEquals(Shape.of(2, 3), shape(new GlobalAvgPool2d(), Shape.of(2, 3, 5, 5)));
        assertEquals(Shape.of(2, 75), shape(new Flatten(), Shape.of(2, 3, 5, 5)));
        assertEquals(Shape.of(2, 6), shape(new LayerNorm(6), Shape.of(2, 6)));
        assertEquals(Shape.of(2, 6), shape(new Residual(new Linear(6, 6)), Shape.of(2, 6)));
        for (Module act : List.of(new ReLU(), new GELU(), new SiLU(), new Dropout(0.3))) {
            assertEquals(Shape.of(3, 4), shape(act.eval(), Shape.of(3, 4)), act.getClass().getSimpleName());
        }
        Embedding emb = new Embedding(10, 4);
        Graph g = new Graph();
        assertEquals(Shape.of(2, 3, 4), emb.forward(ModuleTrace.of(g, emb), g.input("ids", Shape.of(2, 3), DType.I64)).shape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shape(new Residual(new Linear(6, 5)), Shape.of(2, 6)));
        assertTrue(e.getMessage().contains("keep the input's shape"), e.getMessage());
    }

    @Test
    void linearAndConvComputeWhatTheirWeightsSay() {
        try (Linear lin = (Linear) new Linear(3, 2).initialize(5);
             Tensor x = Tensor.of(new float[] {1, 2, 3, -1, 0, 1}, 2, 3)) {
            float[] w = lin.localVariables().get("weight").value().toFloatArray();
            float[] b = lin.localVariables().get("bias").value().toFloatArray();
            float[] y = run(lin, x);
            for (int n = 0; n < 2; n++) {
                for (int o = 0; o < 2; o++) {
                    double expect = b[o];
                    for (int i = 0; i < 3; i++) {
                        expect += w[o * 3 + i] * x.getFlat(n * 3L + i);
                    }
                    assertEquals(expect, y[n * 2 + o], 1e-5);
                }
            }
        }
        // A depthwise 1x1 convolution scales each channel by its own weight and adds its bias.
        try (Conv2d dw = (Conv2d) new Conv2d(2, 2, 1, 1, 0, 1, 2, true).initialize(9);
             Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)) {
            float[] w = dw.localVariables().get("weight").value().toFloatArray();
            float[] b = dw.localVariables().get("bias").value().toFloatArray();
            float[] y = run(dw, x);
            for (int i = 0; i < 8; i++) {
                int c = i / 4;
                assertEquals(w[c] * (i + 1) + b[c], y[i], 1e-5);
            }
        }
    }

    @Test
    void batchNormUpdatesRunningStatisticsInTrainingModeOnly() {
        try (BatchNorm2d bn = (BatchNorm2d) new BatchNorm2d(2).initialize(0); Tensor x = randomImages(4, 2, 3, 3, 11)) {
            float[] train1 = run(bn, x);
            float[] mean = bn.runningMean().value().toFloatArray();
            float[] var = bn.runningVar().value().toFloatArray();
            // running = 0.9 * running + 0.1 * batch statistic (unbiased variance)
            for (int c = 0; c < 2; c++) {
                double[] stats = channelStats(x, c);
                assertEquals(0.1 * stats[0], mean[c], 1e-5, "running mean of channel " + c);
                assertEquals(0.9 + 0.1 * stats[1], var[c], 1e-4, "running var of channel " + c);
                // the training output is normalised with the batch statistics: mean 0 per channel
                double sum = 0;
                for (int n = 0; n < 4; n++) {
                    for (int i = 0; i < 9; i++) {
                        sum += train1[(n * 2 + c) * 9 + i];
                    }
                }
                assertEquals(0, sum / 36, 1e-5);
            }
            bn.eval();
            float[] eval1 = run(bn, x);
            float[] eval2 = run(bn, x);
            assertArrayEquals(mean, bn.runningMean().value().toFloatArray(), "evaluation leaves the running mean alone");
            assertArrayEquals(var, bn.runningVar().value().toFloatArray(), "evaluation leaves the running variance alone");
            assertArrayEquals(eval1, eval2, "evaluation is deterministic");
            assertFalse(java.util.Arrays.equals(train1, eval1), "training and evaluation normalise differently");
            for (int i = 0; i < eval1.length; i++) {
                int c = (i / 9) % 2;
                assertEquals((x.getFlat(i) - mean[c]) / Math.sqrt(var[c] + 1e-5), eval1[i], 1e-4, "eval output " + i);
            }
        }
    }

    @Test
    void dropoutDropsInTrainingOnlyWithFreshButReproducibleMasks() {
        try (Dropout d = (Dropout) new Dropout(0.5).initialize(3); Dropout same = (Dropout) new Dropout(0.5).initialize(3);
             Dropout other = (Dropout) new Dropout(0.5).initialize(4); Tensor x = Tensor.full(Shape.of(8, 64), DType.F32, 1.0)) {
            Graph g = new Graph("dropout");
            ModuleTrace trace = ModuleTrace.of(g, d);
            Value in = g.input("x", x.shape(), DType.F32);
            Value out = d.forward(trace, in);
            float[] step1;
            float[] step2;
            try (Program p = Executor.cpu().compile(g, List.of(out))) {
                trace.bind(p);
                step1 = p.run(Map.of(in, x)).get(0).toFloatArray();
                step2 = p.run(Map.of(in, x)).get(0).toFloatArray();
            }
            int zeros = 0;
            for (float f : step1) {
                assertTrue(f == 0f || f == 2f, "kept elements are scaled by 1/(1-p): " + f);
                zeros += f == 0f ? 1 : 0;
            }
            assertTrue(zeros > 512 * 0.35 && zeros < 512 * 0.65, zeros + " of 512 dropped");
            assertFalse(java.util.Arrays.equals(step1, step2), "the counter advances, so the next step has a new mask");
            assertEquals(2 * 512, d.localVariables().get("offset").value().getFlat(0), "the counter advanced by numel per step");
            assertArrayEquals(step1, run(same, x), "same model seed and name: same first mask");
            assertFalse(java.util.Arrays.equals(step1, run(other, x)), "another seed: another mask");
            d.eval();
            assertArrayEquals(x.toFloatArray(), run(d, x), "evaluation is the identity");
        }
        Dropout uninitialised = new Dropout(0.1);
        Graph g = new Graph();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> uninitialised.forward(ModuleTrace.of(g, uninitialised), g.input("x", Shape.of(2), DType.F32)));
        assertTrue(e.getMessage().contains("initialize"), e.getMessage());
    }

    @Test
    void layerNormNormalisesTheLastAxis() {
        try (LayerNorm ln = (LayerNorm) new LayerNorm(4).initialize(0); Tensor x = Tensor.of(new float[] {1, 2, 3, 4, -2, 0, 2, 4}, 2, 4)) {
            float[] y = run(ln, x);
            for (int r = 0; r < 2; r++) {
                double mean = 0;
                double sq = 0;
                for (int i = 0; i < 4; i++) {
                    mean += y[r * 4 + i];
                    sq += y[r * 4 + i] * y[r * 4 + i];
                }
                assertEquals(0, mean / 4, 1e-5);
                assertEquals(1, sq / 4, 1e-3);
            }
        }
    }

    @Test
    void activationsAndResidualComputeTheirFormulas() {
        float[] in = {-2f, -0.5f, 0f, 0.5f, 3f};
        try (Tensor x = Tensor.of(in, 5)) {
            float[] relu = run(new ReLU(), x);
            float[] gelu = run(new GELU(), x);
            float[] silu = run(new SiLU(), x);
            for (int i = 0; i < in.length; i++) {
                double v = in[i];
                assertEquals(Math.max(v, 0), relu[i], 0);
                assertEquals(v / (1 + Math.exp(-v)), silu[i], 1e-6);
                // exact GELU: x * Phi(x); Phi(-2) = 0.02275013, Phi(-0.5) = 0.30853754, Phi(0.5) = 0.69146246, Phi(3) = 0.99865010
                double phi = switch (i) {
                    case 0 -> 0.022750131948179;
                    case 1 -> 0.308537538725987;
                    case 2 -> 0.5;
                    case 3 -> 0.691462461274013;
                    default -> 0.998650101968370;
                };
                assertEquals(v * phi, gelu[i], 1e-6);
            }
        }
        try (Residual res = (Residual) new Residual(new Linear(3, 3)).initialize(4); Tensor x = Tensor.of(new float[] {1, -1, 2}, 1, 3)) {
            float[] body = run(res.body(), x);
            float[] y = run(res, x);
            for (int i = 0; i < 3; i++) {
                assertEquals(x.getFlat(i) + body[i], y[i], 1e-6);
            }
        }
    }

    @Test
    void embeddingLooksUpRows() {
        try (Embedding emb = (Embedding) new Embedding(5, 3).initialize(2); Tensor ids = Tensor.ofLongs(new long[] {4, 0, 4}, 3)) {
            float[] table = emb.localVariables().get("weight").value().toFloatArray();
            float[] y = run(emb, ids);
            for (int i = 0; i < 3; i++) {
                assertEquals(table[12 + i], y[i]);
                assertEquals(table[i], y[3 + i]);
                assertEquals(table[12 + i], y[6 + i]);
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Shape shape(Module m, Shape input) {
        Graph g = new Graph();
        return m.forward(ModuleTrace.of(g, m), g.input("x", input, DType.F32)).shape();
    }

    /** One run of {@code m} on {@code x} in its current mode; assignments write into the module's buffers. */
    static float[] run(Module m, Tensor x) {
        Graph g = new Graph("run");
        ModuleTrace trace = ModuleTrace.of(g, m);
        Value in = g.input("x", x.shape(), x.dtype());
        Value out = m.forward(trace, in);
        try (Program p = Executor.cpu().compile(g, List.of(out))) {
            trace.bind(p);
            return p.run(Map.of(in, x)).get(0).toFloatArray();
        }
    }

    private static Tensor randomImages(int n, int c, int h, int w, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(Shape.of(n, c, h, w), DType.F32);
        for (long i = 0; i < t.numel(); i++) {
            t.setFlat(i, rnd.nextDouble(-2, 3));
        }
        return t;
    }

    /** Mean and unbiased variance of channel {@code c} of an NCHW tensor. */
    private static double[] channelStats(Tensor x, int c) {
        int n = x.shape().dim(0);
        int channels = x.shape().dim(1);
        int plane = x.shape().dim(2) * x.shape().dim(3);
        double sum = 0;
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < plane; i++) {
                sum += (float) x.getFlat((long) (b * channels + c) * plane + i);
            }
        }
        double mean = sum / (n * plane);
        double sq = 0;
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < plane; i++) {
                double d = (float) x.getFlat((long) (b * channels + c) * plane + i) - mean;
                sq += d * d;
            }
        }
        return new double[] {mean, sq / (n * plane - 1)};
    }
}
