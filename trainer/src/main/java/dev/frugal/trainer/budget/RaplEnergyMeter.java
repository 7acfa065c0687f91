package dev.frugal.trainer.budget;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Energy from the Linux powercap interface's RAPL package domains
 * ({@code /sys/class/powercap/intel-rapl:N/energy_uj}, also used for AMD): the sum over packages
 * of the counters' increase, each counter's wrap-around at {@code max_energy_range_uj} undone.
 * Sub-domains ({@code intel-rapl:N:M}) are parts of their package and are not added again.
 */
public final class RaplEnergyMeter implements EnergyMeter {
    private final List<Path> counters;
    private final long[] ranges;
    private final long[] last;
    private final double[] total;

    private RaplEnergyMeter(List<Path> counters, long[] ranges) throws IOException {
        this.counters = counters;
        this.ranges = ranges;
        this.last = new long[counters.size()];
        this.total = new double[counters.size()];
        for (int i = 0; i < counters.size(); i++) {
            last[i] = read(counters.get(i));
        }
    }

    /**
     * Opens every package domain under {@code root}.
     *
     * @throws IOException when there is none, or one cannot be read (often: only root may read them)
     */
    public static RaplEnergyMeter open(Path root) throws IOException {
        List<Path> counters = new ArrayList<>();
        List<Long> ranges = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            throw new IOException(root + " does not exist");
        }
        try (Stream<Path> s = Files.list(root)) {
            for (Path d : s.sorted().toList()) {
                String name = d.getFileName().toString();
                // packages are intel-rapl:N; intel-rapl:N:M are their sub-domains
                if (name.matches("intel-rapl:\\d+") && Files.exists(d.resolve("energy_uj"))) {
                    counters.add(d.resolve("energy_uj"));
                    Path range = d.resolve("max_energy_range_uj");
                    ranges.add(Files.exists(range) ? read(range) : Long.MAX_VALUE);
                }
            }
        }
        if (counters.isEmpty()) {
            throw new IOException("no RAPL package domain (intel-rapl:N/energy_uj) under " + root);
        }
        return new RaplEnergyMeter(counters, ranges.stream().mapToLong(Long::longValue).toArray());
    }

    private static long read(Path file) throws IOException {
        try {
            return Long.parseLong(Files.readString(file).strip());
        } catch (NumberFormatException e) {
            throw new IOException(file + " does not hold a number: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized double joules() {
        double sum = 0;
        for (int i = 0; i < counters.size(); i++) {
            long now;
            try {
                now = read(counters.get(i));
            } catch (IOException e) {
                throw new UncheckedIOException("energy counter " + counters.get(i) + " became unreadable: " + e.getMessage(), e);
            }
            long delta = now - last[i];
            if (delta < 0) {
                delta += ranges[i]; // the counter wrapped
            }
            total[i] += delta * 1e-6;
            last[i] = now;
            sum += total[i];
        }
        return sum;
    }

    @Override
    public String source() {
        return "rapl";
    }
}
