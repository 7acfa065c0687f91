package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.optim.AdamW;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A classifier head trained on frozen features: cnn-small with everything but its last linear
 * layer frozen by globs trains a few dozen steps on the synthetic bands of {@link TrainerTest};
 * the frozen parameters stay bit-identical, the head changes, the loss falls, and the optimizer
 * keeps state for the head alone. Batch-norm running statistics are buffers and still update in
 * training mode, as in PyTorch.
 */
class TransferLearningTest {
    private static final String SPEC = "cnn-small:channels1=8,channels2=8,hidden=32";

    private static Map<String, float[]> snapshot(Map<String, Tensor> state) {
        Map<String, float[]> out = new LinkedHashMap<>();
        state.forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }

    @Test
    void aHeadTrainsOnFrozenFeatures() throws IOException {
        TrainerConfig config = TrainerConfig.defaults().withEpochs(10).withMaxSteps(40).withLearningRate(3e-3)
                .withOptimizer(new AdamW(0.9, 0.999, 1e-8, 0.0)).withFreeze(List.of("block*", "fc1.*"));
        try (Model m = ModelZoo.create(SPEC, 4);
             Trainer trainer = new Trainer(m.module(), m.inputShape(), 32, config);
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            Map<String, float[]> before = snapshot(m.module().state());
            assertEquals(List.of("fc2.weight", "fc2.bias"), trainer.trainableParameters());
            assertEquals(List.of("block1.0.weight", "block1.1.weight", "block1.1.bias", "block2.0.weight", "block2.1.weight",
                    "block2.1.bias", "fc1.weight", "fc1.bias"), trainer.frozenParameters());
            TrainerTest.Recorder recorder = new TrainerTest.Recorder();
            FitResult r = trainer.fit(train, test, recorder);
            assertEquals(40, r.steps());

            Map<String, float[]> after = snapshot(m.module().state());
            for (String name : trainer.frozenParameters()) {
                assertArrayEquals(before.get(name), after.get(name), name + " is frozen and must be bit-identical");
            }
            for (String name : trainer.trainableParameters()) {
                assertFalse(java.util.Arrays.equals(before.get(name), after.get(name)), name + " is the head and must change");
            }
            // PyTorch's semantics: freezing parameters does not stop a training-mode batch norm's statistics
            assertFalse(java.util.Arrays.equals(before.get("block1.1.running_mean"), after.get("block1.1.running_mean")),
                    "running statistics are buffers and update in training mode");

            List<Double> losses = recorder.losses;
            double first = losses.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(losses.size() - 5, losses.size()).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            assertTrue(last < first * 0.8, "the loss falls while only the head trains: first steps " + first + ", last steps " + last);

            assertEquals(List.of("step", "exp_avg/fc2.weight", "exp_avg_sq/fc2.weight", "exp_avg/fc2.bias", "exp_avg_sq/fc2.bias"),
                    List.copyOf(trainer.optimizerState().keySet()), "optimizer state for the head alone");
        }
    }

    @Test
    void theFrozenStepDifferentiatesOnlyTheTrainableParameters() {
        TrainerConfig config = TrainerConfig.defaults().withFreeze(List.of("block1.*"));
        try (Model m = ModelZoo.create(SPEC, 4);
             TrainingStepGraph frozen = TrainingStepGraph.trace(m.module(), m.inputShape(), 8, config);
             TrainingStepGraph full = TrainingStepGraph.trace(m.module(), m.inputShape(), 8, TrainerConfig.defaults())) {
            assertEquals(List.of("block1.0.weight", "block1.1.weight", "block1.1.bias"), frozen.frozenParameters());
            // the first convolution's weight gradient (and its input's) are not in the graph at all
            assertTrue(frozen.graph().toString().length() < full.graph().toString().length(),
                    "freezing the first block removes its backward calls");
        }
    }

    @Test
    void aGlobMatchingNothingOrFreezingEverythingIsAnError() {
        try (Model m = ModelZoo.create(SPEC, 4)) {
            IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                    () -> TrainingStepGraph.trace(m.module(), m.inputShape(), 8, TrainerConfig.defaults().withFreeze(List.of("features.*"))));
            assertTrue(none.getMessage().contains("'features.*' matches no parameter") && none.getMessage().contains("fc2.weight"),
                    none.getMessage());
            IllegalArgumentException all = assertThrows(IllegalArgumentException.class,
                    () -> TrainingStepGraph.trace(m.module(), m.inputShape(), 8, TrainerConfig.defaults().withFreeze(List.of("*"))));
            assertTrue(all.getMessage().contains("freeze every parameter"), all.getMessage());
        }
    }
}
