package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelSpec;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The zoo: parameter counts and FLOPs by hand, output shapes, spec parsing, and that every model learns. */
class ModelZooTest {

    @Test
    void mlpHasTheIssuesParameterCountAndFlops() {
        try (Model m = ModelZoo.build("mlp")) {
            assertEquals(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, m.parameterCount());
            assertEquals(2L * (784 * 256 + 256 * 128 + 128 * 10), m.forwardFlops());
        }
    }

    @Test
    void cnnSmallCountsByHand() {
        try (Model m = ModelZoo.build("cnn-small")) {
            long conv1 = 32 * 1 * 9;
            long conv2 = 64 * 32 * 9;
            long bn = 2 * 32 + 2 * 64;
            long fc1 = 64 * 7 * 7 * 128 + 128;
            long fc2 = 128 * 10 + 10;
            assertEquals(conv1 + conv2 + bn + fc1 + fc2, m.parameterCount());
            long flops = 2 * (28 * 28 * conv1 + 14 * 14 * conv2 + 64 * 7 * 7 * 128 + 128 * 10);
            assertEquals(flops, m.forwardFlops());
        }
        try (Model m = ModelZoo.build("cnn-small:channels1=4,channels2=8,hidden=16")) {
            assertEquals(4 * 9 + 8 * 4 * 9 + 2 * 4 + 2 * 8 + 8 * 49 * 16 + 16 + 16 * 10 + 10, m.parameterCount());
        }
        try (Model wide = ModelZoo.build("cnn-small:width=2");
             Model spelled = ModelZoo.build("cnn-small:channels1=64,channels2=128,hidden=256")) {
            assertEquals(spelled.parameterCount(), wide.parameterCount());
            assertEquals(spelled.forwardFlops(), wide.forwardFlops());
        }
    }

    @Test
    void mobilenetTinyCountsByHandAndStaysUnder300K() {
        try (Model m = ModelZoo.build("mobilenet-tiny")) {
            int w = 32;
            long params = w * 9 + 2L * w; // stem conv and its batch norm
            long flops = 2L * 28 * 28 * w * 9;
            int[] mult = {2, 2, 4, 4, 8, 8};
            int[] stride = {2, 1, 2, 1, 2, 1};
            int in = w;
            int size = 28;
            for (int i = 0; i < 6; i++) {
                int out = w * mult[i];
                params += in * 9L + 2L * in + (long) in * out + 2L * out;
                size = (size + 2 - 3) / stride[i] + 1;
                flops += 2L * size * size * (in * 9L + (long) in * out);
                in = out;
            }
            params += in * 10L + 10;
            flops += 2L * in * 10;
            assertEquals(params, m.parameterCount());
            assertEquals(flops, m.forwardFlops());
            assertTrue(m.parameterCount() <= 300_000, m.parameterCount() + " parameters");
        }
        try (Model widest = ModelZoo.build("mobilenet-tiny:width=44")) {
            assertTrue(widest.parameterCount() <= ModelZoo.MOBILENET_TINY_MAX_PARAMETERS, widest.toString());
        }
    }

    @Test
    void deepMlpCountsFollowDepthAndWidth() {
        for (String spec : List.of("deep-mlp", "deep-mlp:depth=3,width=64", "deep-mlp:depth=0,width=16")) {
            try (Model m = ModelZoo.build(spec)) {
                long d = m.spec().get("depth");
                long w = m.spec().get("width");
                long block = 2 * w + 2 * (w * w + w);
                assertEquals(784 * w + w + d * block + 2 * w + w * 10 + 10, m.parameterCount(), spec);
                assertEquals(2 * (784 * w + d * 2 * w * w + w * 10), m.forwardFlops(), spec);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn-small", "mobilenet-tiny", "deep-mlp"})
    void everyModelMapsImagesToTenLogitsInBothModes(String name) {
        try (Model m = ModelZoo.build(name)) {
            for (boolean training : new boolean[] {true, false}) {
                m.module().train(training);
                Graph g = new Graph();
                if (training) {
                    m.module().initialize(0); // dropout-free today, but training-mode tracing may need seeds
                }
                ModuleTrace trace = ModuleTrace.of(g, m.module());
                assertEquals(Shape.of(3, 10), trace.forward(g.input("x", Shape.of(3, 1, 28, 28), DType.F32)).shape());
            }
        }
    }

    /** Each model gets a learning rate that is stable for it on 8 random images (cnn-small's 3136-input fc1 wants a small one). */
    @ParameterizedTest
    @CsvSource({"mlp, 0.1", "cnn-small, 0.02", "mobilenet-tiny, 0.1", "deep-mlp, 0.05"})
    @Timeout(30)
    void sgdStepsOnATinyBatchReduceTheLoss(String name, double lr) {
        try (Model m = ModelZoo.create(name, 1)) {
            double[] losses = SgdSteps.run(m.module(), m.inputShape(), m.classes(), 8, 10, lr, 5);
            for (double l : losses) {
                assertTrue(Double.isFinite(l), name + ": " + java.util.Arrays.toString(losses));
            }
            assertTrue(losses[losses.length - 1] < 0.7 * losses[0], name + ": " + java.util.Arrays.toString(losses));
        }
    }

    @Test
    void sameSpecAndSeedGiveIdenticalModelsAndTrainingRuns() {
        try (Model a = ModelZoo.create("cnn-small:channels1=4,channels2=8,hidden=16", 9);
             Model b = ModelZoo.create("cnn-small:channels1=4,channels2=8,hidden=16", 9)) {
            double[] la = SgdSteps.run(a.module(), a.inputShape(), 10, 4, 3, 0.1, 2);
            double[] lb = SgdSteps.run(b.module(), b.inputShape(), 10, 4, 3, 0.1, 2);
            assertArrayEquals(la, lb, "bit-identical losses");
            for (Map.Entry<String, Variable> e : a.module().namedVariables().entrySet()) {
                assertArrayEquals(e.getValue().value().toFloatArray(), b.module().namedVariables().get(e.getKey()).value().toFloatArray(), e.getKey());
            }
        }
    }

    @Test
    void specsParseWithDefaultsAndPrintCanonically() {
        ModelSpec s = ModelZoo.parse("deep-mlp:depth=64,width=512");
        assertEquals("deep-mlp", s.name());
        assertEquals(64, s.get("depth"));
        assertEquals(512, s.get("width"));
        assertEquals("deep-mlp:depth=8,width=256", ModelZoo.parse("deep-mlp").toString());
        assertEquals("deep-mlp:depth=8,width=32", ModelZoo.parse(" deep-mlp:width=32 ").toString());
        // a derived option is spelled out only once it is set, and parses back to the same spec
        assertEquals("mobilenet-tiny:width=32", ModelZoo.parse("mobilenet-tiny").toString());
        assertEquals("mobilenet-tiny:width=8,block2=5", ModelZoo.parse("mobilenet-tiny:block2=5,width=8").toString());
        assertEquals(ModelZoo.parse("deep-mlp:hidden=64"), ModelZoo.parse(ModelZoo.parse("deep-mlp:hidden=64").toString()));
        assertEquals(List.of("mlp", "cnn-small", "mobilenet-tiny", "deep-mlp", "tiny-gpt"), ModelZoo.names());
    }

    @Test
    void badSpecsNameTheProblemAndListWhatIsValid() {
        assertMessage("nope", "unknown model 'nope'", "mlp, cnn-small, mobilenet-tiny, deep-mlp, tiny-gpt");
        assertMessage("deep-mlp:layers=3", "has no option 'layers'", "depth (default 8, 0..4096)", "width (default 256");
        assertMessage("deep-mlp:depth=x", "'depth' must be an integer in 0..4096, got 'x'");
        assertMessage("deep-mlp:depth=-1", "'depth' must be in 0..4096, got -1");
        assertMessage("deep-mlp:depth=2,depth=3", "gives option 'depth' twice");
        assertMessage("deep-mlp:depth", "'depth' is not key=value", "valid options of 'deep-mlp'");
        assertMessage("mlp:", "no options", "hidden1");
        assertMessage("", "empty model spec", "cnn-small");
        assertMessage("mobilenet-tiny:width=45", "'width' must be in 1..44");
    }

    private static void assertMessage(String spec, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelZoo.parse(spec));
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should contain '" + p + "'");
        }
    }
}
