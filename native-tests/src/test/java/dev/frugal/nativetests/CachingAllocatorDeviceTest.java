package dev.frugal.nativetests;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.CudaDeviceRawAllocator;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.memory.FrugalOutOfMemoryException;
import dev.frugal.memory.MemoryStats;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The caching allocator on real device memory ({@link CudaDeviceRawAllocator}): its blocks are
 * usable device pointers of the promised size, freed blocks are reused without touching the
 * driver, {@code emptyCache} gives segments back to the GPU, and a memory limit makes an 80 GB GPU
 * refuse what a small one would, with the report a user needs. The algorithm itself is tested on
 * host memory in {@code memory/}; this checks the adapter and the accounting against the driver.
 */
@GpuTest
class CachingAllocatorDeviceTest {
  private static final long MIB = 1L << 20;

  @Test
  void blocksAreDeviceMemoryAndAreReusedFromTheCache(GpuDevice gpu) {
    try (CudaDeviceRawAllocator raw = new CudaDeviceRawAllocator(gpu.context());
         CachingAllocator allocator = new CachingAllocator(raw, config(gpu))) {
      Allocation small = allocator.allocate(1000, "small");
      assertEquals(1024, small.size(), "requests round up to 512 bytes");
      assertWritable(small.address(), small.size());
      long address = small.address();
      small.close();
      Allocation again = allocator.allocate(900, "small again");
      assertEquals(address, again.address(), "a freed block on the same stream is reused at once");

      Allocation large = allocator.allocate(30 * MIB, "large");
      assertWritable(large.address(), large.size());
      MemoryStats stats = allocator.snapshot();
      assertEquals(2, stats.rawAllocations(), "one small (2 MiB) and one large segment: " + stats);
      assertEquals(1, stats.cacheHits(), stats.toString());
      assertEquals(2 * MIB + 30 * MIB, stats.reservedBytes(), "2 MiB small segment + 30 MiB rounded large: " + stats);

      long freeBefore = CudaDriver.memGetInfo().freeBytes();
      again.close();
      large.close();
      assertEquals(stats.reservedBytes(), allocator.snapshot().reservedBytes(), "freeing keeps segments cached");
      allocator.emptyCache();
      MemoryStats emptied = allocator.snapshot();
      assertEquals(0, emptied.reservedBytes(), emptied.toString());
      assertEquals(emptied.rawAllocations(), emptied.rawFrees(), emptied.toString());
      long freeAfter = CudaDriver.memGetInfo().freeBytes();
      assertTrue(freeAfter - freeBefore >= 16 * MIB, "emptyCache must give memory back to the GPU: free went from "
          + freeBefore + " to " + freeAfter);
    }
  }

  @Test
  void memoryLimitMakesABigGpuBehaveLikeASmallOne(GpuDevice gpu) {
    long limit = 64 * MIB;
    long free = CudaDriver.memGetInfo().freeBytes();
    assertTrue(free > 1L << 30, "the test needs > 1 GiB free so the limit, not the GPU, refuses; free: " + free);
    try (CudaDeviceRawAllocator raw = new CudaDeviceRawAllocator(gpu.context());
         CachingAllocator allocator = new CachingAllocator(raw, config(gpu).withMemoryLimit(limit))) {
      Allocation activations = allocator.allocate(40 * MIB, "activations");
      FrugalOutOfMemoryException error = assertThrows(FrugalOutOfMemoryException.class,
          () -> allocator.allocate(40 * MIB, "weights"));
      String message = error.getMessage();
      assertEquals(40 * MIB, error.requestedBytes());
      assertEquals(limit, error.memoryLimit());
      assertEquals(40 * MIB, error.reservedBytes());
      assertEquals(40 * MIB, error.allocatedBytes());
      assertEquals("activations", error.largestTags().get(0).tag(), message);
      assertTrue(message.startsWith("Frugal out of memory: tried to allocate 40.0 MiB (" + 40 * MIB + " bytes) for weights"),
          message);
      assertTrue(message.contains("CUDA device " + gpu.device()), "names the device memory source: " + message);
      assertTrue(message.contains("memory limit:       64.0 MiB (" + limit + " bytes)"), message);
      assertTrue(message.contains("would exceed the memory limit"), message);
      assertTrue(message.contains("activations"), message);
      assertEquals(1, allocator.snapshot().outOfMemoryErrors());

      // After an OOM the allocator is intact: freeing makes room within the same limit.
      activations.close();
      try (Allocation weights = allocator.allocate(40 * MIB, "weights")) {
        assertWritable(weights.address(), weights.size());
        assertTrue(allocator.snapshot().reservedBytes() <= limit, allocator.snapshot().toString());
      }
    }
  }

  private static AllocatorConfig config(GpuDevice gpu) {
    return AllocatorConfig.defaults().withDefaultStream(new CudaMemoryStream(gpu.stream()));
  }

  /** Writes a pattern to the first and last (up to) 4 KiB of a device block and reads it back. */
  static void assertWritable(long address, long size) {
    long bytes = Math.min(4096, size);
    int words = (int) (bytes / 4);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment pattern = arena.allocate(JAVA_INT, words);
      for (int i = 0; i < words; i++) {
        pattern.setAtIndex(JAVA_INT, i, i * 7919 + (int) size);
      }
      MemorySegment back = arena.allocate(JAVA_INT, words);
      for (long offset : new long[] {0, size - bytes}) {
        CudaDriver.memcpyHtoD(address + offset, pattern, bytes);
        CudaDriver.memcpyDtoH(back, address + offset, bytes);
        assertArrayEquals(pattern.toArray(JAVA_INT), back.toArray(JAVA_INT),
            "device block 0x" + Long.toHexString(address) + " at offset " + offset + " of " + size);
      }
    }
  }
}
