package dev.frugal.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Defaults, overrides and validation of {@link TrainConfig}. */
class TrainConfigTest {
    private static String error(Map<String, ?> overrides) {
        return assertThrows(ConfigException.class, () -> TrainConfig.defaults().withOverrides(overrides)).getMessage();
    }

    @Test
    void defaultsAreTheMainJob() {
        TrainConfig c = TrainConfig.defaults();
        assertEquals("cnn-small", c.model());
        assertEquals("fashion-mnist", c.dataset());
        assertNull(c.data());
        assertEquals(3, c.epochs());
        assertEquals(0, c.steps());
        assertEquals(128, c.batchSize());
        assertEquals("sgd", c.optimizer());
        assertEquals(0.05, c.effectiveLr());
        assertEquals(0.9, c.momentum());
        assertFalse(c.nesterov());
        assertEquals(0.0, c.effectiveWeightDecay());
        assertEquals("constant", c.schedule());
        assertEquals(0.0, c.clipNorm());
        assertEquals("none", c.augment());
        assertEquals(3, c.keepCheckpoints());
        assertEquals("fp32", c.precision());
        assertEquals("auto", c.device());
        assertEquals(42, c.seed());
        assertNull(c.runDir());
        assertEquals(1, c.evalEvery());
        assertFalse(c.earlyStoppingEnabled());
        assertTrue(c.progress());
        assertNull(c.resume());
    }

    @Test
    void optimizerDefaultsFollowTheOptimizer() {
        TrainConfig adamw = TrainConfig.defaults().withOverrides(Map.of("optimizer", "adamw"));
        assertEquals(1e-3, adamw.effectiveLr());
        assertEquals(0.01, adamw.effectiveWeightDecay());
        assertNull(adamw.lr(), "lr stays 'the optimizer's default' until resolved");
        TrainConfig resolved = adamw.resolved();
        assertEquals(1e-3, resolved.lr());
        assertEquals(0.01, resolved.weightDecay());
        assertEquals(0.2, TrainConfig.defaults().withOverrides(Map.of("lr", 0.2, "optimizer", "adamw")).effectiveLr());
    }

    @Test
    void overridesConvertJsonTypes() {
        Map<String, Object> o = new HashMap<>();
        o.put("epochs", 5L);
        o.put("steps", BigInteger.valueOf(10_000_000_000L));
        o.put("lr", 1);
        o.put("data", "/data/fm");
        o.put("run-dir", Path.of("runs/x"));
        o.put("nesterov", true);
        o.put("seed", -3);
        TrainConfig c = TrainConfig.defaults().withOverrides(o);
        assertEquals(5, c.epochs());
        assertEquals(10_000_000_000L, c.steps());
        assertEquals(1.0, c.lr());
        assertEquals(Path.of("/data/fm"), c.data());
        assertEquals(Path.of("runs/x"), c.runDir());
        assertTrue(c.nesterov());
        assertEquals(-3, c.seed());
        Map<String, Object> reset = new HashMap<>();
        reset.put("data", null);
        reset.put("lr", null);
        TrainConfig back = c.withOverrides(reset);
        assertNull(back.data());
        assertNull(back.lr());
    }

    @Test
    void unknownKeyListsEveryValidKey() {
        String message = error(Map.of("batch_size", 3));
        assertTrue(message.contains("'batch_size'") && message.contains("did you mean 'batch-size'?"), message);
        for (String key : TrainConfig.keys()) {
            assertTrue(message.contains(key), message);
        }
        assertFalse(error(Map.of("colour", "red")).contains("did you mean"));
    }

    @Test
    void wrongTypeNamesKeyAndExpectedType() {
        assertEquals("key 'epochs': expected a whole number, got a string, \"three\"", error(Map.of("epochs", "three")));
        assertTrue(error(Map.of("epochs", 2.5)).contains("key 'epochs': expected a whole number"));
        assertTrue(error(Map.of("lr", "fast")).contains("key 'lr': expected a number"));
        assertTrue(error(Map.of("nesterov", "yes")).contains("key 'nesterov': expected true or false"));
        assertTrue(error(Map.of("model", 3)).contains("key 'model': expected a string"));
        assertTrue(error(Map.of("data", 3)).contains("key 'data': expected a path"));
        assertTrue(error(Map.of("batch-size", List.of(1, 2))).contains("got a list"));
        Map<String, Object> nullModel = new HashMap<>();
        nullModel.put("model", null);
        assertTrue(error(nullModel).contains("key 'model': expected a string, got null"));
        assertTrue(error(Map.of("batch-size", 5_000_000_000L)).contains("out of range"));
    }

    @Test
    void valuesOutOfRangeAreRejected() {
        assertTrue(error(Map.of("batch-size", 0)).contains("batch-size must be at least 1"));
        assertTrue(error(Map.of("epochs", 0)).contains("epochs"));
        assertTrue(error(Map.of("steps", -1)).contains("steps"));
        assertTrue(error(Map.of("lr", 0)).contains("lr must be"));
        assertTrue(error(Map.of("lr", Double.NaN)).contains("lr must be"));
        assertTrue(error(Map.of("momentum", 1.0)).contains("momentum"));
        assertTrue(error(Map.of("weight-decay", -0.1)).contains("weight-decay"));
        assertTrue(error(Map.of("clip-norm", -1)).contains("clip-norm"));
        assertTrue(error(Map.of("optimizer", "adam")).contains("valid: sgd, adamw"));
        assertTrue(error(Map.of("precision", "fp8")).contains("valid: fp32, fp16, bf16"));
        assertTrue(error(Map.of("device", "gpu")).contains("cuda:N"));
        assertTrue(error(Map.of("model", " ")).contains("model must not be empty"));
        assertTrue(error(Map.of("eval-every", 0)).contains("eval-every"));
        assertTrue(error(Map.of("early-stopping-patience", -1)).contains("early-stopping-patience"));
        assertTrue(error(Map.of("keep-checkpoints", 0)).contains("keep-checkpoints must be at least 1"));
        assertTrue(error(Map.of("nesterov", true, "momentum", 0)).contains("nesterov needs"));
        assertTrue(error(Map.of("nesterov", true, "optimizer", "adamw")).contains("nesterov needs"));
        assertEquals("cuda:1", TrainConfig.defaults().withOverrides(Map.of("device", "cuda:1")).device());
        assertEquals("adamw", TrainConfig.defaults().withOverrides(Map.of("optimizer", "AdamW")).optimizer());
    }

    @Test
    void earlyStoppingDirectionFollowsTheMetricName() {
        TrainConfig loss = TrainConfig.defaults().withOverrides(
            Map.of("early-stopping-metric", "test_loss", "early-stopping-patience", 2));
        assertTrue(loss.earlyStoppingEnabled());
        assertFalse(loss.earlyStoppingHigherIsBetter());
        assertTrue(TrainConfig.defaults().earlyStoppingHigherIsBetter());
        TrainConfig train = TrainConfig.defaults().withOverrides(Map.of("early-stopping-metric", "train_loss"));
        assertFalse(train.earlyStoppingHigherIsBetter());
    }

    @Test
    void earlyStoppingMetricMustBeOneEveryEvaluationCarries() {
        String message = error(Map.of("early-stopping-metric", "val_accuracy"));
        assertEquals("early-stopping-metric: unknown metric 'val_accuracy'; every evaluation carries: test_loss, test_accuracy, train_loss",
            message);
    }

    @Test
    void jsonUsesTheFlagNamesInOrder() throws Exception {
        String json = new ObjectMapper().writeValueAsString(TrainConfig.defaults());
        assertTrue(json.startsWith("{\"model\":\"cnn-small\",\"dataset\":\"fashion-mnist\""), json);
        assertTrue(json.contains("\"batch-size\":128") && json.contains("\"early-stopping-min-delta\":0.0"), json);
        Map<?, ?> map = new ObjectMapper().readValue(json, Map.class);
        assertEquals(TrainConfig.keys(), List.copyOf(map.keySet().stream().map(String::valueOf).toList()));
        assertEquals(TrainConfig.keys(), List.copyOf(TrainConfig.defaults().toMap().keySet()));
    }
}
