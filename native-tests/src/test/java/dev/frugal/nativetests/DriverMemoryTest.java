package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.CudaOutOfMemoryException;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.MemoryInfo;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.RandomArrays;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Synchronous device memory: {@code cuMemAlloc_v2}/{@code cuMemFree_v2} (and that freed memory
 * really goes back), {@code cuMemsetD8_v2}, host/device and device/device copies, and the
 * out-of-memory error an impossible request gets.
 */
@GpuTest
class DriverMemoryTest {

  @Test
  void allocationIsAlignedAndFreeingGivesTheMemoryBack(GpuDevice gpu) {
    long size = 256L << 20;
    long freeBefore = CudaDriver.memGetInfo().freeBytes();
    long pointer = CudaDriver.memAlloc(size);
    try {
      assertEquals(0, pointer % 256, "cuMemAlloc guarantees 256-byte alignment, got 0x" + Long.toHexString(pointer));
      long freeDuring = CudaDriver.memGetInfo().freeBytes();
      // Other processes may use the GPU too, so allow slack, but 256 MiB must show.
      assertTrue(freeBefore - freeDuring >= size / 2, "free memory went from " + freeBefore + " to " + freeDuring
          + " after allocating " + size);
    } finally {
      CudaDriver.memFree(pointer);
    }
    long freeAfter = CudaDriver.memGetInfo().freeBytes();
    assertTrue(freeAfter >= freeBefore - size / 2, "free memory " + freeAfter + " did not come back to about "
        + freeBefore + " after cuMemFree");
  }

  @Test
  void memsetFillsEveryByteAndOnlyThoseAsked(GpuDevice gpu) {
    try (DeviceArray array = DeviceArray.allocate(4096)) {
      CudaDriver.memsetD8(array.pointer(), (byte) 0x11, 4096);
      CudaDriver.memsetD8(array.pointer() + 100, (byte) 0xA5, 1000);
      byte[] bytes = array.rawBytes(4096);
      for (int i = 0; i < bytes.length; i++) {
        byte expected = i >= 100 && i < 1100 ? (byte) 0xA5 : (byte) 0x11;
        assertEquals(expected, bytes[i], "byte " + i);
      }
    }
  }

  @Test
  void hostToDeviceToDeviceToHostRoundTrip(GpuDevice gpu) {
    float[] values = RandomArrays.uniform(11, 100_003);
    try (DeviceArray first = DeviceArray.of(values);
         DeviceArray second = DeviceArray.allocate(first.bytes())) {
      CudaDriver.memcpyDtoD(second.pointer(), first.pointer(), first.bytes());
      assertArrayEquals(values, second.floats(values.length), "HtoD, DtoD, DtoH must be bit-exact");
      // Copy into the middle to check offsets are honoured, not just whole buffers.
      CudaDriver.memcpyDtoD(second.pointer() + 4L * 10, first.pointer() + 4L * 20, 4L * 5);
      float[] expected = values.clone();
      System.arraycopy(values, 20, expected, 10, 5);
      assertArrayEquals(expected, second.floats(values.length), "DtoD with offsets");
    }
  }

  @Test
  void impossibleAllocationThrowsOutOfMemoryNamingTheCall(GpuDevice gpu) {
    MemoryInfo info = CudaDriver.memGetInfo();
    long tooMuch = info.totalBytes() * 4;
    CudaOutOfMemoryException error = assertThrows(CudaOutOfMemoryException.class, () -> CudaDriver.memAlloc(tooMuch));
    assertTrue(error.getMessage().contains("cuMemAlloc_v2"), error.getMessage());
    assertTrue(error.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), error.getMessage());
    assertTrue(error.getMessage().contains(Long.toString(tooMuch)), "message names the size: " + error.getMessage());
    // The failed call must leave the context usable.
    try (DeviceArray small = DeviceArray.of(new float[] {1, 2, 3})) {
      assertEquals(Arrays.toString(new float[] {1, 2, 3}), Arrays.toString(small.floats(3)));
    }
  }
}
