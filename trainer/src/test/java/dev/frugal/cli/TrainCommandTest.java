package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code frugal train} and {@code frugal eval} end to end on a small synthetic data set written
 * as raw IDX files (640 training and 200 test images, so an epoch of batch 64 is 10 steps): the
 * run directory's files, resuming after a crash with identical metrics, and one-line errors.
 */
class TrainCommandTest {
    @TempDir
    static Path data;

    /** Output, error text and exit code of one command. */
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
        writeSplit("train", 640, 1);
        writeSplit("t10k", 200, 2);
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

    private static String[] trainArgs(Path runDir, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--model", "mlp", "--batch-size", "64", "--optimizer", "adamw",
                "--schedule", "warmup-cosine:warmup=5", "--data", data.toString(), "--seed", "3", "--no-progress", "--run-dir", runDir.toString()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    private static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    @Test
    void trainWritesTheRunDirectoryAndEvalReadsIt(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--epochs", "2"));
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "no progress bar and no noise when output is not a terminal");
        assertTrue(r.out().contains("device: cpu (auto:"), r.out());
        assertTrue(r.out().contains("run directory: " + run.toAbsolutePath()), r.out());
        for (String f : List.of("config.json", "env.json", "metrics.jsonl", "summary.json")) {
            assertTrue(Files.isRegularFile(run.resolve(f)), f);
        }
        JsonNode summary = json(run.resolve("summary.json"));
        for (String key : List.of("model", "parameters", "epochs", "steps", "test_accuracy", "test_loss", "train_seconds",
                "samples_per_second", "peak_host_bytes", "peak_device_bytes", "device", "ended_by")) {
            assertTrue(summary.has(key), "summary.json lacks " + key + ": " + summary);
        }
        assertEquals("mlp", summary.get("model").asText());
        assertEquals(20, summary.get("steps").asLong());
        assertEquals(2, summary.get("epochs").asInt());
        assertEquals("epochs", summary.get("ended_by").asText());
        assertEquals("cpu", summary.get("device").asText());
        assertTrue(summary.get("test_accuracy").asDouble() > 0.5, summary.toString());
        assertEquals("adamw", json(run.resolve("config.json")).get("optimizer").asText());
        List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(2, metrics.stream().filter(l -> l.contains("\"type\":\"eval\"")).count(), metrics.toString());
        assertTrue(metrics.getFirst().contains("\"step\":1"), metrics.getFirst());

        Result e = frugal("eval", run.toString(), "--data", data.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains(String.format("test accuracy %.4f", summary.get("test_accuracy").asDouble())), e.out());
    }

    @Test
    void resumeAfterACrashEndsWithTheSameMetricsAsAnUninterruptedRun(@TempDir Path tmp) throws IOException {
        Path whole = tmp.resolve("whole");
        assertEquals(0, frugal(trainArgs(whole, "--epochs", "3")).code());
        Path crashed = tmp.resolve("crashed");
        assertEquals(0, frugal(trainArgs(crashed, "--epochs", "3")).code());
        // Make it look killed during epoch 2: only the first epoch's checkpoint and no summary.
        for (String gone : List.of("checkpoints/checkpoint-30", "checkpoints/checkpoint-20", "summary.json")) {
            deleteTree(crashed.resolve(gone));
        }
        Result r = frugal("train", "--resume", crashed.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("resuming " + crashed.toAbsolutePath() + " at step 10"), r.out());
        JsonNode a = json(whole.resolve("summary.json"));
        JsonNode b = json(crashed.resolve("summary.json"));
        assertEquals(30, b.get("steps").asLong());
        assertEquals(a.get("test_accuracy").asDouble(), b.get("test_accuracy").asDouble());
        assertEquals(a.get("test_loss").asDouble(), b.get("test_loss").asDouble());
    }

    @Test
    void aNonFiniteLossExitsWithThreeNamingStepLearningRateAndCheckpoint(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("nan");
        Result r = frugal(trainArgs(run, "--epochs", "2", "--lr", "1e30"));
        assertEquals(3, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("non-finite loss at step"), r.err());
        assertTrue(r.err().contains("learning rate"), r.err());
        assertTrue(r.err().contains("last good checkpoint"), r.err());
        assertEquals("non-finite-loss", json(run.resolve("summary.json")).get("ended_by").asText());
    }

    @Test
    void aConfigFileSetsOptionsAndFlagsOverrideIt(@TempDir Path tmp) throws IOException {
        Path yaml = tmp.resolve("train.yaml");
        Files.writeString(yaml, "epochs: 3\nsteps: 8\nlr: 0.002\nclip-norm: 1.5\n");
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--config", yaml.toString(), "--epochs", "1"));
        assertEquals(0, r.code(), r.err());
        JsonNode cfg = json(run.resolve("config.json"));
        assertEquals(1, cfg.get("epochs").asInt(), "the flag wins over the file");
        assertEquals(8, cfg.get("steps").asInt());
        assertEquals(0.002, cfg.get("lr").asDouble());
        assertEquals(1.5, cfg.get("clip-norm").asDouble());
        assertEquals(8, json(run.resolve("summary.json")).get("steps").asInt());
    }

    @Test
    void resumeRefusesOtherOptions(@TempDir Path tmp) {
        Result r = frugal("train", "--resume", tmp.toString(), "--epochs", "5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("config.json"), r.err());
    }

    @Test
    void unsupportedPrecisionAndDeviceAreOneLineErrors(@TempDir Path tmp) {
        Result p = frugal(trainArgs(tmp.resolve("p"), "--precision", "bf16"));
        assertEquals(2, p.code());
        assertTrue(p.err().contains("use fp32"), p.err());
        assertEquals(1, p.err().strip().lines().count(), p.err());
        Result d = frugal(trainArgs(tmp.resolve("d"), "--device", "cuda:0"));
        assertEquals(2, d.code());
        assertTrue(d.err().contains("CUDA backend does not exist yet"), d.err());
        assertFalse(d.err().contains("\tat "), d.err());
        Result v = frugal(trainArgs(tmp.resolve("v"), "--device", "cuda", "--verbose"));
        assertEquals(2, v.code());
        assertTrue(v.err().contains("\tat "), "--verbose shows the stack trace: " + v.err());
    }

    @Test
    void unknownModelListsTheValidOnes(@TempDir Path tmp) {
        Result r = frugal("train", "--model", "resnet-9000", "--data", data.toString(), "--run-dir", tmp.resolve("m").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("cnn-small") && r.err().contains("mlp"), r.err());
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            throw new IOException("expected " + p + " to exist");
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
