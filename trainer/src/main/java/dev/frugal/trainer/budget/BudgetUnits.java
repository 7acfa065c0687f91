package dev.frugal.trainer.budget;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations and energies for people: parsed from options ({@code 1h30m}, {@code 50kJ}) and formatted for messages. */
public final class BudgetUnits {
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|min|h|m|s)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern ENERGY = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(j|kj|mj|gj|wh|kwh)?", Pattern.CASE_INSENSITIVE);

    private BudgetUnits() {
    }

    /**
     * Parses a duration: one or more number-unit parts, units {@code h}, {@code m} (or {@code
     * min}), {@code s}, {@code ms}; a bare number is seconds. E.g. {@code 10m}, {@code 1h30m},
     * {@code 90}, {@code 2.5m}.
     *
     * @param option the option's name, for the message
     * @return seconds, positive
     * @throws IllegalArgumentException naming the option, the text and the accepted forms
     */
    public static double parseDuration(String option, String text) {
        String t = text == null ? "" : text.strip();
        Matcher m = DURATION_PART.matcher(t);
        double seconds = 0;
        int at = 0;
        boolean any = false;
        while (at < t.length()) {
            if (!m.find(at) || m.start() != at) {
                throw badDuration(option, text);
            }
            double value = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
            seconds += switch (unit) {
                case "h" -> value * 3600;
                case "m", "min" -> value * 60;
                case "ms" -> value / 1000;
                default -> value;
            };
            at = m.end();
            while (at < t.length() && t.charAt(at) == ' ') {
                at++;
            }
            any = true;
        }
        if (!any) {
            throw badDuration(option, text);
        }
        if (!(seconds > 0)) {
            throw new IllegalArgumentException(option + " must be longer than 0 seconds, got '" + text + "'");
        }
        return seconds;
    }

    private static IllegalArgumentException badDuration(String option, String text) {
        return new IllegalArgumentException(option + ": '" + text + "' is not a duration; expected e.g. 90s, 10m, 1h30m or 2.5m"
                + " (units h, m, s, ms; a bare number is seconds)");
    }

    /**
     * Parses an energy: a number with unit {@code J}, {@code kJ}, {@code MJ}, {@code GJ}, {@code Wh}
     * or {@code kWh} (case does not matter); a bare number is joules. E.g. {@code 50kJ}, {@code 0.2kWh}.
     *
     * @param option the option's name, for the message
     * @return joules, positive
     * @throws IllegalArgumentException naming the option, the text and the accepted forms
     */
    public static double parseEnergy(String option, String text) {
        String t = text == null ? "" : text.strip();
        Matcher m = ENERGY.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException(option + ": '" + text + "' is not an energy; expected e.g. 50kJ, 300J, 1.5MJ or 0.2kWh"
                    + " (units J, kJ, MJ, GJ, Wh, kWh; a bare number is joules)");
        }
        double value = Double.parseDouble(m.group(1));
        double joules = switch (m.group(2) == null ? "j" : m.group(2).toLowerCase(Locale.ROOT)) {
            case "kj" -> value * 1e3;
            case "mj" -> value * 1e6;
            case "gj" -> value * 1e9;
            case "wh" -> value * 3600;
            case "kwh" -> value * 3.6e6;
            default -> value;
        };
        if (!(joules > 0)) {
            throw new IllegalArgumentException(option + " must be more than 0 joules, got '" + text + "'");
        }
        return joules;
    }

    /** e.g. {@code 1h2m3s}, {@code 2m0s}, {@code 4.2s}. */
    public static String formatDuration(double seconds) {
        if (seconds < 60) {
            return String.format(Locale.ROOT, "%.1fs", seconds);
        }
        long s = Math.round(seconds);
        long h = s / 3600;
        long m = (s % 3600) / 60;
        return (h > 0 ? h + "h" : "") + m + "m" + (s % 60) + "s";
    }

    /** e.g. {@code 512 J}, {@code 50.0 kJ}, {@code 1.20 MJ}. */
    public static String formatEnergy(double joules) {
        if (joules < 1e3) {
            return String.format(Locale.ROOT, "%.0f J", joules);
        }
        if (joules < 1e6) {
            return String.format(Locale.ROOT, "%.1f kJ", joules / 1e3);
        }
        return String.format(Locale.ROOT, "%.2f MJ", joules / 1e6);
    }
}
