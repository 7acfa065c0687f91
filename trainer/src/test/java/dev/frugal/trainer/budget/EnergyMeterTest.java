package dev.frugal.trainer.budget;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RAPL counters (a fake powercap tree), their wrap-around, and the labelled estimate when none is readable. */
class EnergyMeterTest {
    private static void write(Path file, long value) throws IOException {
        Files.writeString(file, value + "\n");
    }

    @Test
    void raplSumsPackagesAndUndoesTheWrapAround(@TempDir Path root) throws IOException {
        Path p0 = Files.createDirectories(root.resolve("intel-rapl:0"));
        Path p1 = Files.createDirectories(root.resolve("intel-rapl:1"));
        Path sub = Files.createDirectories(root.resolve("intel-rapl:0:0")); // a part of package 0: not added again
        write(p0.resolve("energy_uj"), 1_000_000);
        write(p0.resolve("max_energy_range_uj"), 10_000_000);
        write(p1.resolve("energy_uj"), 5_000_000);
        write(sub.resolve("energy_uj"), 123);
        EnergyMeter m = EnergyMeter.forCpu(root, 65, why -> { throw new AssertionError(why); });
        assertInstanceOf(RaplEnergyMeter.class, m);
        assertEquals("rapl", m.source());
        assertEquals(0, m.joules(), 1e-12);
        write(p0.resolve("energy_uj"), 3_000_000); // +2 J
        write(p1.resolve("energy_uj"), 5_500_000); // +0.5 J
        write(sub.resolve("energy_uj"), 999_999);
        assertEquals(2.5, m.joules(), 1e-9);
        write(p0.resolve("energy_uj"), 500_000); // wrapped: +7.5 J (to 10 J, then 0.5)
        assertEquals(10.0, m.joules(), 1e-9);
    }

    @Test
    void unreadableCountersFallBackToTheLabelledEstimateAndSaySoOnce(@TempDir Path root) {
        List<String> said = new ArrayList<>();
        EnergyMeter m = EnergyMeter.forCpu(root.resolve("missing"), 95, said::add);
        assertInstanceOf(EstimatedEnergyMeter.class, m);
        assertEquals(1, said.size());
        assertTrue(said.getFirst().contains("not readable") && said.getFirst().contains("95.0 W"), said.getFirst());
        assertTrue(m.source().startsWith("estimate (TDP 95 W"), m.source());
        // busy for a moment: the estimate grows with the CPU time used
        double before = m.joules();
        long sink = 0;
        long end = System.nanoTime() + 50_000_000;
        while (System.nanoTime() < end) {
            sink += sink * 31 + 7;
        }
        assertTrue(m.joules() > before || sink == 42, "energy grows with CPU use");
        assertThrows(IllegalArgumentException.class, () -> new EstimatedEnergyMeter(0));
    }

    @Test
    void aCounterThatIsNotANumberIsRefused(@TempDir Path root) throws IOException {
        Path p0 = Files.createDirectories(root.resolve("intel-rapl:0"));
        Files.writeString(p0.resolve("energy_uj"), "permission denied\n");
        IOException e = assertThrows(IOException.class, () -> RaplEnergyMeter.open(root));
        assertTrue(e.getMessage().contains("energy_uj"), e.getMessage());
    }
}
