package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.DatasetLocator;
import dev.frugal.trainer.data.DatasetSpec;
import dev.frugal.trainer.data.DatasetUnavailableException;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import dev.frugal.trainer.optim.Sgd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A short real run: mlp on Fashion-MNIST for 300 steps reaches more than 75% test accuracy. */
class FashionMnistFitTest {

    /** The local Fashion-MNIST directory, or null when none is installed (no download in tests). */
    static Path localData() {
        Path system = Path.of("/usr/share/datasets/fashion-mnist");
        String env = System.getenv(DatasetLocator.ENV);
        try {
            if (env != null || Files.isDirectory(system)) {
                return DatasetLocator.forThisMachine(DatasetSpec.FASHION_MNIST, null).locate(env != null ? Path.of(env) : system);
            }
        } catch (DatasetUnavailableException e) {
            return null;
        }
        return null;
    }

    @Test
    void mlpReachesSeventyFivePercentIn300Steps() throws IOException {
        Path dir = localData();
        assumeTrue(dir != null, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or set FRUGAL_DATA)");
        TrainerConfig config = TrainerConfig.defaults().withEpochs(1).withMaxSteps(300).withOptimizer(new Sgd(0.9, false, 0)).withLearningRate(0.05);
        LoaderOptions norm = LoaderOptions.of(64).withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD);
        try (Model model = ModelZoo.create("mlp", 42);
             DataLoader train = new DataLoader(FashionMnist.train(dir), norm.withSeed(42).withLastBatch(LastBatchPolicy.DROP));
             DataLoader test = new DataLoader(FashionMnist.test(dir), LoaderOptions.of(1000).withShuffle(false)
                     .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD));
             Trainer trainer = new Trainer(model.module(), model.inputShape(), 64, config)) {
            FitResult r = trainer.fit(train, test, null);
            assertEquals(EndReason.STEPS, r.endedBy());
            assertEquals(300, r.steps());
            assertEquals(10_000, r.finalEvaluation().samples());
            assertTrue(r.finalEvaluation().accuracy() > 0.75, "test accuracy " + r.finalEvaluation());
        }
    }
}
