package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code frugal train} and {@code frugal eval} end to end on a small synthetic data set written
 * as raw IDX files (640 training and 200 test images, so an epoch of batch 64 is 10 steps): the
 * run directory's files, model recipes under the config file and flags, augmentation, checkpoint
 * retention, resuming after a crash with identical metrics and the whole run's time, and
 * one-line errors.
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
        writeSplit(data, "train", 640, 1);
        writeSplit(data, "t10k", 200, 2);
    }

    /** An IDX split in {@code dir}: images whose class shows as a bright band at a class-dependent row, plus noise. */
    static void writeSplit(Path dir, String prefix, int count, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        try (OutputStream fi = Files.newOutputStream(dir.resolve(prefix + "-images-idx3-ubyte"));
             OutputStream fl = Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte"));
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
                "samples_per_second", "step_seconds", "step_samples_per_second", "peak_host_bytes", "peak_device_bytes", "device", "ended_by")) {
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
    void badLossScalingAndUnsupportedDeviceAreOneLineErrors(@TempDir Path tmp) {
        Result p = frugal(trainArgs(tmp.resolve("p"), "--precision", "bf16", "--loss-scale", "dynamic:growth=0.5"));
        assertEquals(2, p.code());
        assertTrue(p.err().contains("loss-scale growth factor 0.5"), p.err());
        assertEquals(1, p.err().strip().lines().count(), p.err());
        Result f = frugal(trainArgs(tmp.resolve("f"), "--loss-scale", "dynamic"));
        assertEquals(2, f.code());
        assertTrue(f.err().contains("this run is fp32"), f.err());
        if (!dev.frugal.cuda.CudaDiscovery.report().devices().isEmpty()) {
            return; // with a GPU, --device cuda trains
        }
        Result d = frugal(trainArgs(tmp.resolve("d"), "--device", "cuda:0"));
        assertEquals(2, d.code());
        assertTrue(d.err().contains("--device cuda:0: cannot open the GPU"), d.err());
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

    /** A run that leaves the model's recipe in charge: only the model, the data and the run's plumbing. */
    private static String[] recipeArgs(Path runDir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", "mlp", "--data", data.toString(), "--seed", "3",
                "--no-progress", "--run-dir", runDir.toString()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /** metrics.jsonl without the measured fields (time, energy, memory, FLOP/s), which differ between any two runs. */
    private static List<JsonNode> metricsWithoutTiming(Path run) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            ObjectNode rec = (ObjectNode) new ObjectMapper().readTree(line);
            rec.remove(List.of("samples_per_second", "wall_seconds", "device_seconds", "energy_joules", "host_bytes", "peak_host_bytes",
                    "flops_per_second", "flops_utilisation"));
            out.add(rec);
        }
        return out;
    }

    @Test
    void theModelsRecipeFillsConfigJsonAndTheScheduleSeesTheRealStepCount(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("recipe");
        Result r = frugal(recipeArgs(run));
        assertEquals(0, r.code(), r.err());
        JsonNode cfg = json(run.resolve("config.json"));
        assertEquals(2, cfg.get("epochs").asInt());
        assertEquals(16, cfg.get("batch-size").asInt());
        assertEquals("adamw", cfg.get("optimizer").asText());
        assertEquals(0.001, cfg.get("lr").asDouble());
        assertEquals("warmup-cosine:warmup=2.67%", cfg.get("schedule").asText());
        assertEquals(0.0, cfg.get("weight-decay").asDouble(), "the recipe's, resolved");
        assertEquals("none", cfg.get("augment").asText());
        assertEquals(3, cfg.get("keep-checkpoints").asInt());
        assertEquals(TrainConfig.keys().size(), cfg.size(), "every key, fully resolved: " + cfg);
        // 640 samples in batches of 16: 40 steps an epoch, 80 in all, so the recipe's warmup of
        // 2.67% is 2 steps and the cosine ends at step 80 (the recipe's 200 of 7,500 on the full set)
        JsonNode summary = json(run.resolve("summary.json"));
        assertEquals(80, summary.get("steps").asLong());
        List<JsonNode> metrics = metricsWithoutTiming(run);
        JsonNode lastStep = metrics.stream().filter(m -> m.get("type").asText().equals("step")).reduce((a, b) -> b).orElseThrow();
        assertEquals(80, lastStep.get("step").asLong());
        assertEquals(new dev.frugal.trainer.schedule.WarmupCosineSchedule(0.001, 2, 80).lr(79), lastStep.get("lr").asDouble(), 1e-15);
    }

    @Test
    void theConfigFileAndFlagsBeatTheRecipe(@TempDir Path tmp) throws IOException {
        Path yaml = tmp.resolve("train.yaml");
        Files.writeString(yaml, "epochs: 1\nschedule: constant\n");
        Path run = tmp.resolve("run");
        Result r = frugal(recipeArgs(run, "--config", yaml.toString(), "--schedule", "step:every=2", "--lr", "0.01", "--steps", "3"));
        assertEquals(0, r.code(), r.err());
        JsonNode cfg = json(run.resolve("config.json"));
        assertEquals(1, cfg.get("epochs").asInt(), "the file beats the recipe's 2");
        assertEquals("step:every=2", cfg.get("schedule").asText(), "the flag beats the file and the recipe");
        assertEquals(0.01, cfg.get("lr").asDouble(), "an explicit --lr with the recipe's optimizer");
        assertEquals("adamw", cfg.get("optimizer").asText());
        assertEquals(0.0, cfg.get("weight-decay").asDouble());
        assertEquals(16, cfg.get("batch-size").asInt(), "the recipe where nobody says otherwise");
        assertEquals(3, json(run.resolve("summary.json")).get("steps").asInt());
    }

    @Test
    void sameSeedAndAugmentationGiveIdenticalMetricsAndAugmentationChangesTraining(@TempDir Path tmp) throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path plain = tmp.resolve("plain");
        assertEquals(0, frugal(trainArgs(a, "--epochs", "1", "--steps", "6", "--augment", "flip,crop=2")).code());
        assertEquals(0, frugal(trainArgs(b, "--epochs", "1", "--steps", "6", "--augment", "crop=2,flip")).code());
        assertEquals(0, frugal(trainArgs(plain, "--epochs", "1", "--steps", "6")).code());
        assertEquals("crop=2,flip", json(a.resolve("config.json")).get("augment").asText());
        List<JsonNode> ma = metricsWithoutTiming(a);
        assertEquals(ma, metricsWithoutTiming(b), "bit-identical losses and metrics");
        JsonNode eval = ma.getLast();
        assertEquals("eval", eval.get("type").asText());
        assertTrue(eval.has("train_loss") && eval.get("train_loss").isDouble(), eval.toString());
        List<JsonNode> mp = metricsWithoutTiming(plain);
        // the same weights and samples, but cropped and flipped: the very first batch's loss differs
        assertEquals(1, ma.getFirst().get("step").asInt());
        assertFalse(ma.getFirst().get("loss").equals(mp.getFirst().get("loss")), ma.getFirst() + " vs " + mp.getFirst());
    }

    @Test
    void augmentationReachesTheTrainingLoaderOnly() {
        TrainConfig cfg = TrainConfig.defaults().withOverrides(Map.of("augment", "crop=3,flip", "batch-size", 32, "seed", 9));
        LoaderOptions train = TrainCommand.trainingOptions(cfg);
        assertEquals(3, train.cropPadding());
        assertTrue(train.horizontalFlip());
        assertEquals(32, train.batchSize());
        assertEquals(9, train.seed());
        assertEquals(LastBatchPolicy.DROP, train.lastBatch());
        LoaderOptions eval = TrainCommand.evaluationOptions();
        assertEquals(0, eval.cropPadding());
        assertFalse(eval.horizontalFlip());
        assertFalse(eval.shuffle());
        assertEquals(0, TrainCommand.trainingOptions(TrainConfig.defaults()).cropPadding());
    }

    @Test
    void plannedStepsAreBatchesPerEpochTimesEpochsCappedByTheStepLimit() {
        assertEquals(1404, TrainCommand.plannedSteps(60_000 / 128, 3, 0));
        assertEquals(25, TrainCommand.plannedSteps(10, 3, 25));
        assertEquals(30, TrainCommand.plannedSteps(10, 3, 100));
    }

    @Test
    void badAugmentationAndEarlyStoppingMetricAreOneLineErrors(@TempDir Path tmp) {
        Result spin = frugal(trainArgs(tmp.resolve("s"), "--augment", "spin"));
        assertEquals(2, spin.code());
        assertTrue(spin.err().contains("'spin' is not crop=P or flip") && spin.err().contains("valid: none, or a comma list of crop=P"),
                spin.err());
        assertEquals(1, spin.err().strip().lines().count(), spin.err());
        Result big = frugal(trainArgs(tmp.resolve("b"), "--augment", "crop=15"));
        assertEquals(2, big.code());
        assertTrue(big.err().contains("crop=15 is too large for 28x28 images; P must be from 1 to 14"), big.err());
        Result metric = frugal(trainArgs(tmp.resolve("m"), "--early-stopping-metric", "val_loss", "--early-stopping-patience", "2"));
        assertEquals(2, metric.code());
        assertTrue(metric.err().contains("unknown metric 'val_loss'; every evaluation carries: test_loss, test_accuracy, train_loss"),
                metric.err());
        Result keep = frugal(trainArgs(tmp.resolve("k"), "--keep-checkpoints", "0"));
        assertEquals(2, keep.code());
        assertTrue(keep.err().contains("keep-checkpoints must be at least 1"), keep.err());
    }

    @Test
    void keepCheckpointsKeepsTheNewestAndAResumedRunReportsTheWholeRunsTime(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("keep");
        assertEquals(0, frugal(trainArgs(run, "--epochs", "3", "--keep-checkpoints", "2")).code());
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            assertEquals(List.of("checkpoint-20", "checkpoint-30"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        JsonNode whole = json(run.resolve("summary.json"));
        // killed during epoch 3: the newest checkpoint is gone, and so is the summary
        deleteTree(run.resolve("checkpoints/checkpoint-30"));
        deleteTree(run.resolve("summary.json"));
        JsonNode saved = json(run.resolve("checkpoints/checkpoint-20/training_state.json")).get("metadata");
        double before = Double.parseDouble(saved.get("train_seconds").asText());
        assertEquals(20 * 64, Long.parseLong(saved.get("train_samples").asText()));

        Result r = frugal("train", "--resume", run.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("at step 20"), r.out());
        JsonNode resumed = json(run.resolve("summary.json"));
        assertEquals(30, resumed.get("steps").asLong());
        assertEquals(whole.get("test_accuracy").asDouble(), resumed.get("test_accuracy").asDouble());
        assertEquals(whole.get("test_loss").asDouble(), resumed.get("test_loss").asDouble());
        double seconds = resumed.get("train_seconds").asDouble();
        assertTrue(seconds > before, seconds + " s in all, " + before + " s before the resume");
        assertEquals(30 * 64, resumed.get("samples_per_second").asDouble() * seconds, 1e-6, "every sample of the run");
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            assertEquals(List.of("checkpoint-20", "checkpoint-30"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
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

    /** The plan of mlp with the AdamW of {@link #trainArgs}, with the synthetic test set's one evaluation batch of 200. */
    private static dev.frugal.trainer.MemoryBudgetPlanner mlpPlanner(dev.frugal.models.zoo.Model m, long budget) {
        TrainConfig cfg = TrainConfig.layered(Map.of(), Map.of("model", "mlp", "optimizer", "adamw")).resolved();
        return new dev.frugal.trainer.MemoryBudgetPlanner(m.module(), m.inputShape(), TrainCommand.stepConfig(cfg), budget, List.of(TrainCommand.BUDGETED_EVAL_BATCH));
    }

    @Test
    void mixedPrecisionRunsLogTheLossScaleAndCheckpointIt(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("fp16");
        Result r = frugal(trainArgs(run, "--steps", "12", "--precision", "fp16", "--loss-scale", "dynamic:init=1024,interval=5"));
        assertEquals(0, r.code(), r.err());
        JsonNode s = json(run.resolve("summary.json"));
        assertEquals("fp16", s.get("precision").asText());
        long skipped = s.get("skipped_steps").asLong();
        // 12 steps from 1024 with growth every 5 clean steps and backoff on each skipped one
        assertTrue(s.get("loss_scale").asDouble() >= 1024.0 / (1 << skipped), s.toString());
        assertEquals("dynamic:init=1024,interval=5", json(run.resolve("config.json")).get("loss-scale").asText());
        List<JsonNode> steps = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.get("type").asText().equals("step")) {
                steps.add(n);
            }
        }
        assertTrue(!steps.isEmpty() && steps.stream().allMatch(n -> n.get("loss_scale").asDouble() > 0 && n.has("skipped_steps")), steps.toString());
        assertTrue(Files.isRegularFile(run.resolve("report.html")));
        // frugal eval evaluates in the run's precision, so it agrees with the run's own evaluation
        Result e = frugal("eval", run.toString(), "--data", data.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains(String.format(java.util.Locale.ROOT, "test accuracy %.4f, test loss %.4f",
                s.get("test_accuracy").asDouble(), s.get("test_loss").asDouble())), e.out() + " vs " + s);

        Path bf = tmp.resolve("bf16");
        Result br = frugal(trainArgs(bf, "--steps", "8", "--precision", "bf16"));
        assertEquals(0, br.code(), br.err());
        JsonNode b = json(bf.resolve("summary.json"));
        assertEquals("bf16", b.get("precision").asText());
        assertTrue(b.get("loss_scale").isNull(), "bf16 scales no loss by default: " + b);
        assertEquals(0, b.get("skipped_steps").asLong());
    }

    @Test
    void everyRunAccountsForTimeEnergyMemoryAndFlops(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--steps", "12"));
        assertEquals(0, r.code(), r.err());
        JsonNode s = json(run.resolve("summary.json"));
        for (String key : List.of("wall_seconds", "device_seconds", "energy_joules", "peak_device_bytes", "peak_host_bytes", "flops_per_second")) {
            assertTrue(s.get(key).asDouble() > 0, key + " in " + s);
        }
        assertTrue(s.get("energy_source").asText().equals("rapl") || s.get("energy_source").asText().startsWith("estimate (TDP 65 W"), s.toString());
        assertTrue(s.get("flops_utilisation").isNull() || s.get("flops_utilisation").asDouble() > 0, s.toString());
        assertTrue(s.get("budgets").get("time_seconds").isNull() && s.get("guardrails").isEmpty(), s.toString());
        assertTrue(s.get("best_test_accuracy").asDouble() >= s.get("test_accuracy").asDouble(), s.toString());
        List<JsonNode> records = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            records.add(new ObjectMapper().readTree(line));
        }
        JsonNode step = records.stream().filter(n -> n.get("type").asText().equals("step")).reduce((a, b) -> b).orElseThrow();
        for (String key : List.of("wall_seconds", "device_seconds", "energy_joules", "samples", "peak_device_bytes", "flops_per_second")) {
            assertTrue(step.has(key), key + " in " + step);
        }
        assertEquals(12 * 64, step.get("samples").asLong());
        assertTrue(records.stream().anyMatch(n -> n.get("type").asText().equals("epoch") && n.has("energy_joules")), "per-epoch records");
    }

    @Test
    void aStepBudgetEndsTheRunAsBudgetSteps(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--budget-steps", "7"));
        assertEquals(0, r.code(), r.err());
        JsonNode s = json(run.resolve("summary.json"));
        assertEquals("budget-steps", s.get("ended_by").asText());
        assertEquals(7, s.get("steps").asLong());
        assertEquals(1.0, s.get("budget_use").get("steps").asDouble());
        assertEquals("stop", s.get("guardrails").get(0).get("action").asText());
        assertTrue(s.get("last_checkpoint").asText().endsWith("checkpoint-7"), "ends with a checkpoint: " + s);
        assertTrue(Files.readString(run.resolve("metrics.jsonl")).contains("\"type\":\"guardrail\""));
        // a resumed run whose budget is spent says so instead of training
        Result again = frugal("train", "--resume", run.toString(), "--no-progress");
        assertEquals(2, again.code(), again.out() + again.err());
        assertTrue(again.err().contains("budget-steps 7 is already spent"), again.err());
    }

    @Test
    void aBudgetEndingAtAnEpochsEndUsesThatEpochsEvaluationAndCheckpoint(@TempDir Path tmp) throws IOException {
        // 640 images in batches of 64: step 10 ends epoch 1, whose evaluation and checkpoint are the final ones
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--epochs", "5", "--budget-steps", "10"));
        assertEquals(0, r.code(), r.err());
        JsonNode s = json(run.resolve("summary.json"));
        assertEquals("budget-steps", s.get("ended_by").asText());
        assertEquals(10, s.get("steps").asLong());
        assertEquals(1, s.get("epochs").asInt());
        long evals = Files.readAllLines(run.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"type\":\"eval\"")).count();
        assertEquals(1, evals, "one evaluation, not a second at the same step");
    }

    @Test
    void aTimeBudgetEndsWithinItsTimeAndOneStep(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        long start = System.nanoTime();
        // far more epochs than 4 seconds allow on any machine
        Result r = frugal(trainArgs(run, "--epochs", "1000", "--budget-time", "4s", "--eval-every", "1"));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(0, r.code(), r.err());
        JsonNode s = json(run.resolve("summary.json"));
        assertEquals("budget-time", s.get("ended_by").asText(), s.toString());
        double wall = s.get("wall_seconds").asDouble();
        double step = s.get("step_seconds").asDouble() / s.get("steps").asDouble();
        assertTrue(wall <= 4 + 3 * step + 0.5, "wall " + wall + " s for a 4 s budget (steps of " + step + " s)");
        assertTrue(seconds < 10, "the command took " + seconds + " s");
        assertTrue(s.get("last_checkpoint").isTextual() && s.get("test_accuracy").isNumber(), "a final checkpoint and evaluation: " + s);
        assertTrue(s.get("budget_use").get("time").asDouble() <= 1.1, s.toString());
    }

    @Test
    void theShrinkBatchGuardrailTrainsAtTheLargestBatchTheMemoryBudgetAllows(@TempDir Path tmp) throws IOException {
        long budget;
        int fits;
        try (dev.frugal.models.zoo.Model m = dev.frugal.models.zoo.ModelZoo.create("mlp", 3)) {
            dev.frugal.trainer.MemoryBudgetPlanner roomy = mlpPlanner(m, -1);
            budget = roomy.plan(16).predictedPeakBytes() + roomy.evaluationBytes();
            fits = mlpPlanner(m, budget).maxBatchSize();
        }
        assertTrue(fits >= 16 && fits < 64, "fits " + fits);
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--steps", "6", "--lr", "0.064", "--memory-budget", Long.toString(budget)));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("guardrail shrink-batch (budget-memory)") && r.out().contains("batch size " + fits), r.out());
        JsonNode cfg = json(run.resolve("config.json"));
        assertEquals(fits, cfg.get("batch-size").asInt());
        assertEquals(0.064 * fits / 64, cfg.get("lr").asDouble(), 1e-12, "the learning rate scaled with the batch");
        // without the guardrail the run is refused, naming the batch that would fit
        Result strict = frugal(trainArgs(tmp.resolve("strict"), "--steps", "6", "--memory-budget", Long.toString(budget), "--guardrails", "stop"));
        assertEquals(2, strict.code());
        assertTrue(strict.err().contains("the largest batch that fits this budget is " + fits), strict.err());
    }

    @Test
    void plateauAndCurriculumFromTheCommandLine(@TempDir Path tmp) throws IOException {
        // mode=max on test_loss: a falling loss is "no improvement", so with patience 0 the rate halves after the second evaluation
        Path run = tmp.resolve("plateau");
        Result r = frugal("train", "--model", "mlp", "--batch-size", "64", "--optimizer", "sgd", "--schedule", "constant", "--lr", "0.01",
                "--epochs", "3", "--data", data.toString(), "--seed", "3", "--no-progress", "--run-dir", run.toString(),
                "--plateau", "plateau:metric=test_loss,mode=max,factor=0.5,patience=0");
        assertEquals(0, r.code(), r.err());
        List<JsonNode> steps = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.get("type").asText().equals("step")) {
                steps.add(n);
            }
        }
        assertEquals(0.01, steps.getFirst().get("lr").asDouble(), 1e-15);
        assertTrue(steps.getLast().get("lr").asDouble() < 0.01, "the plateau lowered the rate: " + steps.getLast());
        assertEquals("plateau:metric=test_loss,mode=max,factor=0.5,patience=0", json(run.resolve("config.json")).get("plateau").asText());

        Path cur = tmp.resolve("curriculum");
        Result c = frugal(trainArgs(cur, "--steps", "12", "--curriculum", "curriculum:warmup=3,steps=6,pacing=linear,start=0.25"));
        assertEquals(0, c.code(), c.err());
        assertEquals(640, Files.readAllLines(cur.resolve("curriculum-scores.txt")).size(), "one score per training image, kept for a resume");
        assertEquals(12, json(cur.resolve("summary.json")).get("steps").asLong());

        Result badPlateau = frugal(trainArgs(tmp.resolve("bp"), "--plateau", "plateau:factor=2"));
        assertEquals(2, badPlateau.code());
        assertTrue(badPlateau.err().contains("factor"), badPlateau.err());
        Result badCurriculum = frugal(trainArgs(tmp.resolve("bc"), "--curriculum", "curriculum:steps=5"));
        assertEquals(2, badCurriculum.code());
        assertTrue(badCurriculum.err().contains("curriculum"), badCurriculum.err());
    }

    @Test
    void malformedBudgetsAreRefusedWithTheirOption(@TempDir Path tmp) {
        Result time = frugal(trainArgs(tmp.resolve("a"), "--budget-time", "10 parsecs"));
        assertEquals(2, time.code());
        assertTrue(time.err().contains("budget-time") && time.err().contains("'10 parsecs'"), time.err());
        Result energy = frugal(trainArgs(tmp.resolve("b"), "--budget-energy", "lots"));
        assertEquals(2, energy.code());
        assertTrue(energy.err().contains("budget-energy") && energy.err().contains("kJ"), energy.err());
        Result guard = frugal(trainArgs(tmp.resolve("c"), "--guardrails", "stop,pray"));
        assertEquals(2, guard.code());
        assertTrue(guard.err().contains("'pray'"), guard.err());
        Result both = frugal(trainArgs(tmp.resolve("d"), "--budget-memory", "1GiB", "--memory-budget", "2GiB"));
        assertEquals(2, both.code());
        assertTrue(both.err().contains("disagree"), both.err());
    }

    @Test
    void anOutOfMemoryWhileCompilingHalvesTheBatchAndScalesTheLearningRate(@TempDir Path tmp) throws IOException {
        // Something else took the memory: building a trainer above batch 16 runs out (a real OOM
        // of a memory manager over a 1 KiB source).
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        TrainCommand train = cli.getSubcommands().get("train").getCommand();
        List<Integer> tried = new java.util.ArrayList<>();
        train.trainers = (model, shape, batch, config, gpu) -> {
            tried.add(batch);
            if (batch > 16) {
                try (var tiny = new dev.frugal.memory.CachingAllocator(new dev.frugal.memory.HostRawAllocator(1024),
                        dev.frugal.memory.AllocatorConfig.defaults())) {
                    tiny.allocate(1 << 20, "activations"); // throws FrugalOutOfMemoryException
                }
            }
            return new dev.frugal.trainer.Trainer(model, shape, batch, config);
        };
        Path run = tmp.resolve("run");
        String[] args = trainArgs(run, "--steps", "6", "--lr", "0.08");
        int code = cli.execute(args);
        assertEquals(0, code, out + "\n" + err);
        assertEquals(List.of(64, 32, 16), tried);
        assertTrue(out.toString().contains("retrying at batch size 32") && out.toString().contains("retrying at batch size 16"), out.toString());
        JsonNode config = json(run.resolve("config.json"));
        assertEquals(16, config.get("batch-size").asInt(), "config.json records the batch that trained");
        assertEquals(0.02, config.get("lr").asDouble(), 1e-12, "the learning rate scaled by 16/64");
        assertEquals(6, json(run.resolve("summary.json")).get("steps").asLong(), "training continued");
    }

    @Test
    void aMemoryBudgetTooSmallFailsBeforeTheFirstStep(@TempDir Path tmp) throws IOException {
        long budget;
        try (dev.frugal.models.zoo.Model m = dev.frugal.models.zoo.ModelZoo.create("mlp", 3)) {
            // above the parameters and optimizer state, far below a step of 64
            budget = mlpPlanner(m, -1).plan(64).boundBytes() + 4096;
        }
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--steps", "6", "--memory-budget", Long.toString(budget)));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("frugal train: memory budget "), r.err());
        assertTrue(r.err().contains("the evaluation programs (batches of [100])") && r.err().contains("predicted peak")
                && r.err().contains("parameters"), "the plan explains: " + r.err());
        assertTrue(r.err().contains("the largest batch that fits this budget is ") || r.err().contains("not even a batch of 1 fits"), r.err());
        assertFalse(Files.exists(run.resolve("summary.json")));
        assertFalse(Files.exists(run.resolve(TrainCommand.CHECKPOINTS)) && hasFiles(run.resolve(TrainCommand.CHECKPOINTS)), "no checkpoint");
        assertFalse(Files.exists(run.resolve("metrics.jsonl")) && Files.size(run.resolve("metrics.jsonl")) > 0, "no step ran");
    }

    /** The arguments with {@code --batch-size auto} instead of 64. */
    private static String[] autoBatch(String[] args) {
        int i = List.of(args).indexOf("--batch-size");
        args[i + 1] = "auto";
        return args;
    }

    private static boolean hasFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        }
    }

    @Test
    void aFittingMemoryBudgetTrainsAndRecordsThePlan(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--steps", "6", "--memory-budget", "256MiB"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("memory budget 256.0 MiB: predicted peak ") && r.out().contains("checkpointing no")
                && r.out().contains("recompute 1.000x"), r.out());
        JsonNode summary = json(run.resolve("summary.json"));
        assertEquals(6, summary.get("steps").asLong());
        assertEquals(256L << 20, summary.get("memory_budget_bytes").asLong());
        long predicted = summary.get("predicted_peak_bytes").asLong();
        long peak = summary.get("peak_device_bytes").asLong();
        assertTrue(predicted > 0 && predicted <= 256L << 20, summary.toString());
        // the measured peak (allocated: requests rounded up to 512 bytes) is the predicted one
        assertTrue(peak >= predicted && peak <= predicted + 64 * 1024, "measured " + peak + " vs predicted " + predicted);
        assertEquals(1.0, summary.get("recompute_flops_ratio").asDouble());
        assertEquals("256MiB", json(run.resolve("config.json")).get("memory-budget").asText());

        Path plain = tmp.resolve("plain");
        assertEquals(0, frugal(trainArgs(plain, "--steps", "6")).code());
        JsonNode s2 = json(plain.resolve("summary.json"));
        assertTrue(s2.get("memory_budget_bytes").isNull() && s2.has("predicted_peak_bytes"), s2.toString());
        assertTrue(json(plain.resolve("config.json")).get("memory-budget").isNull());
    }

    @Test
    void autoBatchSizeIsTheLargestThatFits(@TempDir Path tmp) throws IOException {
        long budget;
        int expected;
        try (dev.frugal.models.zoo.Model m = dev.frugal.models.zoo.ModelZoo.create("mlp", 3)) {
            dev.frugal.trainer.MemoryBudgetPlanner roomy = mlpPlanner(m, -1);
            // room for a batch of about 100 (the training set has 640 images)
            budget = roomy.plan(100).predictedPeakBytes() + roomy.evaluationBytes();
            expected = mlpPlanner(m, budget).maxBatchSize();
        }
        assertTrue(expected >= 100 && expected < 640, "expected " + expected);
        Path run = tmp.resolve("run");
        Result r = frugal(autoBatch(trainArgs(run, "--steps", "6", "--memory-budget", Long.toString(budget))));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("batch size auto: " + expected + " "), r.out());
        assertEquals(expected, json(run.resolve("config.json")).get("batch-size").asInt(), "config.json records the batch chosen");

        Result noBudget = frugal(autoBatch(trainArgs(tmp.resolve("nobudget"))));
        assertEquals(2, noBudget.code());
        assertTrue(noBudget.err().contains("batch-size auto") && noBudget.err().contains("needs memory-budget"), noBudget.err());
        Result bad = frugal(trainArgs(tmp.resolve("bad"), "--memory-budget", "12parsecs"));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("unknown size unit 'parsecs'"), bad.err());
    }

    @Test
    void initFromAndFreezeTrainAHeadOnPretrainedFeatures(@TempDir Path tmp) throws IOException {
        // pretrained weights as another framework might name them: the head under "head.", plus a tensor nothing takes
        Path weights = tmp.resolve("pretrained.safetensors");
        Map<String, float[]> pretrained = new java.util.LinkedHashMap<>();
        try (dev.frugal.models.zoo.Model source = dev.frugal.models.zoo.ModelZoo.create("mlp", 99);
             dev.frugal.runtime.Tensor extra = dev.frugal.runtime.Tensor.zeros(dev.frugal.runtime.Shape.of(2), dev.frugal.runtime.DType.F32)) {
            java.util.SequencedMap<String, dev.frugal.runtime.Tensor> out = new java.util.LinkedHashMap<>();
            source.module().state().forEach((name, t) -> {
                out.put(name.startsWith("fc3.") ? "head." + name.substring(4) : name, t);
                pretrained.put(name, t.toFloatArray());
            });
            out.put("aux.weight", extra);
            dev.frugal.trainer.checkpoint.SafetensorsWriter.write(weights, out, Map.of());
        }
        Path map = tmp.resolve("map.json");
        Files.writeString(map, "{\"fc3.weight\": \"head.weight\", \"fc3.bias\": \"head.bias\"}");
        Path run = tmp.resolve("run");
        Result r = frugal(trainArgs(run, "--epochs", "1", "--init-from", weights.toString(), "--init-map", map.toString(),
                "--freeze", "fc1.*, fc2.*"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("6 matched, 0 missing (kept their initialisation), 1 unexpected (not used)"), r.out());
        assertTrue(r.out().contains("renamed: head.weight -> fc3.weight") && r.out().contains("unexpected: aux.weight"), r.out());

        JsonNode report = json(run.resolve("init-report.json"));
        assertEquals(6, report.get("matched").size());
        assertEquals(0, report.get("missing").size());
        assertEquals("aux.weight", report.get("unexpected").get(0).asText());
        JsonNode config = json(run.resolve("config.json"));
        assertEquals(weights.toString(), config.get("init-from").asText());
        assertEquals(map.toString(), config.get("init-map").asText());
        assertEquals("fc1.*,fc2.*", config.get("freeze").asText());
        JsonNode summary = json(run.resolve("summary.json"));
        assertEquals(128 * 10 + 10, summary.get("trainable_parameters").asLong(), summary.toString());
        assertEquals(summary.get("parameters").asLong() - (128 * 10 + 10), summary.get("frozen_parameters").asLong(), summary.toString());

        try (dev.frugal.trainer.checkpoint.Checkpoint c = new dev.frugal.trainer.checkpoint.CheckpointStore(run.resolve(TrainCommand.CHECKPOINTS))
                .loadLatest().orElseThrow()) {
            for (String frozen : List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(pretrained.get(frozen), c.model().get(frozen).toFloatArray(),
                        frozen + " is frozen at its pretrained value");
            }
            assertFalse(java.util.Arrays.equals(pretrained.get("fc3.weight"), c.model().get("fc3.weight").toFloatArray()), "the head trained");
            assertTrue(c.optimizer().keySet().stream().allMatch(k -> k.equals("step") || k.endsWith("/fc3.weight") || k.endsWith("/fc3.bias")),
                    "optimizer state for the head alone: " + c.optimizer().keySet());
        }

        Result glob = frugal(trainArgs(tmp.resolve("glob"), "--freeze", "features.*"));
        assertEquals(2, glob.code(), glob.out() + glob.err());
        assertTrue(glob.err().contains("'features.*' matches no parameter") && glob.err().contains("fc1.weight"), glob.err());
        Result all = frugal(trainArgs(tmp.resolve("all"), "--freeze", "*"));
        assertEquals(2, all.code());
        assertTrue(all.err().contains("freeze every parameter"), all.err());
        String[] narrow = trainArgs(tmp.resolve("shape"), "--init-from", weights.toString());
        narrow[List.of(narrow).indexOf("--model") + 1] = "mlp:hidden2=64";
        Result shape = frugal(narrow);
        assertEquals(2, shape.code());
        assertTrue(shape.err().contains("'fc2.weight'") && shape.err().contains("[128,256]") && shape.err().contains("[64,256]"), shape.err());
        Result noMap = frugal(trainArgs(tmp.resolve("nomap"), "--init-map", map.toString()));
        assertEquals(2, noMap.code());
        assertTrue(noMap.err().contains("init-map renames the tensors of init-from"), noMap.err());
        // found once the model exists, after the run directory was made: it is removed again
        for (String refused : List.of("glob", "all", "shape", "nomap")) {
            assertFalse(Files.exists(tmp.resolve(refused)), "no run directory is left behind by the refused " + refused + " run");
        }
        Path existing = Files.createDirectories(tmp.resolve("existing"));
        assertEquals(2, frugal(trainArgs(existing, "--freeze", "features.*")).code());
        assertTrue(Files.isDirectory(existing), "an empty directory the user made stays");
    }

    /** A student run of a small mlp: the trainArgs plumbing with another model. */
    private static String[] studentArgs(Path runDir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", "mlp:hidden1=32,hidden2=16", "--batch-size", "64", "--optimizer", "adamw",
                "--data", data.toString(), "--seed", "3", "--no-progress", "--epochs", "1", "--run-dir", runDir.toString()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    @Test
    void aStudentDistilsFromATeachersRunAndTheRunRecordsIt(@TempDir Path tmp) throws IOException {
        Path teacher = tmp.resolve("teacher");
        Result t = frugal(trainArgs(teacher, "--epochs", "2"));
        assertEquals(0, t.code(), t.err());
        Path student = tmp.resolve("student");
        Result r = frugal(studentArgs(student, "--teacher", teacher.toString(), "--distill-temperature", "2", "--distill-alpha", "0.5"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("distilling from " + teacher + " (mlp, step 20): temperature 2.0, alpha 0.5"), r.out());
        JsonNode config = json(student.resolve("config.json"));
        assertEquals(teacher.toString(), config.get("teacher").asText());
        assertEquals(2.0, config.get("distill-temperature").asDouble());
        assertEquals(0.5, config.get("distill-alpha").asDouble());
        JsonNode summary = json(student.resolve("summary.json"));
        assertEquals("mlp:hidden1=32,hidden2=16", summary.get("model").asText());
        assertEquals(teacher.toString(), summary.get("teacher").get("run_dir").asText(), summary.toString());
        assertEquals("mlp", summary.get("teacher").get("model").asText(), summary.toString());
        assertEquals(20, summary.get("teacher").get("step").asLong(), summary.toString());
        assertTrue(summary.get("test_accuracy").asDouble() > 0.5, summary.toString());
        // a run without a teacher records the defaults and no teacher
        JsonNode plain = json(teacher.resolve("config.json"));
        assertTrue(plain.get("teacher").isNull(), plain.toString());
        assertEquals(4.0, plain.get("distill-temperature").asDouble());
        assertEquals(0.5, plain.get("distill-alpha").asDouble());
        assertFalse(json(teacher.resolve("summary.json")).has("teacher"));

        // the teacher's checkpoint is only read
        try (dev.frugal.trainer.checkpoint.Checkpoint c = new dev.frugal.trainer.checkpoint.CheckpointStore(teacher.resolve(TrainCommand.CHECKPOINTS))
                .loadLatest().orElseThrow()) {
            assertEquals(20, c.step());
        }

        // frugal plan with a configuration file's teacher plans the step with the teacher's tensors bound
        Path withTeacher = tmp.resolve("distil.json");
        Files.writeString(withTeacher, new ObjectMapper().writeValueAsString(Map.of("teacher", teacher.toString())));
        Result planned = frugal("plan", "--model", "mlp:hidden1=32,hidden2=16", "--batch-size", "64", "--json", "--config", withTeacher.toString());
        assertEquals(0, planned.code(), planned.out() + planned.err());
        Result alone = frugal("plan", "--model", "mlp:hidden1=32,hidden2=16", "--batch-size", "64", "--json");
        assertEquals(0, alone.code(), alone.out() + alone.err());
        long teacherBytes = 4L * (784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
        assertEquals(teacherBytes, new ObjectMapper().readTree(planned.out()).get("state_bytes").asLong()
                - new ObjectMapper().readTree(alone.out()).get("state_bytes").asLong(), planned.out());

        // a resumed student keeps its teacher
        Result resumed = frugal("train", "--resume", student.toString(), "--no-progress");
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("distilling from " + teacher), resumed.out());
    }

    @Test
    void aBadTeacherIsRefusedBeforeTheRunDirectoryIsMade(@TempDir Path tmp) throws IOException {
        Result notRun = frugal(studentArgs(tmp.resolve("a"), "--teacher", tmp.toString()));
        assertEquals(2, notRun.code());
        assertTrue(notRun.err().contains("--teacher " + tmp + ": no config.json there; expected a run directory of frugal train"), notRun.err());
        assertFalse(Files.exists(tmp.resolve("a")), "no run directory is left behind");

        // a language model's run cannot teach an image classifier
        Path lm = tmp.resolve("lm");
        Files.createDirectories(lm);
        Files.writeString(lm.resolve("config.json"), "{\"model\": \"tiny-gpt:layers=1,width=8,heads=1,context=16\", \"dataset\": \"text\","
                + " \"early-stopping-metric\": \"val_loss\"}");
        Result language = frugal(studentArgs(tmp.resolve("b"), "--teacher", lm.toString()));
        assertEquals(2, language.code());
        assertTrue(language.err().contains("needs an image classifier as the teacher") && language.err().contains("tiny-gpt"), language.err());
        assertFalse(Files.exists(tmp.resolve("b")));

        // a run directory without a checkpoint
        Path empty = tmp.resolve("empty");
        Files.createDirectories(empty);
        Files.writeString(empty.resolve("config.json"), "{\"model\": \"mlp\"}");
        Result noCheckpoint = frugal(studentArgs(tmp.resolve("c"), "--teacher", empty.toString()));
        assertEquals(2, noCheckpoint.code());
        assertTrue(noCheckpoint.err().contains("no checkpoint under"), noCheckpoint.err());

        IllegalArgumentException shapes = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> TrainCommand.Teacher.checkCompatible("--teacher t", "big", dev.frugal.runtime.Shape.of(3, 32, 32), 100,
                        "small", dev.frugal.runtime.Shape.of(1, 28, 28), 10));
        assertTrue(shapes.getMessage().contains("the teacher big classifies images of") && shapes.getMessage().contains("into 100 classes")
                && shapes.getMessage().contains("the student small images of") && shapes.getMessage().contains("into 10"), shapes.getMessage());

        Result alpha = frugal(studentArgs(tmp.resolve("d"), "--teacher", empty.toString(), "--distill-alpha", "1.5"));
        assertEquals(2, alpha.code());
        assertTrue(alpha.err().contains("distill-alpha must be in [0, 1]"), alpha.err());
        Result temperature = frugal(studentArgs(tmp.resolve("e"), "--teacher", empty.toString(), "--distill-temperature", "0"));
        assertEquals(2, temperature.code());
        assertTrue(temperature.err().contains("distill-temperature must be a finite number above 0"), temperature.err());
    }
}
