package dev.frugal.trainer.budget;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The nominal fp32 peak of the CPU, to set achieved FLOP/s against: cores x clock x FLOPs per
 * cycle per core, the last from the vector extensions the CPU reports (two fused multiply-add
 * units: 64 with AVX-512, 32 with AVX2 and FMA, else 8). Nominal: turbo, thermal limits and
 * shared vector units (hyperthreads, or AVX-512 executed as two halves) make the real peak
 * differ, so {@code flops_utilisation} is a guide, not a measurement of the silicon.
 */
public final class DevicePeak {
    private DevicePeak() {
    }

    /** The nominal fp32 FLOP/s of this machine's CPU, or -1 when its clock is unknown. */
    public static double cpuFlops() {
        double hz = clockHz();
        if (hz <= 0) {
            return -1;
        }
        return Runtime.getRuntime().availableProcessors() * hz * flopsPerCycle();
    }

    static double clockHz() {
        try {
            Path max = Path.of("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
            if (Files.isReadable(max)) {
                return Long.parseLong(Files.readString(max).strip()) * 1e3;
            }
            for (String line : cpuinfo()) {
                if (line.startsWith("cpu MHz")) {
                    return Double.parseDouble(line.substring(line.indexOf(':') + 1).strip()) * 1e6;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown clock
        }
        return -1;
    }

    static int flopsPerCycle() {
        try {
            for (String line : cpuinfo()) {
                if (line.startsWith("flags")) {
                    List<String> flags = List.of(line.substring(line.indexOf(':') + 1).strip().split("\\s+"));
                    if (flags.contains("avx512f")) {
                        return 64;
                    }
                    if (flags.contains("avx2") && flags.contains("fma")) {
                        return 32;
                    }
                    return 8;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return 8;
    }

    private static List<String> cpuinfo() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo"));
    }
}
