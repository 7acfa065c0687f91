package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.data.Curriculum;
import dev.frugal.trainer.data.CurriculumScores;
import dev.frugal.trainer.data.CurriculumSpec;
import dev.frugal.trainer.data.CurriculumWarmup;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.run.MetricsLog;
import dev.frugal.trainer.schedule.ConstantSchedule;
import dev.frugal.trainer.schedule.EvaluationHistory;
import dev.frugal.trainer.schedule.Listeners;
import dev.frugal.trainer.schedule.ReduceLrOnPlateau;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ReduceLROnPlateau and the curriculum plugged into the unchanged trainer as the command line
 * wires them: the plateau as the schedule plus a listener next to early stopping, the curriculum
 * in the training loader with a warm-up scored by per-sample loss; both survive a resume exactly.
 */
class PlateauAndCurriculumTrainingTest {
    /** Every step's rate and loss, as raw bits. */
    static final class Steps implements TrainingListener {
        final List<Long> lrBits = new ArrayList<>();
        final List<Long> lossBits = new ArrayList<>();
        final List<Double> lrs = new ArrayList<>();

        @Override
        public void onStep(StepMetrics m) {
            lrBits.add(Double.doubleToRawLongBits(m.learningRate()));
            lossBits.add(Double.doubleToRawLongBits(m.loss()));
            lrs.add(m.learningRate());
        }
    }

    /** Writes the eval records of metrics.jsonl as the command line's progress listener does. */
    static TrainingListener evalLog(MetricsLog log) {
        return new TrainingListener() {
            @Override
            public void onEvaluation(EvaluationMetrics em) {
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("type", "eval");
                rec.put("epoch", em.epoch() + 1);
                rec.put("step", em.step());
                for (String name : EvaluationMetrics.NAMES) {
                    double v = em.metric(name);
                    rec.put(name, Double.isFinite(v) ? v : null);
                }
                log.append(rec);
            }
        };
    }

    /** Never improves by 1 in accuracy: every evaluation after the first is a plateau. */
    private static final String ALWAYS_PLATEAU = "plateau:metric=test_accuracy,factor=0.5,patience=0,threshold=1,threshold-mode=abs";

    @Test
    void plateauAndEarlyStoppingBothWatchTheEvaluations() throws IOException {
        ReduceLrOnPlateau plateau = new ReduceLrOnPlateau(new ConstantSchedule(0.01), ReduceLrOnPlateau.Settings.parse(ALWAYS_PLATEAU));
        // a min delta of 1 is never met either: early stopping ends the run after the third evaluation
        TrainerConfig config = TrainerConfig.defaults().withEpochs(6).withSchedule(plateau::lr).withEarlyStopping("test_accuracy", 2, 1.0);
        Steps steps = new Steps();
        List<EvaluationMetrics> evaluations = new ArrayList<>();
        TrainingListener evals = new TrainingListener() {
            @Override
            public void onEvaluation(EvaluationMetrics m) {
                evaluations.add(m);
            }
        };
        FitResult r;
        try (Model model = ModelZoo.create("mlp", 1);
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader();
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, config)) {
            r = trainer.fit(train, test, Listeners.all(steps, evals, plateau));
        }
        assertEquals(EndReason.EARLY_STOPPING, r.endedBy());
        assertEquals(3, r.epochs());
        assertEquals(3, plateau.evaluations());
        assertEquals(2, plateau.reductions());
        assertEquals(0.25, plateau.scale(), 1e-15);
        assertEquals(24, steps.lrs.size());
        for (int i = 0; i < 24; i++) {
            double expected = i < 16 ? 0.01 : 0.005;
            assertEquals(expected, steps.lrs.get(i), 1e-15, "step " + (i + 1));
        }
        assertEquals(evaluations.getFirst().test().accuracy(), plateau.best());
    }

    @Test
    void aResumedRunRebuildsThePlateauFromMetricsJsonl(@TempDir Path dir) throws IOException {
        // only a loss 100 below the best counts, so every evaluation after the first is a plateau: reductions at
        // evaluations 2 and 4, each followed by a cooldown of one (the synthetic set is learnt too fast for a subtler plateau)
        String spec = "plateau:metric=test_loss,factor=0.5,patience=0,threshold=100,threshold-mode=abs,cooldown=1";
        TrainerConfig base = TrainerConfig.defaults().withEpochs(5).withOptimizer(AdamW.defaults());
        // uninterrupted
        ReduceLrOnPlateau wholePlateau = new ReduceLrOnPlateau(new ConstantSchedule(2e-3), ReduceLrOnPlateau.Settings.parse(spec));
        Steps whole = new Steps();
        try (Model model = ModelZoo.create("mlp", 4);
             DataLoader train = TrainerTest.trainLoader(4);
             DataLoader test = TrainerTest.testLoader();
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32,
                 base.withSchedule(wholePlateau::lr).withCheckpointDir(dir.resolve("whole")))) {
            trainer.fit(train, test, Listeners.all(whole, wholePlateau));
        }
        assertEquals(2, wholePlateau.reductions(), "the test needs reductions before and after the cut");

        // cut at the end of epoch 2, in the cooldown after the first reduction, then resumed with a fresh plateau rebuilt from metrics.jsonl
        Path cut = dir.resolve("cut");
        Files.createDirectories(cut);
        Path metrics = cut.resolve("metrics.jsonl");
        ReduceLrOnPlateau firstPlateau = new ReduceLrOnPlateau(new ConstantSchedule(2e-3), ReduceLrOnPlateau.Settings.parse(spec));
        Steps first = new Steps();
        try (Model model = ModelZoo.create("mlp", 4);
             DataLoader train = TrainerTest.trainLoader(4);
             DataLoader test = TrainerTest.testLoader();
             MetricsLog log = new MetricsLog(metrics);
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32,
                 base.withMaxSteps(16).withSchedule(firstPlateau::lr).withCheckpointDir(cut))) {
            trainer.fit(train, test, Listeners.all(first, evalLog(log), firstPlateau));
        }
        ReduceLrOnPlateau resumedPlateau = new ReduceLrOnPlateau(new ConstantSchedule(2e-3), ReduceLrOnPlateau.Settings.parse(spec));
        Steps second = new Steps();
        try (Model model = ModelZoo.create("mlp", 77);
             DataLoader train = TrainerTest.trainLoader(4);
             DataLoader test = TrainerTest.testLoader();
             MetricsLog log = new MetricsLog(metrics);
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32,
                 base.withSchedule(resumedPlateau::lr).withCheckpointDir(cut))) {
            assertTrue(trainer.resume(cut));
            assertEquals(16, trainer.step());
            List<EvaluationHistory.Entry> history = EvaluationHistory.read(metrics, resumedPlateau.settings().metric(), trainer.step());
            assertEquals(2, history.size());
            resumedPlateau.replay(history);
            assertEquals(1, resumedPlateau.reductions());
            assertEquals(1, resumedPlateau.cooldownLeft());
            trainer.fit(train, test, Listeners.all(second, evalLog(log), resumedPlateau));
        }
        List<Long> joined = new ArrayList<>(first.lrBits);
        joined.addAll(second.lrBits);
        assertEquals(whole.lrBits, joined, "rates of the resumed run");
        List<Long> losses = new ArrayList<>(first.lossBits);
        losses.addAll(second.lossBits);
        assertEquals(whole.lossBits, losses, "losses of the resumed run");
        assertEquals(wholePlateau.reductions(), resumedPlateau.reductions());
        assertEquals(wholePlateau.scale(), resumedPlateau.scale());
    }

    /** One curriculum run: the training loader follows {@code spec}, scored after the warm-up by per-sample loss. */
    private static Steps curriculumRun(String spec, TrainerConfig config, Path keep, boolean resume) throws IOException {
        CurriculumSpec cs = CurriculumSpec.parse(spec);
        Curriculum curriculum = cs.newCurriculum();
        Steps steps = new Steps();
        try (Model model = ModelZoo.create("mlp", resume ? 99 : 6);
             DataLoader train = new DataLoader(TrainerTest.synthetic(256, 1),
                 LoaderOptions.of(32).withSeed(6).withLastBatch(LastBatchPolicy.DROP), curriculum);
             DataLoader scoring = new DataLoader(TrainerTest.synthetic(256, 1), LoaderOptions.of(64).withShuffle(false));
             DataLoader test = TrainerTest.testLoader();
             PerSampleLoss perSample = new PerSampleLoss(model.module(), model.inputShape(), Executor.cpu());
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, config)) {
            if (resume) {
                assertTrue(trainer.resume(config.checkpointDir()));
            }
            CurriculumWarmup warmup = new CurriculumWarmup(curriculum, () -> perSample.losses(scoring), keep, train.dataset().count());
            warmup.prepare(trainer.step());
            curriculum.checkReadyAt(trainer.step());
            trainer.fit(train, test, Listeners.all(steps, warmup));
        }
        return steps;
    }

    @Test
    void aCurriculumAfterAWarmUpTrainsDeterministicallyAndResumesExactly(@TempDir Path dir) throws IOException {
        String spec = "curriculum:warmup=4,pacing=linear,start=0.25,steps=12";
        TrainerConfig base = TrainerConfig.defaults().withEpochs(3).withLearningRate(0.01);
        Path keep = dir.resolve("whole-scores.txt");
        Steps whole = curriculumRun(spec, base.withCheckpointDir(dir.resolve("whole")), keep, false);
        assertEquals(24, whole.lossBits.size());
        double[] kept = CurriculumScores.read(keep, 256);
        // the scores are per-sample losses after the warm-up: positive, and not all alike
        assertTrue(java.util.Arrays.stream(kept).allMatch(v -> v > 0));
        assertNotEquals(java.util.Arrays.stream(kept).min().orElseThrow(), java.util.Arrays.stream(kept).max().orElseThrow());

        Steps again = curriculumRun(spec, base.withCheckpointDir(dir.resolve("again")), dir.resolve("again-scores.txt"), false);
        assertEquals(whole.lossBits, again.lossBits, "the same seed gives the same run");
        assertArrayEquals(kept, CurriculumScores.read(dir.resolve("again-scores.txt"), 256));

        // the warm-up's steps are those of a run without a curriculum
        Steps plain = new Steps();
        try (Model model = ModelZoo.create("mlp", 6);
             DataLoader train = new DataLoader(TrainerTest.synthetic(256, 1), LoaderOptions.of(32).withSeed(6).withLastBatch(LastBatchPolicy.DROP));
             DataLoader test = TrainerTest.testLoader();
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 32, base)) {
            trainer.fit(train, test, plain);
        }
        assertEquals(plain.lossBits.subList(0, 4), whole.lossBits.subList(0, 4));
        assertNotEquals(plain.lossBits.subList(4, 16), whole.lossBits.subList(4, 16), "the curriculum changes the batches");

        // cut after step 10 (mid-curriculum, mid-epoch), resumed from the kept scores
        Path cut = dir.resolve("cut");
        Path cutKeep = dir.resolve("cut-scores.txt");
        Steps first = curriculumRun(spec, base.withMaxSteps(10).withCheckpointDir(cut), cutKeep, false);
        assertEquals(10, first.lossBits.size());
        Steps second = curriculumRun(spec, base.withCheckpointDir(cut), cutKeep, true);
        List<Long> joined = new ArrayList<>(first.lossBits);
        joined.addAll(second.lossBits);
        assertEquals(whole.lossBits, joined, "losses of the resumed run");
    }
}
