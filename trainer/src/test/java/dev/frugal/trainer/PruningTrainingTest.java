package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.prune.PrunedModel;
import dev.frugal.trainer.prune.Pruner;
import dev.frugal.trainer.prune.Pruning;
import dev.frugal.trainer.prune.PruningMasks;
import dev.frugal.trainer.prune.PruningSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pruning inside real training steps on the synthetic bands of the trainer tests: pruned weights
 * stay exactly zero through momentum, masks ride in the checkpoint so a resumed run continues
 * bit-identically, and the physically smaller model computes what the masked one does.
 */
class PruningTrainingTest {
    private static final String SPEC = "cnn-small:channels1=8,channels2=8,hidden=16";

    @TempDir
    Path dir;

    private static TrainerConfig config(String prune, int steps) {
        return config(SPEC, prune, steps);
    }

    private static TrainerConfig config(String spec, String prune, int steps) {
        return TrainerConfig.defaults().withEpochs(20).withMaxSteps(steps).withLearningRate(0.05)
                .withPruning(Pruning.of(PruningSpec.parse(prune), ModelZoo.parse(spec)));
    }

    @Test
    void structuredMasksHoldEveryStepAndTheSmallerModelAgrees() throws IOException {
        Map<String, int[]> kept = trainStructuredAndCompareTheSmallerModel(SPEC, "cnn-small:channels1=4,channels2=4,hidden=8,width=1", 0.5);
        assertEquals(4, kept.get("channels1").length);
        assertEquals(4, kept.get("channels2").length);
        assertEquals(8, kept.get("hidden").length);
    }

    @Test
    void depthwiseSeparableBlocksArePrunedWithTheirDepthwiseFilters() throws IOException {
        Map<String, int[]> kept = trainStructuredAndCompareTheSmallerModel("mobilenet-tiny:width=2",
                "mobilenet-tiny:width=1,block1=2,block2=2,block3=4,block4=4,block5=8,block6=8", 0.5);
        assertEquals(List.of("width", "block1", "block2", "block3", "block4", "block5", "block6"), List.copyOf(kept.keySet()));
    }

    @Test
    void residualBlocksLoseInnerUnitsOnly() throws IOException {
        // the input layer and the residual stream keep their width, so the FLOPs fall less than half
        Map<String, int[]> kept = trainStructuredAndCompareTheSmallerModel("deep-mlp:depth=2,width=16", "deep-mlp:depth=2,width=16,hidden=8", 1.0);
        assertEquals(List.of("blocks.0.hidden", "blocks.1.hidden"), List.copyOf(kept.keySet()));
    }

    /**
     * Trains {@code spec} with half its channels pruned, checking after every step that masked
     * weights are zero, then removes the channels and checks that the smaller model (and the one
     * read back from disk) classifies the test set as the masked one does, with fewer FLOPs than
     * the full model and at most {@code maxFlopsRatio} of them.
     *
     * @return the kept channels per group
     */
    private Map<String, int[]> trainStructuredAndCompareTheSmallerModel(String spec, String expectedPrunedSpec, double maxFlopsRatio)
            throws IOException {
        try (Model m = ModelZoo.create(spec, 4);
             Trainer trainer = new Trainer(m.module(), m.inputShape(), 32, config(spec, "structured:0.5,start=0,end=50%,every=4", 24));
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            List<String> violations = new ArrayList<>();
            FitResult r = trainer.fit(train, test, new TrainingListener() {
                @Override
                public void onStep(StepMetrics s) {
                    // after every step, every masked element is exactly zero in its parameter
                    checkMasked(trainer, m, violations, s.step());
                }
            });
            assertEquals(24, r.steps());
            assertTrue(violations.isEmpty(), String.join("\n", violations));
            Pruner pruner = trainer.pruner();
            Map<String, int[]> kept = pruner.keptChannels();

            try (Model pruned = PrunedModel.write(m, pruner, dir, 4)) {
                assertEquals(expectedPrunedSpec, pruned.spec().toString());
                assertTrue(pruned.forwardFlops() < m.forwardFlops() && pruned.forwardFlops() <= maxFlopsRatio * m.forwardFlops(),
                        pruned.forwardFlops() + " vs " + m.forwardFlops());
                Evaluation full = evaluate(m, test);
                Evaluation small = evaluate(pruned, test);
                assertEquals(full.accuracy(), small.accuracy(), "the smaller model classifies as the masked one does");
                assertEquals(full.loss(), small.loss(), 1e-5);
                try (Model loaded = PrunedModel.load(dir).orElseThrow()) {
                    assertEquals(pruned.spec(), loaded.spec());
                    pruned.module().state().forEach((name, t) ->
                            assertArrayEquals(t.toFloatArray(), loaded.module().state().get(name).toFloatArray(), name));
                }
            }
            return kept;
        }
    }

    @Test
    void magnitudePruningReachesItsSparsityAndKeepsPrunedWeightsAtZero() throws IOException {
        try (Model m = ModelZoo.create(SPEC, 4);
             Trainer trainer = new Trainer(m.module(), m.inputShape(), 32, config("magnitude:0.75,start=0,end=50%,every=3", 20));
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            List<String> violations = new ArrayList<>();
            trainer.fit(train, test, new TrainingListener() {
                @Override
                public void onStep(StepMetrics s) {
                    checkMasked(trainer, m, violations, s.step());
                }
            });
            assertTrue(violations.isEmpty(), String.join("\n", violations));
            long targets = 0;
            long zeros = 0;
            for (String name : List.of("block1.0.weight", "block2.0.weight", "fc1.weight", "fc2.weight")) {
                float[] w = m.module().state().get(name).toFloatArray();
                targets += w.length;
                for (float x : w) {
                    zeros += x == 0 ? 1 : 0;
                }
            }
            assertEquals((long) Math.floor(0.75 * targets), trainer.pruner().zeroedParameters());
            assertTrue(zeros >= trainer.pruner().zeroedParameters());
            assertEquals(0.75, trainer.pruner().maskedShare(), 1e-3);
            assertEquals(List.of("block1.0.weight", "block2.0.weight", "fc1.weight", "fc2.weight"),
                    trainer.optimizerState().keySet().stream().filter(k -> k.startsWith(PruningMasks.STATE_PREFIX))
                            .map(k -> k.substring(PruningMasks.STATE_PREFIX.length())).toList(), "weights of convolutions and linear layers only");
        }
    }

    @Test
    void aResumedRunRestoresItsMasksAndContinuesBitIdentically() throws IOException {
        // 2 epochs of 8 steps, checkpointed after each; the masks change every 2 steps up to step 13
        TrainerConfig c = config("structured:0.5,start=0,end=80%,every=2", 16).withEpochs(2);
        Path checkpoints = dir.resolve("ck");
        float[] straight;
        try (Model m = ModelZoo.create(SPEC, 4);
             Trainer trainer = new Trainer(m.module(), m.inputShape(), 32, c.withCheckpointDir(checkpoints));
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            trainer.fit(train, test, null);
            straight = m.module().state().get("fc1.weight").toFloatArray();
            assertTrue(trainer.optimizerState().containsKey(PruningMasks.STATE_PREFIX + "block1.0.weight"));
        }
        // as if the process had died after the first epoch's checkpoint
        CheckpointStore store = new CheckpointStore(checkpoints);
        AtomicFiles.deleteRecursively(store.latest().orElseThrow().directory());
        assertEquals(8, store.latest().orElseThrow().step());
        try (Model m = ModelZoo.create(SPEC, 99); // other weights: the checkpoint must overwrite them all
             Trainer trainer = new Trainer(m.module(), m.inputShape(), 32, c.withCheckpointDir(checkpoints));
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            assertTrue(trainer.resume(checkpoints));
            trainer.fit(train, test, null);
            assertArrayEquals(straight, m.module().state().get("fc1.weight").toFloatArray(), "resumed with its masks, bit-identical");
        }
    }

    @Test
    void frozenParametersCannotBePruned() {
        TrainerConfig c = config("structured:0.5", 4).withFreeze(List.of("block1.*"));
        try (Model m = ModelZoo.create(SPEC, 4)) {
            var e = assertThrows(IllegalArgumentException.class, () -> new Trainer(m.module(), m.inputShape(), 32, c).close());
            assertTrue(e.getMessage().contains("block1.0.weight") && e.getMessage().contains("frozen"), e.getMessage());
        }
    }

    @Test
    void aRunWithoutAPrunedModelHasNone() throws IOException {
        assertEquals(Optional.empty(), PrunedModel.load(dir));
    }

    private static Evaluation evaluate(Model m, DataLoader test) throws IOException {
        try (Evaluator e = new Evaluator(m.module(), m.inputShape(), Executor.cpu())) {
            return e.evaluate(test);
        }
    }

    /** Every element a mask zeroes must be zero in its parameter. */
    private static void checkMasked(Trainer trainer, Model m, List<String> violations, long step) {
        trainer.optimizerState().forEach((name, mask) -> {
            if (!name.startsWith(PruningMasks.STATE_PREFIX)) {
                return;
            }
            String param = name.substring(PruningMasks.STATE_PREFIX.length());
            float[] mk = mask.toFloatArray();
            float[] w = m.module().state().get(param).toFloatArray();
            for (int i = 0; i < mk.length; i++) {
                if (mk[i] == 0 && w[i] != 0) {
                    violations.add("step " + step + ": " + param + "[" + i + "] = " + w[i] + " under a zero mask");
                    return;
                }
            }
        });
    }
}
