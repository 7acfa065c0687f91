package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.layers.Embedding;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.ReLU;
import dev.frugal.models.layers.Sequential;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.amp.MixedPrecision;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.text.ByteTokenizer;
import dev.frugal.trainer.text.NextTokenSampler;
import dev.frugal.trainer.text.TextCorpus;
import dev.frugal.trainer.text.TextGenerator;
import dev.frugal.trainer.text.TokenWindows;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's loop on a language model ({@link NextTokenPrediction} over {@link TokenWindows}),
 * without the zoo: a per-position model (embedding, then an MLP; causal, since no position sees
 * another) learns a repeating text. The same loop as image classification: the loss falls to
 * near zero, validation reports val_loss only, a resumed run repeats an uninterrupted one bit for
 * bit, early stopping watches val_loss, mixed precision trains, and the memory planner plans
 * exactly the step the trainer compiles.
 */
class LanguageModelTrainingTest {
    private static final int VOCAB = 256;
    private static final int CONTEXT = 16;
    private static final int BATCH = 8;
    /** A period-7 pattern: each character determines the next, so a per-position model can learn it. */
    private static final String PATTERN = "abcdefg";

    /** Token ids [batch, context] to logits [batch, context, vocab], each position on its own. */
    static final class PerPositionLm extends Module {
        private final Embedding embed;
        private final Sequential mlp;

        PerPositionLm(int vocab, int width, int depth) {
            embed = addModule("embed", new Embedding(vocab, width));
            List<Module> layers = new ArrayList<>();
            for (int i = 0; i < depth; i++) {
                layers.add(new Linear(width, width));
                layers.add(new ReLU());
            }
            layers.add(new Linear(width, vocab));
            mlp = addModule("mlp", new Sequential(layers));
        }

        @Override
        public Value forward(ModuleTrace trace, Value tokens) {
            return mlp.forward(trace, embed.forward(trace, tokens));
        }
    }

    private static TextCorpus corpus() {
        int[] tokens = new ByteTokenizer().encode(PATTERN.repeat(300));
        return TextCorpus.split(Path.of("pattern.txt"), new ByteTokenizer(), tokens, 0.1, CONTEXT);
    }

    private static TrainerConfig config() {
        return TrainerConfig.defaults().withEpochs(3).withOptimizer(AdamW.defaults()).withLearningRate(1e-2).withClipNorm(1.0);
    }

    /** Every step's loss and every evaluation's step and val_loss, as raw bits. */
    static final class Recorder implements TrainingListener {
        final List<Long> steps = new ArrayList<>();
        final List<String> valLosses = new ArrayList<>();
        final List<EvaluationMetrics> evaluations = new ArrayList<>();

        @Override
        public void onStep(StepMetrics m) {
            steps.add(Double.doubleToRawLongBits(m.loss()));
        }

        @Override
        public void onEvaluation(EvaluationMetrics m) {
            evaluations.add(m);
            valLosses.add(m.step() + ":" + Double.doubleToRawLongBits(m.metric(EvaluationMetrics.VAL_LOSS)));
        }
    }

    private static FitResult fit(TrainerConfig config, long seed, Path resumeFrom, Recorder recorder) throws IOException {
        TextCorpus corpus = corpus();
        try (PerPositionLm model = new PerPositionLm(VOCAB, 32, 1);
             TokenWindows train = TokenWindows.random(corpus.training(), CONTEXT, BATCH, seed);
             TokenWindows val = TokenWindows.heldOut(corpus.validation(), CONTEXT, 4);
             Trainer trainer = new Trainer(model.initialize(seed), new NextTokenPrediction(CONTEXT), BATCH, config)) {
            if (resumeFrom != null) {
                assertTrue(trainer.resume(resumeFrom));
            }
            return trainer.fit(train, val, recorder);
        }
    }

    @Test
    void theLossFallsFromLnVocabAndEvaluationsCarryValLossOnly() throws IOException {
        TextCorpus corpus = corpus();
        NextTokenPrediction task = new NextTokenPrediction(CONTEXT);
        try (PerPositionLm model = new PerPositionLm(VOCAB, 32, 1);
             TokenWindows train = TokenWindows.random(corpus.training(), CONTEXT, BATCH, 3);
             TokenWindows val = TokenWindows.heldOut(corpus.validation(), CONTEXT, 4);
             Trainer trainer = new Trainer(model.initialize(3), task, BATCH, config())) {
            Evaluation before = trainer.evaluate(val);
            assertFalse(before.hasAccuracy(), "a language model has no accuracy");
            assertEquals(Math.log(VOCAB), before.loss(), 1.5, "about ln(vocab) nats per token at the start");
            assertEquals((corpus.validation().length - 1) / CONTEXT, before.samples(), "every held-out window");
            Recorder r = new Recorder();
            FitResult result = trainer.fit(train, val, r);
            assertEquals(EndReason.EPOCHS, result.endedBy());
            assertEquals(3 * train.batchesPerEpoch(), result.steps(), "an epoch is training tokens / (batch * context) steps");
            assertEquals(List.of(EvaluationMetrics.VAL_LOSS, EvaluationMetrics.TRAIN_LOSS), r.evaluations.getFirst().names());
            assertThrows(IllegalArgumentException.class, () -> r.evaluations.getFirst().metric(EvaluationMetrics.TEST_ACCURACY));
            assertTrue(result.finalEvaluation().loss() < 0.1, "the pattern is deterministic: " + result.finalEvaluation());
        }
    }

    @Test
    void aResumedRunRepeatsAnUninterruptedOneBitForBit(@TempDir Path dir) throws IOException {
        Recorder whole = new Recorder();
        fit(config().withCheckpointDir(dir.resolve("whole")), 5, null, whole);
        Path cut = dir.resolve("cut");
        Recorder first = new Recorder();
        // 1890 training tokens / (8 * 16) = 14 steps an epoch: step 20 is in the middle of the second
        FitResult stopped = fit(config().withMaxSteps(20).withCheckpointDir(cut), 5, null, first);
        assertEquals(EndReason.STEPS, stopped.endedBy());
        assertEquals(20, first.steps.size());
        Recorder second = new Recorder();
        FitResult resumed = fit(config().withCheckpointDir(cut), 5, cut, second);
        assertEquals(42, resumed.steps());
        List<Long> joined = new ArrayList<>(first.steps);
        joined.addAll(second.steps);
        assertEquals(whole.steps, joined, "the same windows and the same updates, step for step");
        assertEquals(whole.valLosses.subList(1, 3), second.valLosses, "the evaluations at steps 28 and 42");
    }

    @Test
    void earlyStoppingWatchesValLossAndAClassifiersMetricIsRefused() throws IOException {
        TrainerConfig watching = config().withEpochs(40).withEarlyStopping(EvaluationMetrics.VAL_LOSS, 1, 0.5, EvaluationMetrics.LANGUAGE_MODEL_NAMES);
        Recorder r = new Recorder();
        FitResult result = fit(watching, 2, null, r);
        assertEquals(EndReason.EARLY_STOPPING, result.endedBy(), "val_loss stops improving by 0.5 nats long before 40 epochs");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> fit(config().withEarlyStopping(EvaluationMetrics.TEST_ACCURACY, 2, 0), 2, null, null));
        assertEquals("early stopping: unknown metric 'test_accuracy'; every evaluation carries: val_loss, train_loss", e.getMessage());
    }

    @Test
    void mixedPrecisionTrainsTheLanguageModelToo() throws IOException {
        for (Precision p : List.of(Precision.FP16, Precision.BF16)) {
            FitResult r = fit(config().withMixedPrecision(MixedPrecision.of(p)), 4, null, null);
            assertTrue(r.finalEvaluation().loss() < 0.5, p + ": " + r.finalEvaluation());
        }
    }

    @Test
    void theMemoryPlannerPlansExactlyTheLanguageModelStepTheTrainerCompiles() throws IOException {
        TextCorpus corpus = corpus();
        NextTokenPrediction task = new NextTokenPrediction(CONTEXT);
        TrainerConfig step = TrainerConfig.defaults().withOptimizer(AdamW.defaults()).withMaxSteps(1);
        try (PerPositionLm model = new PerPositionLm(VOCAB, 64, 6);
             TokenWindows val = TokenWindows.heldOut(corpus.validation(), CONTEXT, 4)) {
            model.initialize(1);
            List<Integer> evalSizes = val.batchSizes();
            MemoryBudgetPlanner roomy = new MemoryBudgetPlanner(model, task, step, -1, evalSizes);
            MemoryPlan unplanned = roomy.plan(32);
            long budget = (long) ((unplanned.predictedPeakBytes() + roomy.evaluationBytes()) * 0.9);
            MemoryPlan planned = new MemoryBudgetPlanner(model, task, step, budget, evalSizes).plan(32);
            assertTrue(planned.fits(), planned.explain());
            assertTrue(planned.checkpointed(), "90% of the unplanned peak needs recomputation:\n" + planned.explain());
            try (CachingAllocator memory = new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults());
                 Trainer trainer = new Trainer(model, task, 32, step.withMemoryBudget(budget, evalSizes), new Executor(new CpuBackend(memory)))) {
                assertEquals(planned, trainer.memoryPlan(), "the planner plans exactly the step the trainer compiles");
            }
        }
    }

    @Test
    void greedySamplingContinuesTheLearnedPattern() throws IOException {
        TextCorpus corpus = corpus();
        try (PerPositionLm model = new PerPositionLm(VOCAB, 32, 1);
             TokenWindows train = TokenWindows.random(corpus.training(), CONTEXT, BATCH, 3);
             TokenWindows val = TokenWindows.heldOut(corpus.validation(), CONTEXT, 4);
             Trainer trainer = new Trainer(model.initialize(3), new NextTokenPrediction(CONTEXT), BATCH, config())) {
            trainer.fit(train, val, null);
            try (TextGenerator generator = new TextGenerator(model, CONTEXT, Executor.cpu())) {
                ByteTokenizer bytes = new ByteTokenizer();
                // longer than the context: the window slides over the last 16 tokens
                int[] out = generator.generate(bytes.encode("cd"), 40, new NextTokenSampler(0, 0, 1));
                assertEquals(PATTERN.repeat(7).substring(4, 44), bytes.decode(out));
                assertEquals(VOCAB, generator.vocabSize());
            }
        }
    }

    @Test
    void anImageClassifiersEvaluationStillCarriesTestMetrics() {
        EvaluationMetrics m = new EvaluationMetrics(0, 1, new Evaluation(0.5, 0.9, 10), 0.7);
        assertEquals(EvaluationMetrics.NAMES, m.names());
        assertEquals(0.9, m.metric(EvaluationMetrics.TEST_ACCURACY));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.metric(EvaluationMetrics.VAL_LOSS));
        assertEquals("unknown metric 'val_loss'; every evaluation carries: test_loss, test_accuracy, train_loss", e.getMessage());
    }
}
