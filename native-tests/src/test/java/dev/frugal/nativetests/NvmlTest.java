package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.nvml.Nvml;
import dev.frugal.cuda.nvml.NvmlDevice;
import dev.frugal.cuda.nvml.NvmlMemory;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.SpinKernel;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * NVML as the trainer's energy and memory report uses it: the CUDA device under test is found in
 * NVML by PCI bus id (NVML numbers GPUs in bus order, CUDA fastest first), its name and memory
 * agree with the driver's, and the total-energy counter is readable and grows while the GPU works.
 * GPUs without the energy counter (older than Volta, some virtual GPUs) skip that part with a
 * reason instead of failing.
 */
@GpuTest(requires = CudaLibrary.NVML)
class NvmlTest {

  @Test
  void cudaDeviceIsFoundByBusIdAndAgreesWithTheDriver(GpuDevice gpu) {
    try (Nvml nvml = Nvml.open()) {
      assertTrue(nvml.driverVersion().matches("\\d+\\.\\d+(\\.\\d+)?"), "driver version '" + nvml.driverVersion() + "'");
      assertTrue(nvml.deviceCount() >= 1, "NVML sees no GPU although CUDA does");
      NvmlDevice device = nvml.deviceForCuda(gpu.device());
      assertEquals(CudaDriver.deviceName(gpu.device()), device.name(), "the GPU NVML matched by PCI bus id");
      NvmlMemory memory = device.memory();
      long cudaTotal = CudaDriver.deviceTotalMemory(gpu.device());
      assertTrue(Math.abs(memory.totalBytes() - cudaTotal) <= cudaTotal / 10, "NVML total " + memory.totalBytes()
          + " vs CUDA total " + cudaTotal);
      assertTrue(memory.usedBytes() > 0, "this process holds a context, so NVML must report memory in use: " + memory);
      assertTrue(memory.freeBytes() <= memory.totalBytes(), memory.toString());
      OptionalInt power = device.powerUsageMilliwatts();
      power.ifPresent(milliwatts -> assertTrue(milliwatts > 0 && milliwatts < 2_000_000, "power draw " + milliwatts + " mW"));
    }
  }

  @Test
  void totalEnergyIsReadableAndIncreasesWhileTheGpuWorks(GpuDevice gpu) throws InterruptedException {
    try (Nvml nvml = Nvml.open(); SpinKernel spin = SpinKernel.load(gpu)) {
      NvmlDevice device = nvml.deviceForCuda(gpu.device());
      OptionalLong before = device.totalEnergyMillijoules();
      assumeTrue(before.isPresent(), gpu + " does not report total energy (nvmlDeviceGetTotalEnergyConsumption is"
          + " NOT_SUPPORTED: Volta or newer with power management is needed); energy reports will be empty there");
      long startNanos = System.nanoTime();
      // The counter updates every 20-100 ms; a second of work is several updates.
      spin.spin(gpu.stream(), 1_000);
      gpu.stream().synchronize();
      long after = device.totalEnergyMillijoules().orElseThrow();
      for (int i = 0; i < 20 && after == before.getAsLong(); i++) {
        Thread.sleep(100);
        after = device.totalEnergyMillijoules().orElseThrow();
      }
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      long joulesTimes1000 = after - before.getAsLong();
      assertTrue(joulesTimes1000 > 0, "energy counter did not move in " + seconds + " s: " + before.getAsLong()
          + " -> " + after + " mJ");
      double watts = joulesTimes1000 / 1000.0 / seconds;
      assertTrue(watts > 1 && watts < 2_000, "average power " + watts + " W over " + seconds + " s is implausible");
    }
  }
}
