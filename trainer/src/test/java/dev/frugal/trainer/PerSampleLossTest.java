package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Per-sample cross-entropy: by hand, and its mean against the evaluator's mean loss. */
class PerSampleLossTest {
    @Test
    void eachRowIsMinusTheLogSoftmaxOfItsLabelAndTheMeanIsTheBatchLoss() {
        float[] logits = {1f, 2f, 0.5f, -1f, 3f, 0f, 0f, 0f, 10f, -2f, 1f, 1f};
        int[] labels = {1, 0, 2};
        Graph g = new Graph("per-sample");
        Value x = g.input("logits", Shape.of(3, 4), DType.F32);
        Value y = g.input("labels", Shape.of(3), DType.I32);
        Value perSample = Functional.crossEntropyPerSample(x, y);
        assertEquals(Shape.of(3), perSample.shape());
        Value mean = Functional.crossEntropy(x, y);
        try (Program p = Executor.cpu().compile(g, List.of(perSample, mean))) {
            List<Tensor> out = p.run(Map.of(x, Tensor.of(logits, 3, 4), y, Tensor.ofInts(labels, 3)));
            double sum = 0;
            for (int i = 0; i < 3; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < 4; c++) {
                    max = Math.max(max, logits[4 * i + c]);
                }
                double z = 0;
                for (int c = 0; c < 4; c++) {
                    z += Math.exp(logits[4 * i + c] - max);
                }
                double expected = -(logits[4 * i + labels[i]] - max - Math.log(z));
                assertEquals(expected, out.get(0).getFlat(i), 1e-5, "row " + i);
                sum += out.get(0).getFlat(i);
            }
            assertEquals(out.get(1).getFlat(0), sum / 3, 1e-6, "the mean of the per-sample losses is the batch loss");
        }
    }

    @Test
    void rejectsMisshapenInputs() {
        Graph g = new Graph("bad");
        Value x = g.input("logits", Shape.of(3, 4), DType.F32);
        assertThrows(IllegalArgumentException.class, () -> Functional.crossEntropyPerSample(x, g.input("labels", Shape.of(2), DType.I32)));
        assertThrows(IllegalArgumentException.class,
            () -> Functional.crossEntropyPerSample(g.input("flat", Shape.of(12), DType.F32), g.input("l", Shape.of(12), DType.I32)));
    }

    @Test
    void overALoaderTheMeanIsTheEvaluatorsLossAndSamplesKeepTheirIndex() throws IOException {
        try (Model model = ModelZoo.create("mlp", 3);
             PerSampleLoss scorer = new PerSampleLoss(model.module(), model.inputShape(), Executor.cpu());
             Evaluator evaluator = new Evaluator(model.module(), model.inputShape(), Executor.cpu());
             DataLoader inOrder = new DataLoader(TrainerTest.synthetic(100, 2), LoaderOptions.of(40).withShuffle(false));
             DataLoader shuffled = new DataLoader(TrainerTest.synthetic(100, 2), LoaderOptions.of(32).withSeed(9));
             DataLoader oneBatch = new DataLoader(TrainerTest.synthetic(100, 2), LoaderOptions.of(100).withShuffle(false))) {
            boolean training = model.module().isTraining();
            double[] losses = scorer.losses(inOrder);
            assertEquals(training, model.module().isTraining(), "the module's mode is put back");
            assertEquals(100, losses.length);
            double sum = 0;
            for (double l : losses) {
                assertTrue(l > 0 && Double.isFinite(l), "a cross-entropy is positive: " + l);
                sum += l;
            }
            Evaluation ev = evaluator.evaluate(inOrder);
            assertEquals(ev.loss(), sum / 100, 1e-5 * ev.loss(), "mean over batches of 40, 40 and 20");
            assertEquals(evaluator.evaluate(oneBatch).loss(), sum / 100, 1e-5 * ev.loss(), "mean of one batch of 100");
            double[] byIndex = scorer.losses(shuffled);
            for (int i = 0; i < 100; i++) {
                assertEquals(losses[i], byIndex[i], 1e-5 * losses[i], "sample " + i + " in another batch and row");
            }
        }
    }

    @Test
    void aLoaderThatSkipsSamplesIsRefused() throws IOException {
        try (Model model = ModelZoo.create("mlp", 3);
             PerSampleLoss scorer = new PerSampleLoss(model.module(), model.inputShape(), Executor.cpu());
             DataLoader dropping = new DataLoader(TrainerTest.synthetic(100, 2),
                 LoaderOptions.of(40).withShuffle(false).withLastBatch(LastBatchPolicy.DROP))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> scorer.losses(dropping));
            assertTrue(e.getMessage().contains("visited 80 of 100 samples (sample 80 missing)"), e.getMessage());
        }
    }
}
