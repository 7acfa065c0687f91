package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.optim.Sgd;
import dev.frugal.trainer.schedule.LrSchedules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the example of {@code docs/training-api.md}: the code between the markers below must
 * appear verbatim in that page, so the page and a tested program never drift apart.
 */
class TrainingApiExampleTest {

    @Test
    void theDocumentedExampleRunsAndReloadsTheSavedModel(@TempDir Path checkpoints) throws IOException {
        assumeTrue(FashionMnistFitTest.localData() != null,
                "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or set FRUGAL_DATA)");
        double accuracy;
        double reloadedAccuracy;
        // BEGIN example
        try (TrainingSession session = TrainingSession.open("cpu")) {
            Path data = session.fashionMnist(null);
            Model model = session.model("mlp", 42);
            TrainerConfig config = TrainerConfig.defaults()
                    .withEpochs(1)
                    .withMaxSteps(300)
                    .withOptimizer(new Sgd(0.9, false, 0.0))
                    .withSchedule(LrSchedules.parse("warmup-cosine:warmup=30", 0.05, 300)::lr)
                    .withCheckpointDir(checkpoints);
            Trainer trainer = session.trainer(model, 64, config);
            DataLoader train = session.fashionMnistTrain(data, 64, 42);
            DataLoader test = session.fashionMnistTest(data);
            FitResult result = trainer.fit(train, test, null);
            accuracy = result.finalEvaluation().accuracy();

            // The checkpoint written at the end holds the trained weights.
            Model reloaded = session.loadModel("mlp", checkpoints);
            reloadedAccuracy = session.evaluator(reloaded).evaluate(test).accuracy();
        }
        // END example
        assertTrue(accuracy > 0.75, "accuracy " + accuracy);
        assertEquals(accuracy, reloadedAccuracy);
    }

    @Test
    void theDocumentationShowsExactlyTheTestedCode() throws IOException {
        Path doc = Path.of("..", "docs", "training-api.md");
        assumeTrue(Files.exists(doc), "run from the trainer module so ../docs is the repository's docs");
        String source = Files.readString(Path.of("src/test/java/dev/frugal/trainer/TrainingApiExampleTest.java"));
        String body = source.substring(source.indexOf("// BEGIN example\n") + "// BEGIN example\n".length(), source.indexOf("        // END example"));
        String code = body.lines().map(l -> l.length() >= 8 ? l.substring(8) : l.strip()).collect(Collectors.joining("\n"));
        assertTrue(Files.readString(doc).contains(code), "docs/training-api.md must contain the example exactly:\n" + code);
    }

    @Test
    void sessionsAreIndependentAndAutoTakesTheCpuWithoutAGpu() {
        boolean noGpu = dev.frugal.cuda.CudaDiscovery.report().devices().isEmpty();
        try (TrainingSession a = TrainingSession.open("cpu"); TrainingSession b = TrainingSession.open("auto")) {
            Model ma = a.model("mlp", 1);
            Model mb = b.model("mlp", 1);
            assertEquals(ma.parameterCount(), mb.parameterCount());
            a.close();
            assertThrows(IllegalStateException.class, () -> a.model("mlp", 1));
            assertEquals("cpu", a.device());
            if (noGpu) {
                assertEquals("cpu", b.device());
            }
        }
        if (noGpu) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingSession.open("cuda:0"));
            assertTrue(e.getMessage().contains("cannot open the GPU"), e.getMessage());
        }
    }
}
