package dev.frugal.trainer.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Each zoo model's default training recipe: the options {@code frugal train} uses for that model
 * unless the user sets them. A run's configuration is built in layers, later ones winning key by
 * key: {@link TrainConfig#defaults()}, then the model's recipe, then the {@code --config} file,
 * then the command-line flags ({@link TrainConfig#layered}). A key the user sets anywhere is never
 * replaced by the recipe.
 *
 * <p>One refinement keeps a recipe from mixing optimizers: a recipe's {@code lr},
 * {@code momentum}, {@code nesterov} and {@code weight-decay} are tuned for its optimizer, so
 * when the user picks another optimizer they are dropped and that optimizer's own defaults apply
 * ({@code --optimizer adamw} alone gets AdamW's learning rate, not the SGD recipe's).
 *
 * <p>The table below is the one place to tune: keys as in configuration files
 * ({@link TrainConfig#keys()}), values as a YAML file would give them. {@code ModelRecipesTest}
 * checks every key and value against {@link TrainConfig} and every model name against the zoo.
 */
public final class ModelRecipes {
    private static final Map<String, Map<String, Object>> RECIPES = table(
            // AdamW, batch 16, warm-up + cosine to 0: this MLP tops out near 0.88 after 2 epochs, and
            // this was the best recipe found, only just at the target (PyTorch 0.8789-0.8819 over 7
            // seeds, mean 0.8803; Frugal 0.8778-0.8814 over 6 seeds, seed 42 0.8814). SGD one-cycle
            // and AdamW at batch 32-128 stay at 0.875-0.880; weight decay makes no difference. The warmup
            // is a share of the run (200 of the 7,500 steps of 2 epochs), so short --steps runs work too.
            "mlp", recipe(
                    "epochs", 2,
                    "optimizer", "adamw",
                    "lr", 0.001,
                    "weight-decay", 0.0,
                    "schedule", "warmup-cosine:warmup=2.67%",
                    "batch-size", 16),
            // SGD + momentum, one-cycle: PyTorch 0.9156-0.9163 over 3 seeds, Frugal 0.9173 (seed 42;
            // 0.9157 and 0.9160 for seeds 42 and 1 before the direct convolutions); the old constant
            // learning rate gave 0.904.
            "cnn-small", recipe(
                    "epochs", 3,
                    "optimizer", "sgd",
                    "lr", 0.05,
                    "momentum", 0.9,
                    "schedule", "one-cycle",
                    "batch-size", 128),
            // SGD + momentum, one-cycle, no augmentation: PyTorch 0.9196-0.9214 over 3 seeds, Frugal
            // 0.9199 (seed 42; 0.9228 before the direct convolutions).
            "mobilenet-tiny", recipe(
                    "epochs", 5,
                    "optimizer", "sgd",
                    "lr", 0.05,
                    "momentum", 0.9,
                    "schedule", "one-cycle",
                    "batch-size", 128),
            // deep-mlp: no recipe, the global defaults
            // A language model on a text file (--data FILE), after nanoGPT's character-level
            // Shakespeare recipe: AdamW at 1e-3 with weight decay 0.1, a short warm-up then cosine
            // decay, gradients clipped to norm 1 (a text run's early stopping watches val_loss). Not
            // yet tuned on Frugal; an epoch is training tokens / (batch * context) steps.
            "tiny-gpt", recipe(
                    "dataset", "text",
                    "epochs", 5,
                    "optimizer", "adamw",
                    "lr", 0.001,
                    "weight-decay", 0.1,
                    "schedule", "warmup-cosine:warmup=5%",
                    "batch-size", 32,
                    "clip-norm", 1.0)
    );

    /** Recipe keys that only make sense together with the recipe's optimizer. */
    static final List<String> OPTIMIZER_KEYS = List.of("lr", "momentum", "nesterov", "weight-decay");

    private ModelRecipes() {
    }

    /**
     * Every recipe.
     *
     * @return model name to its recipe (key to value, in table order); unmodifiable
     */
    public static Map<String, Map<String, Object>> all() {
        return RECIPES;
    }

    /**
     * The recipe of a model.
     *
     * @param modelSpec a model name or spec ({@code NAME[:key=value,...]}); only the name counts
     * @return the recipe, key to value in table order; empty for a model without one (or an
     *     unknown model, which the zoo rejects later with the list of valid ones)
     */
    public static Map<String, Object> forModel(String modelSpec) {
        if (modelSpec == null) {
            return Map.of();
        }
        String spec = modelSpec.strip();
        int colon = spec.indexOf(':');
        String name = colon < 0 ? spec : spec.substring(0, colon).strip();
        return RECIPES.getOrDefault(name, Map.of());
    }

    /**
     * The recipe options that apply under the user's own options: the model's recipe without the
     * keys the user set, and without the optimizer-specific keys when the user chose another
     * optimizer than the recipe's.
     *
     * @param modelSpec the model the run trains
     * @param user the options from the configuration file and the flags, merged
     * @return the recipe's remaining options, key to value
     */
    public static Map<String, Object> applicable(String modelSpec, Map<String, ?> user) {
        Map<String, Object> recipe = forModel(modelSpec);
        Map<String, Object> out = new LinkedHashMap<>();
        String recipeOptimizer = normaliseOptimizer(recipe.getOrDefault("optimizer", TrainConfig.defaults().optimizer()));
        boolean otherOptimizer = user.containsKey("optimizer")
                && !normaliseOptimizer(user.get("optimizer")).equals(recipeOptimizer);
        for (Map.Entry<String, Object> e : recipe.entrySet()) {
            if (user.containsKey(e.getKey()) || (otherOptimizer && OPTIMIZER_KEYS.contains(e.getKey()))) {
                continue;
            }
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /**
     * A recipe as one line, for {@code frugal models}.
     *
     * @param recipe a recipe from {@link #all()} or {@link #forModel}
     * @return {@code key=value} pairs separated by spaces, or a note that the global defaults apply
     */
    public static String describe(Map<String, Object> recipe) {
        if (recipe.isEmpty()) {
            return "none (the global defaults)";
        }
        StringBuilder b = new StringBuilder();
        recipe.forEach((k, v) -> b.append(b.isEmpty() ? "" : " ").append(k).append('=').append(v));
        return b.toString();
    }

    private static String normaliseOptimizer(Object optimizer) {
        return String.valueOf(optimizer).strip().toLowerCase(Locale.ROOT);
    }

    /** An unmodifiable, ordered recipe from alternating keys and values. */
    private static Map<String, Object> recipe(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }

    /** An unmodifiable, ordered table from alternating model names and recipes. */
    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> table(Object... namesAndRecipes) {
        Map<String, Map<String, Object>> m = new LinkedHashMap<>();
        for (int i = 0; i < namesAndRecipes.length; i += 2) {
            m.put((String) namesAndRecipes[i], (Map<String, Object>) namesAndRecipes[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }
}
