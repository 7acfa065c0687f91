package dev.frugal.trainer.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every image zoo model exported from seeded weights runs in ONNX Runtime at batches 1 and 7 (one
 * model, a dynamic batch) with Frugal's eval-mode logits; ops ONNX cannot express are named.
 */
class OnnxExporterTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    // the last mobilenet-tiny has per-block channel counts, as structured pruning leaves them
    @ValueSource(strings = {"mlp", "cnn-small", "mobilenet-tiny", "deep-mlp:depth=2", "mobilenet-tiny:width=5,block1=7,block3=3,block6=9"})
    void zooModelsMatchOnnxRuntimeAtAnyBatchSize(String spec) throws Exception {
        try (Model m = ModelZoo.create(spec, 11)) {
            perturbRunningStatistics(m.module());
            m.module().train(true); // export must switch to eval mode itself, and put training mode back
            byte[] onnx = OnnxExporter.export(m.module(), m.inputShape(), m.inputDType(), m.name());
            assertTrue(m.module().isTraining());
            for (int n : new int[] {1, 7}) {
                float[] x = OnnxRuntimeAccess.randomBatch(n, m.inputShape(), 100 + n);
                OnnxRuntimeAccess.assertSameLogits(spec, m.module(), onnx, m.inputShape(), n, x, m.classes());
            }
        }
    }

    /** Running statistics other than 0 and 1, so eval-mode batch norm is really checked. */
    private static void perturbRunningStatistics(Module module) {
        module.namedBuffers().forEach((name, v) -> {
            Tensor t = v.value();
            if (name.endsWith("running_mean") || name.endsWith("running_var")) {
                for (long i = 0; i < t.numel(); i++) {
                    t.setFlat(i, name.endsWith("running_mean") ? 0.1 * (i % 7) - 0.3 : 0.5 + 0.1 * (i % 5));
                }
            }
        });
    }

    @Test
    void anInexpressibleOpIsNamedWithItsCallSiteAndNoFileIsWritten() throws Exception {
        try (Model m = ModelZoo.create("tiny-gpt", 1)) {
            Path target = tmp.resolve("gpt.onnx");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> OnnxExporter.write(m.module(), m.inputShape(), m.inputDType(), m.name(), target));
            assertTrue(e.getMessage().contains("op attention"), e.getMessage());
            assertTrue(e.getMessage().contains(".java:"), "names the call site: " + e.getMessage());
            assertFalse(Files.exists(target));
            try (var files = Files.list(tmp)) {
                assertEquals(0, files.count(), "no temporary file left behind");
            }
        }
    }

    @Test
    void randomOpsAreRefused() {
        Module noisy = new Module() {
            @Override
            public Value forward(ModuleTrace trace, Value input) {
                Value offset = Ops.constant(input.graph(), 0, DType.I64);
                return input.add(Ops.randomUniform(offset, input.shape(), 1, 2));
            }
        };
        noisy.initialize(1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxExporter.export(noisy, Shape.of(4), DType.F32, "noisy"));
        assertTrue(e.getMessage().contains("op random_uniform"), e.getMessage());
        assertTrue(e.getMessage().contains("OnnxExporterTest"), "names the call site: " + e.getMessage());
    }
}
