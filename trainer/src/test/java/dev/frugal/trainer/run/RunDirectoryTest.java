package dev.frugal.trainer.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Creating run directories and writing and reading back their files. */
class RunDirectoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    record SampleConfig(String model, int batchSize, double lr, Path data) {
    }

    @Test
    void createMakesExactlyThatDirectoryWithParents() throws IOException {
        Path dir = tmp.resolve("a/b/run");
        try (RunDirectory run = RunDirectory.create(dir)) {
            assertEquals(dir.toAbsolutePath(), run.path());
            assertTrue(Files.isDirectory(dir));
        }
        // still empty, so it may be used again
        RunDirectory.create(dir).close();
    }

    @Test
    void removeIfUnusedRemovesOnlyAnEmptyDirectoryItMade() throws IOException {
        RunDirectory made = RunDirectory.create(tmp.resolve("made"));
        assertTrue(made.removeIfUnused());
        assertFalse(Files.exists(tmp.resolve("made")));

        RunDirectory used = RunDirectory.createUnder(tmp.resolve("runs"), "mlp");
        used.writeEnv();
        assertFalse(used.removeIfUnused(), "a run with a file stays");
        assertTrue(Files.isRegularFile(used.path().resolve(RunDirectory.ENV_FILE)));

        Path existing = Files.createDirectory(tmp.resolve("existing"));
        assertFalse(RunDirectory.create(existing).removeIfUnused(), "an empty directory made before stays");
        assertFalse(RunDirectory.open(existing).removeIfUnused(), "a reopened run stays");
        assertTrue(Files.isDirectory(existing));
    }

    @Test
    void createRefusesANonEmptyDirectoryNamingIt() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("old-run"));
        Files.writeString(dir.resolve("summary.json"), "{}");
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> RunDirectory.create(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("not empty"), e.getMessage());
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThrows(NotDirectoryException.class, () -> RunDirectory.create(file));
    }

    @Test
    void createUnderUsesTimestampAndModelAndNumbersCollisions() throws IOException {
        Clock clock = Clock.fixed(Instant.parse("2026-03-04T05:06:07Z"), ZoneOffset.UTC);
        Path root = tmp.resolve("runs");
        Path first = RunDirectory.createUnder(root, "deep-mlp:depth=8", clock).path();
        Path second = RunDirectory.createUnder(root, "deep-mlp:depth=8", clock).path();
        Path third = RunDirectory.createUnder(root, "deep-mlp:depth=8", clock).path();
        assertEquals(root.toAbsolutePath().resolve("20260304-050607-deep-mlp_depth_8"), first);
        assertEquals(first.resolveSibling(first.getFileName() + "-2"), second);
        assertEquals(first.resolveSibling(first.getFileName() + "-3"), third);
        assertTrue(RunDirectory.createUnder(root, "cnn-small").path().getFileName().toString().endsWith("-cnn-small"));
    }

    @Test
    void configAndSummaryAreJsonThatReadsBack() throws IOException {
        try (RunDirectory run = RunDirectory.create(tmp.resolve("run"))) {
            run.writeConfig(new SampleConfig("cnn-small", 128, 0.05, Path.of("/data/fm")));
            JsonNode config = JSON.readTree(run.path().resolve(RunDirectory.CONFIG_FILE).toFile());
            assertEquals("cnn-small", config.get("model").asText());
            assertEquals(128, config.get("batchSize").asInt());
            assertEquals(0.05, config.get("lr").asDouble());
            assertEquals("/data/fm", config.get("data").asText(), "paths are plain strings, not file:// URIs");
            assertTrue(Files.readString(run.path().resolve(RunDirectory.CONFIG_FILE)).contains("\n  \""), "pretty");

            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("model", "cnn-small");
            summary.put("steps", 1407L);
            summary.put("test_accuracy", 0.9123);
            summary.put("ended_by", "epochs");
            summary.put("peak_device_bytes", null);
            run.writeSummary(summary);
            Map<String, Object> back = RunDirectory.readSummary(run.path());
            assertEquals(List.copyOf(summary.keySet()), List.copyOf(back.keySet()), "key order kept");
            assertEquals("cnn-small", back.get("model"));
            assertEquals(1407, ((Number) back.get("steps")).longValue());
            assertEquals(0.9123, back.get("test_accuracy"));
            assertEquals(null, back.get("peak_device_bytes"));
        }
    }

    @Test
    void rewritesAreAtomicAndLeaveNoTemporaryFiles() throws IOException {
        try (RunDirectory run = RunDirectory.create(tmp.resolve("run"))) {
            run.writeSummary(Map.of("ended_by", "steps"));
            run.writeSummary(Map.of("ended_by", "epochs"));
            assertEquals("epochs", RunDirectory.readSummary(run.path()).get("ended_by"));
            // a value Jackson cannot serialise must leave the previous summary in place
            assertThrows(IOException.class, () -> run.writeSummary(Map.of("bad", new Object() {
                public Object getSelf() {
                    return this;
                }
            })));
            assertEquals("epochs", RunDirectory.readSummary(run.path()).get("ended_by"));
            try (Stream<Path> files = Files.list(run.path())) {
                assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith(AtomicFiles.TEMP_PREFIX)));
            }
        }
    }

    @Test
    void readSummaryNamesTheFileWhenMissingOrCorrupt() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("run"));
        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> RunDirectory.readSummary(dir));
        assertTrue(missing.getMessage().contains(RunDirectory.SUMMARY_FILE), missing.getMessage());
        Files.writeString(dir.resolve(RunDirectory.SUMMARY_FILE), "{\"model\": ");
        IOException corrupt = assertThrows(IOException.class, () -> RunDirectory.readSummary(dir));
        assertTrue(corrupt.getMessage().contains(dir.resolve(RunDirectory.SUMMARY_FILE).toString()), corrupt.getMessage());
        Files.writeString(dir.resolve(RunDirectory.SUMMARY_FILE), "[1, 2]");
        assertThrows(IOException.class, () -> RunDirectory.readSummary(dir));
    }

    @Test
    void metricsAreOneCompactJsonObjectPerLineAndAppendOnResume() throws IOException {
        Path dir = tmp.resolve("run");
        try (RunDirectory run = RunDirectory.create(dir)) {
            MetricsLog log = run.metrics();
            assertEquals(log, run.metrics(), "one log per run directory");
            Map<String, Object> step = new LinkedHashMap<>();
            step.put("step", 1);
            step.put("loss", 2.25);
            log.append(step);
            // visible before close: each line is flushed
            assertEquals(1, Files.readAllLines(dir.resolve(RunDirectory.METRICS_FILE)).size());
            log.append(Map.of("loss", Double.NaN));
        }
        try (RunDirectory resumed = RunDirectory.open(dir)) {
            resumed.metrics().append(Map.of("step", 3, "eval", Map.of("test_accuracy", 0.5)));
        }
        List<String> lines = Files.readAllLines(dir.resolve(RunDirectory.METRICS_FILE));
        assertEquals(3, lines.size());
        assertEquals("{\"step\":1,\"loss\":2.25}", lines.get(0));
        for (String line : lines) {
            JSON.readTree(line);
        }
        assertEquals("NaN", JSON.readTree(lines.get(1)).get("loss").asText(), "NaN stays standard JSON");
        assertEquals(0.5, JSON.readTree(lines.get(2)).get("eval").get("test_accuracy").asDouble());
    }

    @Test
    void closedMetricsLogRefusesAppends() throws IOException {
        RunDirectory run = RunDirectory.create(tmp.resolve("run"));
        MetricsLog log = run.metrics();
        run.close();
        run.close();
        assertThrows(IllegalStateException.class, () -> log.append(Map.of("step", 1)));
        assertNotEquals(log, run.metrics(), "a new log after close");
        run.close();
    }

    @Test
    void openRefusesMissingDirectory() {
        assertThrows(NoSuchFileException.class, () -> RunDirectory.open(tmp.resolve("nope")));
    }
}
