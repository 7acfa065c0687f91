package dev.frugal.trainer.budget;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * An energy estimate where no counter is readable: the CPU's thermal design power times the
 * share of the machine this process keeps busy, {@code tdp * processCpuSeconds / cores}. It
 * assumes the package draws its TDP when every core is busy and nothing when idle, so it is an
 * estimate and labelled so ({@link #source()}).
 */
public final class EstimatedEnergyMeter implements EnergyMeter {
    /** A typical desktop or server CPU package; override with the trainer's {@code tdp-watts}. */
    public static final double DEFAULT_TDP_WATTS = 65;

    private final double tdpWatts;
    private final int cores;
    private final double startCpuSeconds;

    /** An estimate for a CPU of {@code tdpWatts}. */
    public EstimatedEnergyMeter(double tdpWatts) {
        if (!(tdpWatts > 0) || !Double.isFinite(tdpWatts)) {
            throw new IllegalArgumentException("TDP must be a positive number of watts, got " + tdpWatts);
        }
        this.tdpWatts = tdpWatts;
        this.cores = Runtime.getRuntime().availableProcessors();
        this.startCpuSeconds = processCpuSeconds();
    }

    /** CPU seconds this process has used, all threads. */
    static double processCpuSeconds() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long ns = os.getProcessCpuTime();
            if (ns >= 0) {
                return ns / 1e9;
            }
        }
        return 0;
    }

    @Override
    public double joules() {
        return tdpWatts * (processCpuSeconds() - startCpuSeconds) / cores;
    }

    @Override
    public String source() {
        return String.format(Locale.ROOT, "estimate (TDP %.0f W x CPU use of %d cores)", tdpWatts, cores);
    }
}
