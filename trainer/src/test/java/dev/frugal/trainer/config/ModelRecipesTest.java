package dev.frugal.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.ModelZoo;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The recipe table and the layering defaults, recipe, file, flags: every recipe key and value is
 * a valid configuration, and what the user sets anywhere beats the recipe.
 */
class ModelRecipesTest {
    private static final Map<String, Object> NONE = Map.of();

    @Test
    void everyRecipeKeyAndValueIsAValidConfigurationOfAZooModel() {
        for (Map.Entry<String, Map<String, Object>> e : ModelRecipes.all().entrySet()) {
            String model = e.getKey();
            assertTrue(ModelZoo.names().contains(model), "recipe for unknown model '" + model + "'; zoo: " + ModelZoo.names());
            for (String key : e.getValue().keySet()) {
                assertTrue(TrainConfig.keys().contains(key), "recipe of " + model + ": " + TrainConfig.unknownKeyMessage(key));
            }
            // every value converts and passes validation, and comes out unchanged
            Map<String, Object> resolved = TrainConfig.defaults().withOverrides(e.getValue()).toMap();
            e.getValue().forEach((k, v) -> assertEquals(String.valueOf(v), String.valueOf(resolved.get(k)), model + " " + k));
        }
    }

    @Test
    void theTableHoldsTheAgreedRecipes() {
        assertEquals(Map.of("epochs", 2, "optimizer", "adamw", "lr", 0.001, "weight-decay", 0.0,
                        "schedule", "warmup-cosine:warmup=2.67%", "batch-size", 16),
                ModelRecipes.forModel("mlp"));
        assertEquals(3, ModelRecipes.forModel("cnn-small").get("epochs"));
        assertEquals(5, ModelRecipes.forModel("mobilenet-tiny").get("epochs"));
        assertEquals(NONE, ModelRecipes.forModel("deep-mlp"));
        assertEquals(ModelRecipes.forModel("mlp"), ModelRecipes.forModel(" mlp:hidden1=64 "), "options of the model do not matter");
        assertEquals(NONE, ModelRecipes.forModel("resnet"));
    }

    @Test
    void theRecipeFillsWhatTheUserLeftOut() {
        TrainConfig c = TrainConfig.layered(NONE, Map.of("model", "mlp"));
        assertEquals(2, c.epochs());
        assertEquals("adamw", c.optimizer());
        assertEquals("warmup-cosine:warmup=2.67%", c.schedule());
        assertEquals(0.001, c.effectiveLr());
        assertEquals(0.0, c.effectiveWeightDecay());
        assertEquals(16, c.batchSize());
        TrainConfig cnn = TrainConfig.layered(NONE, Map.of("model", "cnn-small"));
        assertEquals(0.05, cnn.lr());
        assertEquals(0.9, cnn.momentum());
        assertEquals(5, TrainConfig.layered(NONE, Map.of("model", "mobilenet-tiny")).epochs());
        TrainConfig deep = TrainConfig.layered(NONE, Map.of("model", "deep-mlp:depth=2"));
        assertEquals(TrainConfig.defaults().withOverrides(Map.of("model", "deep-mlp:depth=2")), deep, "no recipe: global defaults");
    }

    @Test
    void noOptionsTrainsCnnSmallWithItsRecipe() {
        TrainConfig c = TrainConfig.layered(NONE, NONE);
        assertEquals("cnn-small", c.model());
        assertEquals(3, c.epochs());
        assertEquals("one-cycle", c.schedule());
        assertEquals("sgd", c.optimizer());
    }

    @Test
    void aFlagBeatsTheRecipe() {
        TrainConfig c = TrainConfig.layered(NONE, Map.of("model", "mlp", "epochs", 1, "schedule", "constant"));
        assertEquals(1, c.epochs());
        assertEquals("constant", c.schedule());
        assertEquals(16, c.batchSize());
    }

    @Test
    void theConfigFileBeatsTheRecipeAndTheFlagsBeatTheFile() {
        TrainConfig c = TrainConfig.layered(Map.of("model", "mlp", "epochs", 4, "batch-size", 32), Map.of("batch-size", 16));
        assertEquals(4, c.epochs(), "file over recipe");
        assertEquals(16, c.batchSize(), "flag over file");
        assertEquals("warmup-cosine:warmup=2.67%", c.schedule(), "recipe where neither says");
        TrainConfig fileModel = TrainConfig.layered(Map.of("model", "mobilenet-tiny"), NONE);
        assertEquals(5, fileModel.epochs(), "the model named in the file picks the recipe");
    }

    @Test
    void anExplicitLrWorksWithTheRecipesOptimizer() {
        TrainConfig c = TrainConfig.layered(NONE, Map.of("model", "cnn-small", "lr", 0.2));
        assertEquals("sgd", c.optimizer());
        assertEquals(0.2, c.effectiveLr());
        assertEquals(0.9, c.momentum());
        TrainConfig same = TrainConfig.layered(NONE, Map.of("model", "cnn-small", "optimizer", "SGD", "nesterov", true));
        assertTrue(same.nesterov(), "the recipe's momentum still applies to its own optimizer");
        assertEquals(0.05, same.lr());
    }

    @Test
    void anotherOptimizerDropsTheRecipesOptimizerSettings() {
        TrainConfig c = TrainConfig.layered(NONE, Map.of("model", "cnn-small", "optimizer", "adamw"));
        assertEquals("adamw", c.optimizer());
        assertEquals(1e-3, c.effectiveLr(), "AdamW's own default, not the SGD recipe's 0.05");
        assertEquals(0.01, c.effectiveWeightDecay());
        assertEquals("one-cycle", c.schedule(), "the rest of the recipe still applies");
        assertEquals(3, c.epochs());
        assertFalse(ModelRecipes.applicable("cnn-small", Map.of("optimizer", "adamw")).containsKey("momentum"));
        TrainConfig sgd = TrainConfig.layered(NONE, Map.of("model", "mlp", "optimizer", "sgd"));
        assertEquals(0.05, sgd.effectiveLr(), "SGD's own default, not the AdamW recipe's 0.001");
        assertEquals(16, sgd.batchSize(), "the rest of the recipe still applies");
        assertFalse(ModelRecipes.applicable("mlp", Map.of("optimizer", "sgd")).containsKey("weight-decay"));
    }

    @Test
    void theMergedMapIsValidatedOnce() {
        // nesterov in the file needs the flag's momentum: valid once merged, invalid half-way
        TrainConfig c = TrainConfig.layered(Map.of("model", "deep-mlp", "nesterov", true, "momentum", 0.0), Map.of("momentum", 0.5));
        assertTrue(c.nesterov());
        assertEquals(0.5, c.momentum());
    }

    @Test
    void describeShowsTheRecipeOnOneLine() {
        assertEquals("epochs=2 optimizer=adamw lr=0.001 weight-decay=0.0 schedule=warmup-cosine:warmup=2.67% batch-size=16",
                ModelRecipes.describe(ModelRecipes.forModel("mlp")));
        assertEquals("none (the global defaults)", ModelRecipes.describe(NONE));
    }
}
