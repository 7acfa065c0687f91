package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.CudaDeviceRawAllocator;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.SpinKernel;
import org.junit.jupiter.api.Test;

/**
 * A block freed while another stream still uses it ({@code recordStream}) must not be handed out
 * again until a real CUDA event recorded on that stream has completed: otherwise the next owner
 * overwrites memory a queued kernel still reads. {@link SpinKernel} keeps the other stream busy
 * for 300 ms, so "still in use" is certain when the test allocates.
 */
@GpuTest
class CrossStreamFreeDeviceTest {
  private static final long SIZE = 4L << 20;

  @Test
  void blockUsedOnAnotherStreamWaitsForThatStreamsEvent(GpuDevice gpu) {
    CudaMemoryStream own = new CudaMemoryStream(gpu.stream());
    try (SpinKernel spin = SpinKernel.load(gpu);
         CudaStream otherStream = CudaStream.create();
         CudaDeviceRawAllocator raw = new CudaDeviceRawAllocator(gpu.context());
         CachingAllocator allocator = new CachingAllocator(raw, AllocatorConfig.defaults().withDefaultStream(own))) {
      CudaMemoryStream other = new CudaMemoryStream(otherStream);
      Allocation shared = allocator.allocate(SIZE, own, "shared");
      long address = shared.address();
      allocator.recordStream(shared, other);
      spin.spin(otherStream, 300);
      shared.close();
      assertEquals(SIZE, allocator.snapshot().activeBytes(), "a pending free still counts as active");

      Allocation whileBusy = allocator.allocate(SIZE, own, "while busy");
      assertNotEquals(address, whileBusy.address(), "block handed out while the other stream still used it");
      whileBusy.close();

      otherStream.synchronize();
      try (Allocation afterwards = allocator.allocate(SIZE, own, "afterwards")) {
        assertEquals(address, afterwards.address(), "once the event completed, the block is reused (best fit, lowest"
            + " address); stats: " + allocator.snapshot());
      }
      assertEquals(1, allocator.snapshot().rawAllocations(), "all three fit in one cached segment");
      assertTrue(allocator.snapshot().cacheHits() >= 2, allocator.snapshot().toString());
    }
  }
}
