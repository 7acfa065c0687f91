package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.Batch;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.export.OnnxRuntimeAccess;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

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

    record Result(int code, String out, String err) {
    }

    static Result frugal(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void writeDataset() throws IOException {
        writeSplit("train", 128, 1);
        writeSplit("t10k", 64, 2);
    }

    /** Images whose class shows as a bright band at a class-dependent row, plus noise. */
    private static void writeSplit(String prefix, int count, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (OutputStream fi = Files.newOutputStream(data.resolve(prefix + "-images-idx3-ubyte"));
             OutputStream fl = Files.newOutputStream(data.resolve(prefix + "-labels-idx1-ubyte"));
             DataOutputStream images = new DataOutputStream(fi);
             DataOutputStream labels = new DataOutputStream(fl)) {
            images.writeInt(0x803);
            images.writeInt(count);
            images.writeInt(28);
            images.writeInt(28);
            labels.writeInt(0x801);
            labels.writeInt(count);
            for (int i = 0; i < count; i++) {
                int label = rnd.nextInt(10);
                labels.writeByte(label);
                for (int p = 0; p < 28 * 28; p++) {
                    int row = p / 28;
                    images.writeByte(Math.min(255, rnd.nextInt(60) + (Math.abs(row - (2 + 2 * label)) <= 1 ? 180 : 0)));
                }
            }
        }
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
