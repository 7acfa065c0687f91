package dev.frugal.models.zoo;

/**
 * One integer option of a zoo model, as written in a model spec ({@code deep-mlp:depth=64}).
 *
 * @param name         the key
 * @param defaultValue the value when the spec does not give one
 * @param min          the smallest accepted value
 * @param max          the largest accepted value
 * @param description  what the option changes, for help and error messages
 * @param derived      whether its default, 0, means "computed from the other options" (mobilenet-tiny's
 *                     {@code block1}, deep-mlp's {@code hidden}): a spec's canonical text leaves such an
 *                     option out while it is 0, so adding one does not change the text of existing specs
 */
public record ModelOption(String name, int defaultValue, int min, int max, String description, boolean derived) {
    /** Checks that the default lies in {@code [min, max]}, and is 0 for a derived option. */
    public ModelOption {
        if (min > max || defaultValue < min || defaultValue > max) {
            throw new IllegalArgumentException("option '" + name + "': default " + defaultValue + " must lie in [" + min + ", " + max + "]");
        }
        if (derived && (defaultValue != 0 || min != 0)) {
            throw new IllegalArgumentException("derived option '" + name + "': its default and minimum must be 0 (computed from the other options)");
        }
    }

    /** An option with its own default. */
    public ModelOption(String name, int defaultValue, int min, int max, String description) {
        this(name, defaultValue, min, max, description, false);
    }

    /** An option whose default, 0, is computed from the other options ({@code description} says how). */
    public static ModelOption derived(String name, int max, String description) {
        return new ModelOption(name, 0, 0, max, description, true);
    }

    /** {@code name (default D, MIN..MAX): description}, as listed in errors and help. */
    public String describe() {
        return name + " (default " + defaultValue + ", " + min + ".." + max + "): " + description;
    }
}
