package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.models.zoo.TinyGpt;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.cpu.Erf;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.Precision;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * tiny-gpt: its parameter count and FLOPs by hand, shapes, the tied output projection, the
 * refusals, a forward pass against a plain float64 transcription of the architecture, training on
 * a repeating sequence with SGD, and its training step under autocast and a memory budget.
 */
class TinyGptTest {
    /** The tiny configuration. */
    private static final String TINY = "tiny-gpt:layers=2,width=32,heads=2,context=16,vocab=50";

    @Test
    void theDefaultConfigurationHasAboutTenMillionParameters() {
        try (Model m = ModelZoo.build("tiny-gpt")) {
            assertEquals("tiny-gpt:layers=6,width=384,heads=6,context=256,vocab=256", m.spec().toString());
            long w = 384;
            long block = 2 * w + (w * 3 * w + 3 * w) + (w * w + w) + 2 * w + (w * 4 * w + 4 * w) + (4 * w * w + w);
            long expected = 256 * w + 256 * w + 6 * block + 2 * w;
            assertEquals(expected, m.parameterCount());
            assertEquals(10_844_160L, m.parameterCount());
            System.out.println("tiny-gpt default configuration: " + m.parameterCount() + " parameters, " + m.forwardFlops()
                    + " forward FLOPs per 256-token sequence");
            assertEquals(Shape.of(256), m.inputShape());
            assertEquals(DType.I32, m.inputDType());
            assertEquals(256, m.classes());
        }
        try (Model m = ModelZoo.build("tiny-gpt:context=64,vocab=100")) {
            assertEquals(Shape.of(64), m.inputShape(), "the input shape follows the context option");
            assertEquals(100, m.classes(), "the logits follow the vocab option");
        }
    }

    @Test
    void forwardFlopsCountTheMatmulsAndTheAttention() {
        for (String spec : List.of("tiny-gpt", TINY, "tiny-gpt:layers=0,width=8,heads=1,context=5,vocab=7")) {
            try (Model m = ModelZoo.build(spec)) {
                long t = m.spec().get("context");
                long w = m.spec().get("width");
                long v = m.spec().get("vocab");
                long perBlock = 2 * t * w * (3 * w + w + 4 * w + 4 * w) + 4 * t * t * w;
                assertEquals(m.spec().get("layers") * perBlock + 2 * t * w * v, m.forwardFlops(), spec);
            }
        }
    }

    @Test
    void tokensOfAnyLengthUpToTheContextGiveLogitsPerPosition() {
        try (Model m = ModelZoo.build(TINY)) {
            for (int[] bt : new int[][] {{3, 16}, {2, 5}, {1, 1}}) {
                Graph g = new Graph();
                ModuleTrace trace = ModuleTrace.of(g, m.module());
                assertEquals(Shape.of(bt[0], bt[1], 50), trace.forward(g.input("x", Shape.of(bt), DType.I32)).shape());
            }
            Graph g = new Graph();
            ModuleTrace trace = ModuleTrace.of(g, m.module());
            assertEquals(Shape.of(2, 7, 50), trace.forward(g.input("x", Shape.of(2, 7), DType.I64)).shape());
        }
    }

    @Test
    void theOutputProjectionIsTheTokenEmbedding() {
        try (Model m = ModelZoo.create(TINY, 3)) {
            Map<String, Variable> params = m.module().namedParameters();
            assertEquals(Shape.of(50, 32), params.get("token_embedding").shape());
            long vocabSized = params.values().stream().filter(v -> v.shape().dims()[0] == 50 || v.shape().dim(-1) == 50).count();
            assertEquals(1, vocabSized, "one [vocab, width] parameter, no separate output weight: " + params.keySet());
            // Rows of tokens that never appear in the input still get a gradient: through the logits.
            Graph g = new Graph("tied");
            ModuleTrace trace = ModuleTrace.of(g, m.module());
            Value x = g.input("x", Shape.of(1, 4), DType.I32);
            Value y = g.input("y", Shape.of(4), DType.I32);
            Value loss = Functional.crossEntropy(Ops.reshape(trace.forward(x), 4, 50), y);
            Value grad = Autodiff.grad(loss, List.of(trace.value(params.get("token_embedding")))).get(0);
            try (Program p = Executor.cpu().compile(g, List.of(grad));
                 Tensor xs = Tensor.ofInts(new int[] {1, 2, 3, 4}, 1, 4);
                 Tensor ys = Tensor.ofInts(new int[] {2, 3, 4, 5}, 4)) {
                trace.bind(p);
                double[] d = p.run(Map.of(x, xs, y, ys)).get(0).toDoubleArray();
                double unusedRow = 0;
                for (int c = 0; c < 32; c++) {
                    unusedRow += Math.abs(d[40 * 32 + c]);
                }
                assertTrue(unusedRow > 0, "token 40 is not in the input, yet its row gets the logits' gradient");
            }
        }
    }

    @Test
    void badConfigurationsAndInputsAreRefusedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TinyGpt(50, 16, 2, 30, 4));
        assertTrue(e.getMessage().contains("width=30 is not divisible by heads=4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("tiny-gpt:width=100"));
        assertTrue(e.getMessage().contains("width=100 is not divisible by heads=6"), e.getMessage());
        try (Model m = ModelZoo.build(TINY)) {
            Graph g = new Graph();
            ModuleTrace trace = ModuleTrace.of(g, m.module());
            e = assertThrows(IllegalArgumentException.class, () -> trace.forward(g.input("long", Shape.of(2, 17), DType.I32)));
            assertTrue(e.getMessage().contains("17 positions") && e.getMessage().contains("context of 16"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> trace.forward(g.input("images", Shape.of(2, 16), DType.F32)));
            assertTrue(e.getMessage().contains("token ids [batch, positions]") && e.getMessage().contains("f32[2,16]"), e.getMessage());
        }
    }

    @Test
    void theForwardPassMatchesAPlainTranscriptionOfTheArchitecture() {
        try (Model m = ModelZoo.create(TINY, 5)) {
            // Larger weights than GPT-2's initialisation, so attention is far from uniform and every
            // part of the block matters to the logits.
            SplittableRandom rnd = new SplittableRandom(8);
            for (Map.Entry<String, Variable> e : m.module().namedParameters().entrySet()) {
                Tensor t = e.getValue().value();
                boolean scale = e.getKey().endsWith("norm1.weight") || e.getKey().endsWith("norm2.weight") || e.getKey().equals("norm.weight");
                for (long i = 0; i < t.numel(); i++) {
                    t.setFlat(i, (scale ? 1 : 0) + rnd.nextDouble(-0.5, 0.5));
                }
            }
            int b = 2;
            int t = 11;
            int[] ids = new int[b * t];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rnd.nextInt(50);
            }
            try (Tensor tokens = Tensor.ofInts(ids, b, t)) {
                m.module().eval();
                double[] ours = LanguageModelSteps.logits(m.module(), tokens);
                double[] ref = reference(m.module().state(), ids, b, t, 2, 32, 2, 50);
                double max = 0;
                for (double r : ref) {
                    max = Math.max(max, Math.abs(r));
                }
                for (int i = 0; i < ref.length; i++) {
                    assertEquals(ref[i], ours[i], 2e-5 * max, "logit " + i + " (largest " + max + ")");
                }
            }
        }
    }

    /** tiny-gpt in float64, written out loop by loop from the weights. */
    private static double[] reference(Map<String, Tensor> w, int[] ids, int b, int t, int layers, int width, int heads, int vocab) {
        double[][] emb = rows(w.get("token_embedding"), vocab, width);
        double[][] pos = rows(w.get("position_embedding"), 16, width);
        double[] logits = new double[b * t * vocab];
        for (int n = 0; n < b; n++) {
            double[][] h = new double[t][];
            for (int i = 0; i < t; i++) {
                h[i] = new double[width];
                for (int c = 0; c < width; c++) {
                    h[i][c] = emb[ids[n * t + i]][c] + pos[i][c];
                }
            }
            for (int l = 0; l < layers; l++) {
                String p = "blocks." + l + ".";
                double[][] a = linear(layerNorm(h, w, p + "norm1"), w, p + "attention.qkv", 3 * width);
                int d = width / heads;
                double[][] att = new double[t][width];
                for (int hd = 0; hd < heads; hd++) {
                    for (int i = 0; i < t; i++) {
                        double[] s = new double[i + 1];
                        double mx = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j <= i; j++) {
                            double dot = 0;
                            for (int c = 0; c < d; c++) {
                                dot += a[i][hd * d + c] * a[j][width + hd * d + c];
                            }
                            s[j] = dot / Math.sqrt(d);
                            mx = Math.max(mx, s[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j <= i; j++) {
                            s[j] = Math.exp(s[j] - mx);
                            sum += s[j];
                        }
                        for (int j = 0; j <= i; j++) {
                            for (int c = 0; c < d; c++) {
                                att[i][hd * d + c] += s[j] / sum * a[j][2 * width + hd * d + c];
                            }
                        }
                    }
                }
                h = add(h, linear(att, w, p + "attention.proj", width));
                double[][] f = linear(layerNorm(h, w, p + "norm2"), w, p + "mlp.0", 4 * width);
                for (double[] row : f) {
                    for (int c = 0; c < row.length; c++) {
                        row[c] = 0.5 * row[c] * (1 + Erf.erf(row[c] / Math.sqrt(2)));
                    }
                }
                h = add(h, linear(f, w, p + "mlp.2", width));
            }
            h = layerNorm(h, w, "norm");
            for (int i = 0; i < t; i++) {
                for (int v = 0; v < vocab; v++) {
                    double dot = 0;
                    for (int c = 0; c < width; c++) {
                        dot += h[i][c] * emb[v][c];
                    }
                    logits[(n * t + i) * vocab + v] = dot;
                }
            }
        }
        return logits;
    }

    private static double[][] rows(Tensor x, int n, int width) {
        double[] flat = x.toDoubleArray();
        double[][] out = new double[n][width];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * width, out[i], 0, width);
        }
        return out;
    }

    private static double[][] layerNorm(double[][] h, Map<String, Tensor> w, String name) {
        double[] g = w.get(name + ".weight").toDoubleArray();
        double[] beta = w.get(name + ".bias").toDoubleArray();
        double[][] out = new double[h.length][];
        for (int i = 0; i < h.length; i++) {
            double mean = Arrays.stream(h[i]).average().orElseThrow();
            double var = 0;
            for (double x : h[i]) {
                var += (x - mean) * (x - mean);
            }
            var /= h[i].length;
            out[i] = new double[h[i].length];
            for (int c = 0; c < h[i].length; c++) {
                out[i][c] = (h[i][c] - mean) / Math.sqrt(var + 1e-5) * g[c] + beta[c];
            }
        }
        return out;
    }

    private static double[][] linear(double[][] x, Map<String, Tensor> w, String name, int out) {
        double[] weight = w.get(name + ".weight").toDoubleArray();
        double[] bias = w.get(name + ".bias").toDoubleArray();
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int c = 0; c < in; c++) {
                    s += x[i][c] * weight[o * in + c];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] out = new double[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int c = 0; c < a[0].length; c++) {
                out[i][c] = a[i][c] + b[i][c];
            }
        }
        return out;
    }

    /** Four windows of 16 tokens from a repeating sequence of period 7, each predicting its next token. */
    private static Tensor[] repeatingBatch() {
        int[] cycle = {3, 17, 42, 8, 25, 1, 33};
        int b = 4;
        int t = 16;
        int[] x = new int[b * t];
        int[] y = new int[b * t];
        for (int n = 0; n < b; n++) {
            for (int i = 0; i < t; i++) {
                x[n * t + i] = cycle[(n * 2 + i) % 7];
                y[n * t + i] = cycle[(n * 2 + i + 1) % 7];
            }
        }
        return new Tensor[] {Tensor.ofInts(x, b, t), Tensor.ofInts(y, b, t)};
    }

    @Test
    @Timeout(120)
    void sgdLearnsARepeatingSequence() {
        Tensor[] batch = repeatingBatch();
        try (Model m = ModelZoo.create(TINY, 1); Tensor x = batch[0]; Tensor y = batch[1]) {
            double[] losses = LanguageModelSteps.sgd(m.module(), x, y, 300, 0.5);
            for (double l : losses) {
                assertTrue(Double.isFinite(l), Arrays.toString(losses));
            }
            double first = losses[0];
            double last = losses[losses.length - 1];
            System.out.println("tiny-gpt on a repeating sequence, 300 SGD steps: loss " + first + " -> " + last);
            assertEquals(Math.log(50), first, 0.2, "starts near uniform over 50 tokens");
            assertTrue(last < 0.1, "loss " + first + " -> " + last + ":\n" + Arrays.toString(losses));
        }
    }

    @Test
    @Timeout(120)
    void theTrainingStepRunsUnderAutocastAndRecomputesBitIdenticallyUnderABudget() {
        Tensor[] batch = repeatingBatch();
        try (Tensor x = batch[0]; Tensor y = batch[1]) {
            double[] plain;
            try (Model m = ModelZoo.create(TINY, 2)) {
                plain = LanguageModelSteps.sgd(m.module(), x, y, 3, 0.5);
            }
            try (Model m = ModelZoo.create(TINY, 2)) {
                LanguageModelSteps.Step s = LanguageModelSteps.trace(m.module(), 4, 16, 0.5);
                long attention = s.graph().nodes().stream().filter(n -> n.op() == Op.ATTENTION).count();
                long attentionGrad = s.graph().nodes().stream().filter(n -> n.op() == Op.ATTENTION_GRAD).count();
                assertEquals(2, attention, "one fused attention per block");
                assertEquals(2, attentionGrad, "one fused gradient per block");
                MemoryPlan unplanned = Executor.cpu().plan(s.graph(), List.of(s.loss()));
                long smallest = Executor.cpu().withMemoryBudget(unplanned.boundBytes()).plan(s.graph(), List.of(s.loss())).smallestPeakBytes();
                long budget = (smallest + unplanned.predictedPeakBytes()) / 2;
                Executor budgeted = Executor.cpu().withMemoryBudget(budget);
                assertTrue(budgeted.plan(s.graph(), List.of(s.loss())).checkpointed(), "the budget needs recomputation");
                double[] recomputed = LanguageModelSteps.sgd(budgeted, m.module(), x, y, 3, 0.5);
                assertArrayEquals(plain, recomputed, "recomputed steps give the same bits");
            }
            for (Precision precision : new Precision[] {Precision.BF16, Precision.FP16}) {
                try (Model m = ModelZoo.create(TINY, 2)) {
                    double[] low = LanguageModelSteps.sgd(Executor.cpu().withAutocast(precision), m.module(), x, y, 3, 0.5);
                    for (int i = 0; i < low.length; i++) {
                        assertEquals(plain[i], low[i], 0.02 * plain[i], precision + " step " + i + ": " + Arrays.toString(low));
                    }
                }
            }
        }
    }
}
