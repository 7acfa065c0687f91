package dev.frugal.trainer.budget;

import java.nio.file.Path;

/**
 * Cumulative energy the training device has drawn since the meter started. Implementations: the
 * Linux powercap/RAPL counters where readable ({@link RaplEnergyMeter}), otherwise an estimate
 * from the CPU's thermal design power and its measured use ({@link EstimatedEnergyMeter}); on a
 * GPU, NVML's total energy (with the CUDA backend).
 */
public interface EnergyMeter {
    /** Joules drawn since this meter was made. */
    double joules();

    /** What the figure comes from, as {@code summary.json}'s {@code energy_source} says it, e.g. {@code rapl}. */
    String source();

    /**
     * The meter for training on the CPU: RAPL when its counters are readable under
     * {@code powercapRoot} (normally {@code /sys/class/powercap}), else an estimate from
     * {@code tdpWatts} scaled by the process's CPU use; {@code why} receives, once, the reason
     * the estimate is used.
     */
    static EnergyMeter forCpu(Path powercapRoot, double tdpWatts, java.util.function.Consumer<String> why) {
        try {
            return RaplEnergyMeter.open(powercapRoot);
        } catch (java.io.IOException | RuntimeException e) {
            why.accept("energy: the RAPL counters under " + powercapRoot + " are not readable (" + e.getMessage()
                    + "); using an estimate from a TDP of " + tdpWatts + " W scaled by the process's CPU use");
            return new EstimatedEnergyMeter(tdpWatts);
        }
    }
}
