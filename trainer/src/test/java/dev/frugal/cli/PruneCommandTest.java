package dev.frugal.cli;

import static dev.frugal.cli.TrainCommandTest.frugal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cli.TrainCommandTest.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code frugal train --prune} end to end on the synthetic bands: the summary's before/after
 * numbers, the smaller model that {@code eval} and {@code export} then use, {@code frugal models
 * --prune}, and bad specs refused before a run directory exists.
 */
class PruneCommandTest {
    private static final String MODEL = "cnn-small:channels1=8,channels2=8,hidden=16";

    @TempDir
    static Path data;

    @BeforeAll
    static void writeDataset() throws IOException {
        TrainCommandTest.writeSplit(data, "train", 640, 1);
        TrainCommandTest.writeSplit(data, "t10k", 200, 2);
    }

    private static String[] train(Path runDir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", MODEL, "--batch-size", "64", "--epochs", "3", "--data", data.toString(),
                "--seed", "3", "--no-progress", "--run-dir", runDir.toString()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    private static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    @Test
    void structuredPruningWritesTheSmallerModelWhichEvalAndExportUse(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        Result r = frugal(train(run, "--prune", "structured:0.5,end=50%"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("pruned model cnn-small:channels1=4,channels2=4,hidden=8,width=1"), r.out());
        assertEquals("structured:0.5,norm=l1,schedule=cubic,start=0.1,end=0.5", json(run.resolve("config.json")).get("prune").asText());

        JsonNode s = json(run.resolve("summary.json"));
        JsonNode p = s.get("pruning");
        assertEquals("cnn-small:channels1=4,channels2=4,hidden=8,width=1", p.get("pruned_model").asText(), p.toString());
        assertEquals(s.get("parameters").asLong(), p.get("parameters_before").asLong());
        assertTrue(p.get("parameters_after").asLong() < p.get("parameters_before").asLong() / 2, p.toString());
        assertTrue(p.get("flops_ratio").asDouble() <= 0.5, p.toString());
        assertEquals("4/8", p.get("kept_channels").get("channels1").asText());
        assertEquals(0.5, p.get("sparsity_reached").asDouble(), "the schedule ran to its end");
        // the smaller model classifies the test set exactly as the masked full-size one did
        assertEquals(s.get("test_accuracy").asDouble(), p.get("test_accuracy_pruned_model").asDouble(), 1e-12, p.toString());
        assertTrue(Files.isRegularFile(run.resolve("pruned/model.safetensors")));

        Result eval = frugal("eval", run.toString(), "--data", data.toString());
        assertEquals(0, eval.code(), eval.out() + eval.err());
        assertTrue(eval.out().startsWith("cnn-small:channels1=4,channels2=4,hidden=8,width=1 (pruned) step 30: test accuracy "
                + String.format(java.util.Locale.ROOT, "%.4f", s.get("test_accuracy").asDouble())), eval.out());

        Path onnx = tmp.resolve("pruned.onnx");
        Result export = frugal("export", run.toString(), "--output", onnx.toString());
        assertEquals(0, export.code(), export.out() + export.err());
        assertTrue(export.out().contains("(pruned)"), export.out());
        // about the smaller model's float32 weights, far below the full model's
        assertTrue(Files.size(onnx) < 4 * p.get("parameters_before").asLong() * 0.6, Files.size(onnx) + " bytes");

        // a resumed pruned run keeps its masks: resuming the finished run trains nothing and rewrites the same model
        Result resumed = frugal("train", "--resume", run.toString(), "--no-progress");
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("pruned model cnn-small:channels1=4,channels2=4,hidden=8,width=1"), resumed.out());
    }

    @Test
    void aBudgetThatEndsTheRunBeforeTheScheduleSaysHowFarPruningGot(@TempDir Path tmp) throws IOException {
        // 30 planned steps, the ramp updating before each of steps 4..19; the budget stops after 10
        Path run = tmp.resolve("run");
        Result r = frugal(train(run, "--prune", "structured:0.5", "--budget-steps", "10"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("pruning: the run ended after 10 steps, before the schedule's last update (before step 19): sparsity 0.3920"),
                r.out());
        JsonNode p = json(run.resolve("summary.json")).get("pruning");
        assertEquals(0.5 * (1 - Math.pow(1 - 6.0 / 15, 3)), p.get("sparsity_reached").asDouble(), 1e-12, p.toString());
        assertEquals("5/8", p.get("kept_channels").get("channels1").asText(), "round(0.392 x 8) = 3 channels removed");
    }

    @Test
    void magnitudePruningReportsNonZeroParameters(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        Result r = frugal(train(run, "--prune", "magnitude:0.8,scope=layer,schedule=once,at=50%"));
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode p = json(run.resolve("summary.json")).get("pruning");
        assertEquals("magnitude", p.get("method").asText());
        assertEquals(0.8, p.get("masked_share").asDouble(), 1e-3, p.toString());
        assertEquals(1.0, p.get("flops_ratio").asDouble(), p.toString());
        assertTrue(p.get("parameters_after").asLong() < p.get("parameters_before").asLong() * 0.3, p.toString());
        assertFalse(Files.exists(run.resolve("pruned")), "magnitude pruning keeps the dense model");
    }

    @Test
    void modelsShowsWhatPruningWouldLeave() throws IOException {
        Result r = frugal("models", "--json", "--prune", "structured:0.5", "cnn-small", "mlp", "mobilenet-tiny", "deep-mlp");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode models = new ObjectMapper().readTree(r.out()).get("models");
        JsonNode cnn = models.get(0).get("pruned");
        assertEquals("cnn-small:channels1=16,channels2=32,hidden=64,width=1", cnn.get("model").asText());
        assertTrue(cnn.get("flops_ratio").asDouble() < 0.5, cnn.toString());
        assertEquals("mlp:hidden1=128,hidden2=64", models.get(1).get("pruned").get("model").asText());
        JsonNode mobilenet = models.get(2).get("pruned");
        assertEquals("mobilenet-tiny:width=16,block1=32,block2=32,block3=64,block4=64,block5=128,block6=128",
                mobilenet.get("model").asText());
        assertTrue(mobilenet.get("flops_ratio").asDouble() < 0.5, mobilenet.toString());
        assertEquals("deep-mlp:depth=8,width=256,hidden=128", models.get(3).get("pruned").get("model").asText());

        Result table = frugal("models", "--prune", "structured:0.5");
        assertEquals(0, table.code(), table.out() + table.err());
        assertTrue(table.out().contains("Pruned (structured:0.5,norm=l1,schedule=cubic,start=0.1,end=0.6):"), table.out());
        assertTrue(table.out().contains("cnn-small:channels1=32,channels2=64,hidden=128,width=1 -> cnn-small:channels1=16,channels2=32,hidden=64,width=1"),
                table.out());

        Result unsupported = frugal("models", "--prune", "structured:0.5", "deep-mlp:depth=0");
        assertEquals(2, unsupported.code());
        assertTrue(unsupported.err().contains("deep-mlp:depth=0,width=256 has no residual blocks"), unsupported.err());
    }

    @Test
    void badPruningIsRefusedBeforeTheRunDirectoryIsMade(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        Result sparsity = frugal(train(run, "--prune", "structured:1.5"));
        assertEquals(2, sparsity.code());
        assertTrue(sparsity.err().contains("prune: --prune: sparsity 1.5 is outside [0, 1)"), sparsity.err());
        Result model = frugal("train", "--model", "deep-mlp:depth=0", "--data", data.toString(), "--run-dir", run.toString(), "--prune",
                "structured:0.5", "--no-progress");
        assertEquals(2, model.code());
        assertTrue(model.err().contains("structured pruning: deep-mlp:depth=0,width=256 has no residual blocks"),
                model.err());
        assertFalse(Files.exists(run), "no run directory is left behind");
    }
}
