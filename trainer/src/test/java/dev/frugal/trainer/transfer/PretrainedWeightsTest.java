package dev.frugal.trainer.transfer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading weights by name from safetensors files written here (the PyTorch round trip is
 * {@link PyTorchTransferTest}): equal names, a name map, missing and unexpected tensors, a shape
 * mismatch naming the tensor and both shapes, dtype conversion, and the globs of {@code --freeze}.
 */
class PretrainedWeightsTest {
    private static final String SPEC = "mlp:hidden1=8,hidden2=6";

    /** A trained-looking source: the state of the same architecture from another seed. */
    private static Map<String, Tensor> source(long seed) {
        try (Model m = ModelZoo.create(SPEC, seed)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            m.module().state().forEach((name, t) -> out.put(name, t.contiguous()));
            return out;
        }
    }

    private static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        SafetensorsWriter.write(file, new LinkedHashMap<>(tensors), Map.of());
    }

    @Test
    void equalNamesLoadAndTheReportListsMissingAndUnexpected(@TempDir Path tmp) throws IOException {
        Map<String, Tensor> src = source(11);
        float[] fc2 = src.get("fc2.weight").toFloatArray();
        Tensor dropped = src.remove("fc3.bias");
        dropped.close();
        src.put("head.extra", Tensor.zeros(dev.frugal.runtime.Shape.of(3), DType.F32));
        Path file = tmp.resolve("w.safetensors");
        write(file, src);
        try (Model m = ModelZoo.create(SPEC, 1)) {
            float[] fc3Bias = m.module().state().get("fc3.bias").toFloatArray();
            WeightImportReport r = PretrainedWeights.load(m.module(), file, Map.of());
            assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight"),
                    r.matched().stream().map(WeightImportReport.Match::modelName).toList());
            assertEquals(List.of("fc3.bias"), r.missing());
            assertEquals(List.of("head.extra"), r.unexpected());
            assertArrayEquals(fc2, m.module().state().get("fc2.weight").toFloatArray());
            assertArrayEquals(fc3Bias, m.module().state().get("fc3.bias").toFloatArray(), "a missing tensor keeps its initialisation");
            assertTrue(r.describe().contains("missing: fc3.bias") && r.describe().contains("unexpected: head.extra"), r.describe());
            assertEquals(List.of("fc3.bias"), r.toMap().get("missing"));
        } finally {
            src.values().forEach(Tensor::close);
        }
    }

    @Test
    void aNameMapRenames(@TempDir Path tmp) throws IOException {
        Map<String, Tensor> src = source(12);
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        src.forEach((name, t) -> renamed.put(name.startsWith("fc3.") ? "classifier." + name.substring(4) : name, t));
        Path file = tmp.resolve("w.safetensors");
        write(file, renamed);
        Path map = tmp.resolve("map.json");
        Files.writeString(map, "{\"fc3.weight\": \"classifier.weight\", \"fc3.bias\": \"classifier.bias\"}");
        try (Model m = ModelZoo.create(SPEC, 1)) {
            WeightImportReport r = PretrainedWeights.load(m.module(), file, PretrainedWeights.readNameMap(map));
            assertEquals(6, r.matched().size());
            assertTrue(r.missing().isEmpty() && r.unexpected().isEmpty(), r.describe());
            assertArrayEquals(src.get("fc3.weight").toFloatArray(), m.module().state().get("fc3.weight").toFloatArray());
            assertTrue(r.describe().contains("renamed: classifier.weight -> fc3.weight"), r.describe());

            IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
                    () -> PretrainedWeights.load(m.module(), file, Map.of("fc9.weight", "classifier.weight")));
            assertTrue(typo.getMessage().contains("'fc9.weight' is not a variable of the model"), typo.getMessage());
        } finally {
            src.values().forEach(Tensor::close);
        }
    }

    @Test
    void aShapeMismatchNamesTheTensorAndBothShapesAndLoadsNothing(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("wide.safetensors");
        try (Model wide = ModelZoo.create("mlp:hidden1=8,hidden2=7", 3)) {
            write(file, wide.module().state());
        }
        try (Model m = ModelZoo.create(SPEC, 1)) {
            float[] fc1 = m.module().state().get("fc1.weight").toFloatArray();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PretrainedWeights.load(m.module(), file, Map.of()));
            assertTrue(e.getMessage().contains("'fc2.weight'") && e.getMessage().contains("[7,8]") && e.getMessage().contains("[6,8]"),
                    e.getMessage());
            assertArrayEquals(fc1, m.module().state().get("fc1.weight").toFloatArray(), "nothing is loaded when a tensor does not fit");
        }
    }

    @Test
    void otherFloatingDtypesAreConvertedAndReported(@TempDir Path tmp) throws IOException {
        Map<String, Tensor> src = source(13);
        Map<String, Tensor> f64 = new LinkedHashMap<>();
        src.forEach((name, t) -> f64.put(name, t.to(DType.F64)));
        Path file = tmp.resolve("f64.safetensors");
        write(file, f64);
        try (Model m = ModelZoo.create(SPEC, 1)) {
            WeightImportReport r = PretrainedWeights.load(m.module(), file, Map.of());
            assertEquals(6, r.converted().size());
            assertTrue(r.describe().contains("converted: fc1.weight from f64 to f32"), r.describe());
            assertArrayEquals(src.get("fc1.weight").toFloatArray(), m.module().state().get("fc1.weight").toFloatArray());
        } finally {
            src.values().forEach(Tensor::close);
            f64.values().forEach(Tensor::close);
        }
    }

    @Test
    void globsResolveOverFullNames() {
        List<String> names = List.of("block1.0.weight", "block1.1.weight", "fc1.weight", "fc1.bias", "fc2.weight");
        assertEquals(List.of("block1.0.weight", "block1.1.weight", "fc1.bias"),
                List.copyOf(FrozenParameters.resolve(names, FrozenParameters.parseGlobs("fc1.bias, block?.*"))));
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> FrozenParameters.resolve(names, List.of("features.*")));
        assertTrue(none.getMessage().contains("'features.*' matches no parameter; the parameters are block1.0.weight"), none.getMessage());
        IllegalArgumentException all = assertThrows(IllegalArgumentException.class, () -> FrozenParameters.resolve(names, List.of("*")));
        assertTrue(all.getMessage().contains("freeze every parameter"), all.getMessage());
        assertTrue(FrozenParameters.resolve(names, List.of()).isEmpty());
    }
}
