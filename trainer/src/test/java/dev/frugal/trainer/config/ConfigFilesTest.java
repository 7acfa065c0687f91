package dev.frugal.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.trainer.run.RunDirectory;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading configuration files, and what their errors say. */
class ConfigFilesTest {
    @TempDir
    Path tmp;

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(ConfigFilesTest.class.getResource("/config/" + name).toURI());
    }

    private static String error(Path file) {
        return assertThrows(ConfigException.class, () -> ConfigFiles.load(file)).getMessage();
    }

    @Test
    void yamlWithEveryKey() throws Exception {
        TrainConfig c = ConfigFiles.load(resource("full.yaml"));
        assertEquals("deep-mlp:depth=8,width=256", c.model());
        assertEquals(Path.of("/srv/datasets/fashion-mnist"), c.data());
        assertEquals(5, c.epochs());
        assertEquals(2000, c.steps());
        assertEquals(64, c.batchSize());
        assertEquals(1e-3, c.lr());
        assertEquals("adamw", c.optimizer());
        assertEquals(0.8, c.momentum());
        assertEquals(0.05, c.weightDecay());
        assertEquals("warmup-cosine:warmup=100,min=1e-5", c.schedule());
        assertEquals(1.0, c.clipNorm());
        assertEquals("cpu", c.device());
        assertEquals(7, c.seed());
        assertEquals(Path.of("runs/deep"), c.runDir());
        assertEquals(2, c.evalEvery());
        assertEquals("test_loss", c.earlyStoppingMetric());
        assertEquals(3, c.earlyStoppingPatience());
        assertEquals(0.001, c.earlyStoppingMinDelta());
        assertFalse(c.progress());
        assertNull(c.resume());
    }

    @Test
    void jsonOverridesOnlyWhatItNames() throws Exception {
        TrainConfig c = ConfigFiles.load(resource("partial.json"));
        assertEquals("mlp", c.model());
        assertEquals(2, c.epochs());
        assertEquals(0.1, c.lr());
        assertTrue(c.nesterov());
        assertEquals(128, c.batchSize());
        assertEquals("fashion-mnist", c.dataset());
    }

    @Test
    void commandLineFlagsOverrideTheFile() throws Exception {
        Map<String, Object> file = ConfigFiles.readOverrides(resource("full.yaml"));
        TrainConfig c = TrainConfig.defaults().withOverrides(file).withOverrides(Map.of("epochs", 9, "device", "auto"));
        assertEquals(9, c.epochs());
        assertEquals("auto", c.device());
        assertEquals(64, c.batchSize());
    }

    @Test
    void unknownKeyNamesFileKeyAndValidKeys() throws Exception {
        Path file = resource("unknown-key.yaml");
        String message = error(file);
        assertTrue(message.startsWith(file.toString() + ": unknown key 'batch_size'"), message);
        assertTrue(message.contains("did you mean 'batch-size'?") && message.contains("valid keys: model, dataset"), message);
        assertTrue(message.contains("early-stopping-min-delta"), message);
    }

    @Test
    void wrongTypeNamesFileKeyAndType() throws Exception {
        Path file = resource("wrong-type.yaml");
        assertEquals(file + ": key 'epochs': expected a whole number, got a string, \"three\"", error(file));
        Path nested = Files.writeString(tmp.resolve("nested.yaml"), "model:\n  name: mlp\n");
        assertTrue(error(nested).contains("key 'model': expected a single value, got a mapping"));
        Path range = Files.writeString(tmp.resolve("range.json"), "{\"batch-size\": 0}");
        assertTrue(error(range).startsWith(range + ": batch-size must be at least 1"));
    }

    @Test
    void syntaxErrorsNameFileAndLine() throws Exception {
        Path file = resource("broken.json");
        String message = error(file);
        assertTrue(message.startsWith(file + ": not valid JSON at line 2"), message);
        Path yaml = Files.writeString(tmp.resolve("bad.yaml"), "model: mlp\nepochs: [1,\n");
        assertTrue(error(yaml).contains("not valid YAML"), error(yaml));
        Path twice = Files.writeString(tmp.resolve("twice.yaml"), "epochs: 1\nepochs: 2\n");
        assertTrue(error(twice).contains("epochs"), error(twice));
    }

    @Test
    void otherShapesAndFiles() throws Exception {
        assertEquals(TrainConfig.defaults(), ConfigFiles.load(Files.writeString(tmp.resolve("empty.yaml"), "# nothing\n")));
        Path list = Files.writeString(tmp.resolve("list.yml"), "- 1\n- 2\n");
        assertTrue(error(list).contains("expected a mapping"));
        Path toml = Files.writeString(tmp.resolve("c.toml"), "epochs = 1\n");
        assertTrue(error(toml).contains("use a .yaml, .yml or .json file"));
        assertThrows(NoSuchFileException.class, () -> ConfigFiles.load(tmp.resolve("missing.yaml")));
    }

    @Test
    void nesterovInTheFileMayGetItsMomentumFromTheCommandLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("n.yaml"), "nesterov: true\nmomentum: 0\n");
        Map<String, Object> merged = new java.util.LinkedHashMap<>(ConfigFiles.readOverrides(file));
        merged.putAll(Map.of("momentum", 0.9));
        assertTrue(TrainConfig.defaults().withOverrides(merged).nesterov());
        assertThrows(ConfigException.class, () -> ConfigFiles.load(file));
    }

    @Test
    void configJsonOfARunReadsBack() throws IOException {
        TrainConfig original = TrainConfig.defaults().withOverrides(Map.of(
            "optimizer", "adamw", "data", "/data/fm", "run-dir", "runs/a", "schedule", "one-cycle")).resolved();
        try (RunDirectory run = RunDirectory.create(tmp.resolve("run"))) {
            run.writeConfig(original);
            assertEquals(original, ConfigFiles.load(run.path().resolve(RunDirectory.CONFIG_FILE)));
        }
    }
}
