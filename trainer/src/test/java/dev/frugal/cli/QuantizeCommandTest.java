package dev.frugal.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cli.TrainCommandTest.Result;
import dev.frugal.models.zoo.Model;
import dev.frugal.runtime.Shape;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.data.Batch;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.export.OnnxRuntimeAccess;
import dev.frugal.trainer.quant.QuantizedModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.frugal.cli.TrainCommandTest.frugal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Int8 quantization end to end through the command line: quantization-aware training
 * ({@code frugal train --quantize int8}) with its observers checkpointed and resumed bit for bit,
 * {@code frugal eval} of the int8 model, post-training calibration ({@code frugal quantize}), QDQ
 * ONNX export checked in ONNX Runtime against Frugal on real Fashion-MNIST test images (the same
 * predicted class on at least 99%), and one-line errors for bad input.
 */
class QuantizeCommandTest {
    private static final Path REAL = Path.of("/usr/share/datasets/fashion-mnist");
    /** Real test images compared between Frugal's fake-quantized model and ONNX Runtime's QDQ model. */
    private static final int IMAGES = 2000;

    @TempDir
    static Path data;

    @BeforeAll
    static void writeDataset() throws IOException {
        TrainCommandTest.writeSplit(data, "train", 320, 1);
        TrainCommandTest.writeSplit(data, "t10k", 100, 2);
    }

    private static List<String> trainArgs(Path run, Path dataDir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", "cnn-small", "--batch-size", "64", "--data", dataDir.toString(),
                "--seed", "7", "--no-progress", "--run-dir", run.toString()));
        args.addAll(List.of(extra));
        return args;
    }

    private static Result run(List<String> args) {
        return frugal(args.toArray(String[]::new));
    }

    private static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    @Test
    void quantizationAwareTrainingRecordsEvaluatesAndResumesBitIdentically(@TempDir Path tmp) throws IOException {
        Path whole = tmp.resolve("whole");
        Result r = run(trainArgs(whole, data, "--epochs", "2", "--quantize", "int8"));
        assertEquals(0, r.code(), r.err());
        assertEquals("int8:ops=conv2d+matmul,momentum=0.01", json(whole.resolve("config.json")).get("quantize").asText());
        JsonNode summary = json(whole.resolve("summary.json"));
        JsonNode q = summary.get("quantization");
        assertEquals("quantization-aware training", q.get("method").asText());
        assertEquals(4, q.get("contractions").size(), q.toString());
        assertEquals("block1.0.weight", q.get("contractions").get(0).get("weight").asText());
        for (JsonNode c : q.get("contractions")) {
            assertTrue(c.get("input_min").asDouble() <= c.get("input_max").asDouble(), c.toString());
        }

        // the observers are module buffers: in the checkpoint, and moved by training from their initial +inf/-inf
        CheckpointStore store = new CheckpointStore(whole.resolve(TrainCommand.CHECKPOINTS));
        try (Checkpoint c = store.load(10)) {
            assertTrue(c.model().containsKey("quant.block1_0_weight.min"), c.model().keySet().toString());
            assertTrue(Float.isFinite(c.model().get("quant.fc2_weight.max").toFloatArray()[0]));
        }

        // frugal eval evaluates the fake-quantized model: the run's own final number
        Result e = frugal("eval", whole.toString(), "--data", data.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains(String.format("test accuracy %.4f", summary.get("test_accuracy").asDouble())), e.out());

        // killed after epoch 1: resuming ends with the same bytes (weights, momentum and observers)
        Path crashed = tmp.resolve("crashed");
        assertEquals(0, run(trainArgs(crashed, data, "--epochs", "2", "--quantize", "int8")).code());
        deleteTree(crashed.resolve("checkpoints/checkpoint-10"));
        deleteTree(crashed.resolve("summary.json"));
        Result resumed = frugal("train", "--resume", crashed.toString(), "--no-progress");
        assertEquals(0, resumed.code(), resumed.err());
        for (String file : List.of(CheckpointStore.MODEL_FILE, CheckpointStore.OPTIMIZER_FILE)) {
            assertArrayEquals(Files.readAllBytes(whole.resolve("checkpoints/checkpoint-10").resolve(file)),
                    Files.readAllBytes(crashed.resolve("checkpoints/checkpoint-10").resolve(file)), file);
        }
    }

    @Test
    void qatRunExportsQdqThatOnnxRuntimeAgreesWithOnRealImages(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(REAL), "Fashion-MNIST is not installed at " + REAL + " (apt install dataset-fashion-mnist)");
        Path qat = tmp.resolve("qat");
        Result r = run(trainArgs(qat, REAL, "--steps", "60", "--quantize", "int8"));
        assertEquals(0, r.code(), r.err());
        assertQdqAgreesOnRealImages(qat, "QAT");
    }

    @Test
    void postTrainingCalibrationWritesAQuantizedRunThatEvaluatesAndExports(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(REAL), "Fashion-MNIST is not installed at " + REAL + " (apt install dataset-fashion-mnist)");
        Path fp32 = tmp.resolve("fp32");
        assertEquals(0, run(trainArgs(fp32, REAL, "--steps", "60")).code());
        Result r = frugal("quantize", fp32.toString(), "--calibration-batches", "4");
        assertEquals(0, r.code(), r.err());
        Path ptq = tmp.resolve("fp32" + QuantizeCommand.SUFFIX);
        assertTrue(r.out().contains("wrote " + ptq.toAbsolutePath()), r.out());
        JsonNode summary = json(ptq.resolve("summary.json"));
        assertEquals("post-training calibration (4 batches of 64 training images)", summary.get("quantization").get("method").asText());
        double fp32Accuracy = json(fp32.resolve("summary.json")).get("test_accuracy").asDouble();
        assertEquals(fp32Accuracy, summary.get("fp32_test_accuracy").asDouble(), 1e-12, "the float32 model as its run evaluated it");
        assertTrue(Math.abs(summary.get("test_accuracy").asDouble() - fp32Accuracy) < 0.05, summary.toString());
        Result e = frugal("eval", ptq.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains(String.format("test accuracy %.4f", summary.get("test_accuracy").asDouble())), e.out());
        assertQdqAgreesOnRealImages(ptq, "PTQ");

        Result again = frugal("quantize", ptq.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("is already quantized (int8:ops=conv2d+matmul,momentum=0.01); quantize a float32 run"), again.err());
    }

    /** Exports the run, checks the QDQ operators are there, and compares predicted classes with Frugal's on real test images. */
    private static void assertQdqAgreesOnRealImages(Path runDir, String what) throws Exception {
        Result x = frugal("export", runDir.toString(), "--format", "onnx");
        assertEquals(0, x.code(), x.err());
        byte[] onnx = Files.readAllBytes(runDir.resolve(ExportCommand.DEFAULT_FILE));
        String text = new String(onnx, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("QuantizeLinear") && text.contains("DequantizeLinear"), what + ": QDQ operators in the model");
        assertFalse(text.contains("\u0000fc1.weight\u0012"), what + ": no float32 copy of a quantized weight");
        TrainConfig cfg = ConfigFiles.load(runDir.resolve("config.json"));
        CheckpointStore store = new CheckpointStore(runDir.resolve(TrainCommand.CHECKPOINTS));
        try (Model m = QuantizedModels.create(cfg.model(), cfg.seed(), cfg.quantization());
             Checkpoint c = store.load(store.latest().orElseThrow().step());
             DataLoader test = new DataLoader(FashionMnist.test(REAL), TrainCommand.evaluationOptions());
             DataLoader.Epoch epoch = test.epoch(0)) {
            m.module().loadState(c.model());
            Shape sample = m.inputShape();
            int per = Math.toIntExact(sample.numel());
            int same = 0;
            int seen = 0;
            double worst = 0;
            while (seen < IMAGES && epoch.hasNext()) {
                Batch b = epoch.next();
                int n = Math.min(b.size(), IMAGES - seen);
                float[] images = Arrays.copyOf(b.input().toFloatArray(), n * per);
                float[] frugal = OnnxRuntimeAccess.frugal(m.module(), sample, n, images);
                float[] ort = OnnxRuntimeAccess.onnx(onnx, sample, n, images, m.classes());
                for (int i = 0; i < n; i++) {
                    if (argmax(frugal, i, m.classes()) == argmax(ort, i, m.classes())) {
                        same++;
                    }
                }
                for (int i = 0; i < frugal.length; i++) {
                    worst = Math.max(worst, Math.abs(frugal[i] - ort[i]));
                }
                seen += n;
            }
            assertEquals(IMAGES, seen);
            double agreement = (double) same / seen;
            assertTrue(agreement >= 0.99, what + ": ONNX Runtime predicts Frugal's class on " + agreement + " of " + seen
                    + " real test images (max |logit difference| " + worst + ")");
        }
    }

    private static int argmax(float[] logits, int row, int classes) {
        int best = 0;
        for (int k = 1; k < classes; k++) {
            if (logits[row * classes + k] > logits[row * classes + best]) {
                best = k;
            }
        }
        return best;
    }

    @Test
    void badQuantizationInputGetsOneClearLine(@TempDir Path tmp) {
        Result scheme = run(trainArgs(tmp.resolve("a"), data, "--quantize", "int4"));
        assertEquals(2, scheme.code());
        assertTrue(scheme.err().contains("quantize: unknown scheme 'int4'; expected int8[:ops=conv2d+matmul,momentum=0.01]"), scheme.err());

        Result op = run(trainArgs(tmp.resolve("b"), data, "--quantize", "int8:ops=attention"));
        assertEquals(2, op.code());
        assertTrue(op.err().contains("quantize: ops: 'attention' is not supported; quantization covers conv2d and matmul"), op.err());

        Result precision = run(trainArgs(tmp.resolve("c"), data, "--quantize", "int8", "--precision", "bf16"));
        assertEquals(2, precision.code());
        assertTrue(precision.err().contains("quantize: int8 quantization-aware training runs in float32"), precision.err());
        assertTrue(precision.err().contains("drop --precision bf16 or --quantize"), precision.err());

        Result lm = frugal("train", "--model", "tiny-gpt", "--dataset", "text", "--data", writeText(tmp).toString(), "--quantize", "int8",
                "--steps", "1", "--no-progress", "--run-dir", tmp.resolve("d").toString());
        assertEquals(2, lm.code());
        assertTrue(lm.err().contains("quantize: TinyGpt holds variables of its own at its root"), lm.err());

        Result notARun = frugal("quantize", tmp.toString());
        assertEquals(2, notARun.code());
        assertTrue(notARun.err().contains("has no config.json; expected a run directory of frugal train"), notARun.err());
    }

    private static void deleteTree(Path p) throws IOException {
        assertTrue(Files.exists(p), "expected " + p + " to exist");
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    private static Path writeText(Path tmp) {
        try {
            Path f = tmp.resolve("text.txt");
            Files.writeString(f, "the quick brown fox jumps over the lazy dog. ".repeat(200));
            return f;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
