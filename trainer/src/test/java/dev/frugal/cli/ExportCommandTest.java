package dev.frugal.cli;

import static dev.frugal.cli.TrainCommandTest.frugal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cli.TrainCommandTest.Result;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.Batch;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.export.OnnxRuntimeAccess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code frugal export} end to end: a short training run of every image zoo model on a small
 * synthetic IDX data set, exported to ONNX and run in ONNX Runtime at batches 1 and 7 (and on 100
 * real Fashion-MNIST test images where the Debian package is installed) against Frugal's eval-mode
 * logits from the same checkpoint; and one-line errors for bad input.
 */
class ExportCommandTest {
    private static final Path REAL = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    static Path data;

    @BeforeAll
    static void writeDataset() throws IOException {
        TrainCommandTest.writeSplit(data, "train", 128, 1);
        TrainCommandTest.writeSplit(data, "t10k", 64, 2);
    }

    private static Path train(Path run, String model) {
        Result r = frugal("train", "--model", model, "--batch-size", "64", "--epochs", "1", "--data", data.toString(), "--seed", "5",
                "--no-progress", "--run-dir", run.toString());
        assertEquals(0, r.code(), r.err());
        return run;
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "cnn-small", "mobilenet-tiny", "deep-mlp:depth=2"})
    void exportedRunsMatchFrugalInOnnxRuntime(String spec, @TempDir Path tmp) throws Exception {
        Path run = train(tmp.resolve("run"), spec);
        Result r = frugal("export", run.toString(), "--format", "onnx");
        assertEquals(0, r.code(), r.err());
        Path file = run.resolve(ExportCommand.DEFAULT_FILE);
        assertTrue(r.out().contains("wrote " + file), r.out());
        byte[] onnx = Files.readAllBytes(file);
        CheckpointStore store = new CheckpointStore(run.resolve(TrainCommand.CHECKPOINTS));
        try (Model m = ModelZoo.create(spec, 5);
             Checkpoint c = store.load(store.latest().orElseThrow().step())) {
            m.module().loadState(c.model());
            for (int n : new int[] {1, 7}) {
                float[] x = OnnxRuntimeAccess.randomBatch(n, m.inputShape(), 200 + n);
                OnnxRuntimeAccess.assertSameLogits(spec, m.module(), onnx, m.inputShape(), n, x, m.classes());
            }
            if (Files.isDirectory(REAL)) {
                try (DataLoader test = new DataLoader(FashionMnist.test(REAL), TrainCommand.evaluationOptions());
                     DataLoader.Epoch epoch = test.epoch(0)) {
                    Batch b = epoch.next();
                    float[] all = b.input().toFloatArray();
                    float[] hundred = java.util.Arrays.copyOf(all, 100 * 28 * 28);
                    OnnxRuntimeAccess.assertSameLogits(spec + " on real Fashion-MNIST", m.module(), onnx, m.inputShape(), 100, hundred, m.classes());
                }
            }
        }
    }

    @Test
    void theOutputOptionChoosesTheFile(@TempDir Path tmp) {
        Path run = train(tmp.resolve("run"), "mlp");
        Path target = tmp.resolve("elsewhere.onnx");
        Result r = frugal("export", run.toString(), "--output", target.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(target));
        assertFalse(Files.exists(run.resolve(ExportCommand.DEFAULT_FILE)));
    }

    @Test
    void badInputGetsOneClearLine(@TempDir Path tmp) throws IOException {
        Result notARun = frugal("export", tmp.toString());
        assertEquals(2, notARun.code());
        assertTrue(notARun.err().contains("has no config.json; expected a run directory of frugal train"), notARun.err());

        Path run = train(tmp.resolve("run"), "mlp");
        Result format = frugal("export", run.toString(), "--format", "tflite");
        assertEquals(2, format.code());
        assertTrue(format.err().contains("unknown --format 'tflite'; expected onnx"), format.err());
        assertFalse(Files.exists(run.resolve(ExportCommand.DEFAULT_FILE)), "nothing written");
    }
}
