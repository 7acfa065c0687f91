package dev.frugal.trainer.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The options of a spec written {@code NAME:key=value,key=value} (learning-rate schedules, the
 * plateau, the curriculum): split, checked against the keys the spec takes, and read as text,
 * numbers or whole numbers, every error naming what was parsed, the key and the valid form.
 */
public final class KeyValueSpec {
    private final String what;
    private final String usage;
    private final Map<String, String> options;

    private KeyValueSpec(String what, String usage, Map<String, String> options) {
        this.what = what;
        this.usage = usage;
        this.options = options;
    }

    /** The name of {@code spec} (before its colon, or all of it) and the text after the colon ({@code ""} when none). */
    public static String[] nameAndOptions(String spec) {
        String trimmed = spec.strip();
        int colon = trimmed.indexOf(':');
        return colon < 0 ? new String[] {trimmed, ""} : new String[] {trimmed.substring(0, colon).strip(), trimmed.substring(colon + 1)};
    }

    /**
     * Parses {@code key=value,...}.
     *
     * @param what  what is parsed, the start of every message, e.g. {@code plateau} or {@code schedule step}
     * @param text  the options, blank for none
     * @param keys  the keys allowed
     * @param usage the valid form, ending the messages about the form, e.g. {@code expected plateau[:...]}
     * @throws IllegalArgumentException for a part without {@code =}, an unknown key or a key given twice
     */
    public static KeyValueSpec parse(String what, String text, Set<String> keys, String usage) {
        Map<String, String> options = new LinkedHashMap<>();
        if (!text.isBlank()) {
            for (String part : text.split(",", -1)) {
                int eq = part.indexOf('=');
                if (eq < 0) {
                    throw new IllegalArgumentException(what + ": expected key=value, got '" + part.strip() + "'; " + usage);
                }
                String key = part.substring(0, eq).strip();
                if (!keys.contains(key)) {
                    throw new IllegalArgumentException(what + ": unknown key '" + key + "'; " + usage);
                }
                if (options.put(key, part.substring(eq + 1).strip()) != null) {
                    throw new IllegalArgumentException(what + ": key '" + key + "' given twice");
                }
            }
        }
        return new KeyValueSpec(what, usage, options);
    }

    /** Whether {@code key} was given. */
    public boolean has(String key) {
        return options.containsKey(key);
    }

    /** The value of {@code key}, or null when it was not given. */
    public String text(String key) {
        return options.get(key);
    }

    /** The value of {@code key}, or {@code fallback}. */
    public String text(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    /**
     * The value of {@code key} as a number, or {@code fallback} when it was not given.
     *
     * @throws IllegalArgumentException when it is not a number
     */
    public double number(String key, double fallback) {
        String text = options.get(key);
        if (text == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": " + key + " must be a number, got '" + text + "'");
        }
    }

    /**
     * The value of {@code key} as a whole number.
     *
     * @param fallback the value when the key was not given; null makes the key required
     * @param unit what is counted, for the message, e.g. {@code steps}
     * @throws IllegalArgumentException when it is missing (and required) or not a whole number
     */
    public long whole(String key, Long fallback, String unit) {
        String text = options.get(key);
        if (text == null) {
            if (fallback == null) {
                throw new IllegalArgumentException(what + ": missing required key '" + key + "'; " + usage);
            }
            return fallback;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": " + key + " must be a whole number of " + unit + ", got '" + text + "'");
        }
    }
}
