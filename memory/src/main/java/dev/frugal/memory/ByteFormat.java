package dev.frugal.memory;

import java.util.Locale;

/**
 * Byte counts for people: formatted for messages and statistics ({@code "20.0 MiB"}) and parsed
 * from options ({@code --memory-budget 2GiB}).
 */
public final class ByteFormat {

    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private ByteFormat() {
    }

    /** @return e.g. {@code "512 B"}, {@code "1.5 MiB"} */
    public static String format(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "unlimited";
        }
        long magnitude = Math.abs(bytes);
        if (magnitude < 1024) {
            return bytes + " B";
        }
        int unit = 0;
        double value = bytes;
        while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, UNITS[unit]);
    }

    /** @return e.g. {@code "1.5 MiB (1572864 bytes)"}: readable, and exact for tests and logs */
    public static String exact(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "unlimited";
        }
        return bytes < 1024 ? bytes + " bytes" : format(bytes) + " (" + bytes + " bytes)";
    }

    /**
     * Parses a size: a non-negative number with an optional unit, binary ({@code KiB MiB GiB TiB},
     * also {@code K M G T}) or decimal ({@code kB MB GB TB}), or {@code B}; case and spaces between
     * number and unit do not matter, e.g. {@code 2GiB}, {@code 1.5 MiB}, {@code 500MB}, {@code 4096}.
     *
     * @param text the size
     * @return bytes, rounded down to a whole byte
     * @throws IllegalArgumentException naming the text and the accepted forms when it is not a size
     */
    public static long parse(String text) {
        String t = text == null ? "" : text.strip();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)([0-9]+(?:\\.[0-9]+)?)\\s*([a-z]*)").matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size: expected a number with an optional unit, e.g. 2GiB, 512MiB, 1.5GB or 1048576");
        }
        double value = Double.parseDouble(m.group(1));
        long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw new IllegalArgumentException("'" + text + "': unknown size unit '" + m.group(2)
                    + "'; expected B, KiB, MiB, GiB, TiB (or K, M, G, T) or kB, MB, GB, TB");
        };
        double bytes = value * unit;
        if (bytes >= Long.MAX_VALUE) {
            throw new IllegalArgumentException("'" + text + "' is too large a size");
        }
        return (long) bytes;
    }
}
