package dev.frugal.memory;

import java.util.Locale;

/** Human-readable byte counts for messages and statistics ({@code "20.0 MiB"}). */
final class ByteFormat {

    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private ByteFormat() {
    }

    /** @return e.g. {@code "512 B"}, {@code "1.5 MiB"} */
    static String format(long bytes) {
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
    static String exact(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "unlimited";
        }
        return bytes < 1024 ? bytes + " bytes" : format(bytes) + " (" + bytes + " bytes)";
    }
}
