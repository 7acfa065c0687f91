package dev.frugal.models.zoo;

/**
 * One integer option of a zoo model, as written in a model spec ({@code deep-mlp:depth=64}).
 *
 * @param name         the key
 * @param defaultValue the value when the spec does not give one
 * @param min          the smallest accepted value
 * @param max          the largest accepted value
 * @param description  what the option changes, for help and error messages
 */
public record ModelOption(String name, int defaultValue, int min, int max, String description) {
    /** Checks that the default lies in {@code [min, max]}. */
    public ModelOption {
        if (min > max || defaultValue < min || defaultValue > max) {
            throw new IllegalArgumentException("option '" + name + "': default " + defaultValue + " must lie in [" + min + ", " + max + "]");
        }
    }

    /** {@code name (default D, MIN..MAX): description}, as listed in errors and help. */
    public String describe() {
        return name + " (default " + defaultValue + ", " + min + ".." + max + "): " + description;
    }
}
