package dev.frugal.trainer.budget;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measures what one stretch of training spends, on top of what the run had spent before it (a
 * resumed run's checkpoint, an earlier fit): wall time, device time (the process's CPU time on the
 * CPU, the steps' CUDA-event time on a GPU), energy ({@link EnergyMeter}) and the process's resident memory (Linux
 * {@code /proc/self/status}: {@code VmRSS} now, {@code VmHWM} its peak).
 */
public final class ResourceMeter {
    private static final Path STATUS = Path.of("/proc/self/status");

    private final EnergyMeter energy;
    private final long startNanos = System.nanoTime();
    private final java.util.function.DoubleSupplier deviceClock;
    private final double startDeviceSeconds;
    private final double startJoules;
    private final double wallBefore;
    private final double deviceBefore;
    private final double energyBefore;

    /**
     * A meter starting now.
     *
     * @param energy        the energy source (its count may have started earlier; only the increase counts)
     * @param wallBefore    wall seconds the run had spent before
     * @param deviceBefore  device seconds the run had spent before
     * @param energyBefore  joules the run had spent before
     */
    public ResourceMeter(EnergyMeter energy, double wallBefore, double deviceBefore, double energyBefore) {
        this(energy, wallBefore, deviceBefore, energyBefore, EstimatedEnergyMeter::processCpuSeconds);
    }

    /**
     * A meter starting now whose device time is read from {@code deviceClock} (seconds, only its
     * increase counts), e.g. GPU time measured with CUDA events.
     */
    public ResourceMeter(EnergyMeter energy, double wallBefore, double deviceBefore, double energyBefore,
                         java.util.function.DoubleSupplier deviceClock) {
        this.deviceClock = deviceClock;
        this.startDeviceSeconds = deviceClock.getAsDouble();
        this.energy = energy;
        this.startJoules = energy.joules();
        this.wallBefore = wallBefore;
        this.deviceBefore = deviceBefore;
        this.energyBefore = energyBefore;
    }

    /** The energy source, as {@code summary.json} names it. */
    public String energySource() {
        return energy.source();
    }

    /** What the run has spent so far, with {@code samples} training samples seen. */
    public Usage usage(long samples) {
        long[] mem = residentMemory();
        return new Usage(wallBefore + (System.nanoTime() - startNanos) / 1e9,
                deviceBefore + deviceClock.getAsDouble() - startDeviceSeconds,
                energyBefore + energy.joules() - startJoules, samples, mem[1], mem[0]);
    }

    /** {VmRSS, VmHWM} in bytes, -1 each when unknown. */
    static long[] residentMemory() {
        long rss = -1;
        long hwm = -1;
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    rss = kib(line);
                } else if (line.startsWith("VmHWM:")) {
                    hwm = kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc is hidden: memory stays unknown
        }
        return new long[] {rss, hwm};
    }

    private static long kib(String line) {
        String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
        return Long.parseLong(parts[0]) * 1024;
    }
}
