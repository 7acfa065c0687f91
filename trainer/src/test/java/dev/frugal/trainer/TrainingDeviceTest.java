package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.CudaDiscovery;
import dev.frugal.runtime.Device;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class TrainingDeviceTest {
    @Test
    void cpuIsTheHostWithoutAGpuExecutor() {
        try (TrainingDevice d = TrainingDevice.open("cpu", -1, line -> { })) {
            assertEquals(Device.CPU, d.device());
            assertFalse(d.isCuda());
            assertNull(d.gpuExecutor());
            assertNull(d.note());
            assertEquals("cpu", d.describe());
        }
    }

    @Test
    void unknownDevicesAreRefusedNamingTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingDevice.open("tpu", -1, line -> { }));
        assertTrue(e.getMessage().contains("--device tpu") && e.getMessage().contains("auto, cpu, cuda or cuda:N"), e.getMessage());
    }

    @Test
    void withoutAGpuAutoFallsBackToTheCpuAndSaysWhy() {
        Assumptions.assumeTrue(CudaDiscovery.report().devices().isEmpty(), "this machine has a GPU: auto would use it");
        List<String> said = new ArrayList<>();
        try (TrainingDevice d = TrainingDevice.open("auto", -1, said::add)) {
            assertEquals(Device.CPU, d.device());
            assertTrue(d.note().startsWith("auto: "), d.note());
        }
        assertEquals(1, said.size());
        assertTrue(said.get(0).startsWith("device: cpu (auto: "), said.get(0));
    }

    @Test
    void withoutAGpuAnExplicitCudaDeviceIsAClearError() {
        Assumptions.assumeTrue(CudaDiscovery.report().devices().isEmpty(), "this machine has a GPU");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingDevice.open("cuda:0", -1, line -> { }));
        assertTrue(e.getMessage().startsWith("--device cuda:0: cannot open the GPU: "), e.getMessage());
        assertTrue(e.getMessage().contains("frugal devices"), e.getMessage());
    }
}
