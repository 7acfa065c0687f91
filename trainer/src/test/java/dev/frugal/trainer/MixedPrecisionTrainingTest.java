package dev.frugal.trainer;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.amp.LossScaler;
import dev.frugal.trainer.amp.LossScaling;
import dev.frugal.trainer.amp.MixedPrecision;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.optim.Sgd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training in FP16 and BF16 through the {@link Trainer}: the same accuracy as float32 on the
 * synthetic bands, the loss scale logged per step, and the scaler's state checkpointed so that a
 * resumed FP16 run continues bit-identically.
 */
class MixedPrecisionTrainingTest {

    private static TrainerConfig config(MixedPrecision amp) {
        return TrainerConfig.defaults().withEpochs(3).withOptimizer(new Sgd(0.9, false, 1e-4)).withLearningRate(0.05)
                .withMixedPrecision(amp);
    }

    @Test
    void halfPrecisionTrainsCnnSmallToTheAccuracyOfFloat32() throws IOException {
        Map<Precision, Double> accuracy = new HashMap<>();
        for (Precision p : List.of(Precision.FP32, Precision.FP16, Precision.BF16)) {
            List<Double> scales = new ArrayList<>();
            try (Model model = ModelZoo.create("cnn-small:channels1=8,channels2=16,hidden=32", 4);
                 DataLoader train = TrainerTest.trainLoader(4);
                 DataLoader test = TrainerTest.testLoader();
                 Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, config(MixedPrecision.of(p)))) {
                FitResult r = trainer.fit(train, test, new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        scales.add(m.lossScale());
                    }
                });
                assertEquals(EndReason.EPOCHS, r.endedBy());
                accuracy.put(p, r.finalEvaluation().accuracy());
                if (p == Precision.FP16) {
                    assertEquals(24, scales.size());
                    // GradScaler's start: 2^16 may overflow a step or two before it settles
                    long skipped = trainer.skippedSteps();
                    assertTrue(skipped <= 3, "skipped " + skipped + ": " + scales);
                    assertEquals(65536.0 / (1 << skipped), scales.getLast(), "each skip halved the scale: " + scales);
                } else {
                    assertTrue(scales.stream().allMatch(s -> Double.isNaN(s)), p + " scales no loss");
                }
            }
        }
        assertTrue(accuracy.get(Precision.FP32) > 0.9, "float32 learns the bands: " + accuracy);
        for (Precision p : List.of(Precision.FP16, Precision.BF16)) {
            assertEquals(accuracy.get(Precision.FP32), accuracy.get(p), 0.03, p + " accuracy " + accuracy);
        }
    }

    @Test
    void aResumedFp16RunRestoresTheLossScaleAndContinuesBitIdentically(@TempDir Path dir) throws IOException {
        // a growth interval of 5 steps makes the scale change within the run, so the checkpoint must carry it
        MixedPrecision amp = new MixedPrecision(Precision.FP16, new LossScaling(1024, 2, 0.5, 5));
        TrainerConfig base = config(amp).withOptimizer(AdamW.defaults()).withLearningRate(1e-3);
        TrainerTest.Recorder whole = new TrainerTest.Recorder();
        double wholeScale;
        try (Model model = ModelZoo.create("mlp", 5);
             DataLoader train = TrainerTest.trainLoader(5);
             DataLoader test = TrainerTest.testLoader();
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, base.withCheckpointDir(dir.resolve("whole")))) {
            trainer.fit(train, test, whole);
            wholeScale = trainer.lossScale();
        }
        assertEquals(1024.0 * 16, wholeScale, "24 clean steps grow the scale 4 times");

        Path cut = dir.resolve("cut");
        TrainerTest.Recorder first = new TrainerTest.Recorder();
        try (Model model = ModelZoo.create("mlp", 5);
             DataLoader train = TrainerTest.trainLoader(5);
             DataLoader test = TrainerTest.testLoader();
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, base.withMaxSteps(12).withCheckpointDir(cut))) {
            trainer.fit(train, test, first);
            assertEquals(1024.0 * 4, trainer.lossScale());
        }
        try (var saved = new CheckpointStore(cut).loadLatest().orElseThrow()) {
            assertEquals(1024.0 * 4, saved.optimizer().get(LossScaler.SCALE).getFlat(0), "the checkpoint holds the scale");
        }
        TrainerTest.Recorder second = new TrainerTest.Recorder();
        try (Model model = ModelZoo.create("mlp", 99);
             DataLoader train = TrainerTest.trainLoader(5);
             DataLoader test = TrainerTest.testLoader();
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, base.withCheckpointDir(cut))) {
            assertTrue(trainer.resume(cut));
            assertEquals(1024.0 * 4, trainer.lossScale(), "the scale comes back from the checkpoint");
            trainer.fit(train, test, second);
            assertEquals(wholeScale, trainer.lossScale());
        }
        List<Long> joined = new ArrayList<>(first.lossBits);
        joined.addAll(second.lossBits);
        assertEquals(whole.lossBits, joined, "losses of the resumed fp16 run");
    }
}
