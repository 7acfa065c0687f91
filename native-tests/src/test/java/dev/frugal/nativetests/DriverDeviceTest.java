package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.DeviceAttribute;
import dev.frugal.cuda.driver.MemoryInfo;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The driver's entry points every other binding builds on: {@code cuInit}, device queries and
 * attributes, the primary context and which thread it is current on, and {@code cuMemGetInfo}.
 * The checks are facts true of every GPU Frugal supports (sm_75+), so a wrong attribute number or
 * a misread out-parameter shows up as an impossible value.
 */
@GpuTest
class DriverDeviceTest {

  @Test
  void driverReportsAVersionAndTheDeviceUnderTest(GpuDevice gpu) {
    CudaDriver.init();
    int version = CudaDriver.driverVersion();
    assertTrue(version >= 12000, "driver CUDA version " + version + " is older than 12.0, which Frugal needs");
    int count = CudaDriver.deviceCount();
    assertTrue(gpu.ordinal() < count, "device " + gpu.ordinal() + " under test, but the driver sees " + count);
    assertEquals(gpu.device(), CudaDriver.device(gpu.ordinal()), "cuDeviceGet of the ordinal under test");
  }

  @Test
  void attributesDescribeASupportedGpu(GpuDevice gpu) {
    int device = gpu.device();
    assertFalse(CudaDriver.deviceName(device).isBlank(), "cuDeviceGetName");
    int capability = CudaDriver.computeCapability(device);
    assertTrue(capability >= 75 && capability < 200, "compute capability sm_" + capability);
    assertEquals(32, CudaDriver.deviceAttribute(device, DeviceAttribute.WARP_SIZE), "warp size");
    assertEquals(1024, CudaDriver.deviceAttribute(device, DeviceAttribute.MAX_THREADS_PER_BLOCK), "threads per block");
    assertEquals(48 * 1024, CudaDriver.deviceAttribute(device, DeviceAttribute.MAX_SHARED_MEMORY_PER_BLOCK),
        "shared memory per block without opt-in");
    int optIn = CudaDriver.deviceAttribute(device, DeviceAttribute.MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    assertTrue(optIn >= 64 * 1024, "opt-in shared memory per block " + optIn + " (every sm_75+ GPU has >= 64 KiB)");
    int sms = CudaDriver.deviceAttribute(device, DeviceAttribute.MULTIPROCESSOR_COUNT);
    assertTrue(sms > 0 && sms < 1024, "multiprocessor count " + sms);
    assertTrue(CudaDriver.deviceAttribute(device, DeviceAttribute.L2_CACHE_SIZE) > 0, "L2 cache size");
    String pci = CudaDriver.devicePciBusId(device);
    assertTrue(pci.matches("[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\\.[0-9A-Fa-f]"), "PCI bus id '" + pci + "'");
    int bus = Integer.parseInt(pci.split(":")[1], 16);
    assertEquals(bus, CudaDriver.deviceAttribute(device, DeviceAttribute.PCI_BUS_ID), "PCI bus of " + pci);
  }

  @Test
  void memoryInfoMatchesTheDevicesTotal(GpuDevice gpu) {
    MemoryInfo info = CudaDriver.memGetInfo();
    long total = CudaDriver.deviceTotalMemory(gpu.device());
    assertEquals(total, info.totalBytes(), "cuMemGetInfo total vs cuDeviceTotalMem");
    assertTrue(info.freeBytes() > 0 && info.freeBytes() <= info.totalBytes(), "free " + info.freeBytes()
        + " of " + info.totalBytes());
    assertTrue(total >= 1L << 30, "a GPU with less than 1 GiB: " + total);
  }

  @Test
  void primaryContextIsSharedAndCurrentPerThread(GpuDevice gpu) throws Exception {
    assertEquals(gpu.context().handle().address(), CudaDriver.currentContext().address(), "the fixture's context is current on the test thread");
    // A second retain of the same device's primary context is the same CUcontext, as cudart sees it.
    try (CudaContext again = CudaContext.retainPrimary(gpu.ordinal())) {
      assertEquals(gpu.context().handle().address(), again.handle().address(), "primary context is one per device");
    }
    // The current context is per OS thread: a new platform thread starts with none.
    CompletableFuture<long[]> onOtherThread = new CompletableFuture<>();
    Thread thread = Thread.ofPlatform().start(() -> {
      try {
        long before = CudaDriver.currentContext().address();
        gpu.makeCurrent();
        long after = CudaDriver.currentContext().address();
        onOtherThread.complete(new long[] {before, after});
      } catch (Throwable t) {
        onOtherThread.completeExceptionally(t);
      }
    });
    long[] seen = onOtherThread.get(30, TimeUnit.SECONDS);
    thread.join();
    assertEquals(MemorySegment.NULL.address(), seen[0], "a new thread has no current context");
    assertEquals(gpu.context().handle().address(), seen[1], "makeCurrent on the new thread");
    assertNotEquals(0L, seen[1]);
  }
}
