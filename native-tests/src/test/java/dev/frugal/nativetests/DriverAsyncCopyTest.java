package dev.frugal.nativetests;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.RandomArrays;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Stream-ordered copies and fills through page-locked host memory ({@code cuMemHostAlloc}): the
 * path every real upload and download takes. The values prove each call moved the right bytes;
 * the order of calls on one stream is what makes the final read correct without intermediate
 * synchronisation.
 */
@GpuTest
class DriverAsyncCopyTest {
  private static final int COUNT = 1 << 20;
  private static final long BYTES = (long) COUNT * Float.BYTES;

  @Test
  void asyncRoundTripThroughPinnedMemoryOnOneStream(GpuDevice gpu) {
    float[] values = RandomArrays.uniform(21, COUNT);
    MemorySegment upload = CudaDriver.memHostAlloc(BYTES, CudaDriver.MEMHOSTALLOC_PORTABLE);
    MemorySegment download = CudaDriver.memHostAlloc(BYTES, 0);
    try (CudaStream stream = CudaStream.create();
         DeviceArray first = DeviceArray.allocate(BYTES);
         DeviceArray second = DeviceArray.allocate(BYTES)) {
      assertEquals(BYTES, upload.byteSize(), "pinned segment size");
      MemorySegment.copy(values, 0, upload, JAVA_FLOAT, 0, COUNT);
      download.fill((byte) 0);
      CudaDriver.memcpyHtoDAsync(first.pointer(), upload, BYTES, stream);
      CudaDriver.memcpyDtoDAsync(second.pointer(), first.pointer(), BYTES, stream);
      CudaDriver.memcpyDtoHAsync(download, second.pointer(), BYTES, stream);
      stream.synchronize();
      assertTrue(stream.isIdle(), "a synchronised stream is idle");
      assertArrayEquals(values, download.toArray(JAVA_FLOAT), "HtoD, DtoD, DtoH async on one stream");
    } finally {
      CudaDriver.memFreeHost(upload);
      CudaDriver.memFreeHost(download);
    }
  }

  @Test
  void asyncFillsWriteWordsAndBytesInStreamOrder(GpuDevice gpu) {
    MemorySegment download = CudaDriver.memHostAlloc(BYTES, 0);
    try (CudaStream stream = CudaStream.create(); DeviceArray array = DeviceArray.allocate(BYTES)) {
      CudaDriver.memsetD32Async(array.pointer(), Float.floatToRawIntBits(1.5f), COUNT, stream);
      // Zero the bytes of elements [16, 32) afterwards: stream order decides what is left.
      CudaDriver.memsetD8Async(array.pointer() + 16L * Float.BYTES, (byte) 0, 16L * Float.BYTES, stream);
      CudaDriver.memcpyDtoHAsync(download, array.pointer(), BYTES, stream);
      stream.synchronize();
      float[] result = download.toArray(JAVA_FLOAT);
      for (int i = 0; i < COUNT; i++) {
        assertEquals(i >= 16 && i < 32 ? 0f : 1.5f, result[i], "element " + i);
      }
    } finally {
      CudaDriver.memFreeHost(download);
    }
  }

  @Test
  void asyncCopyRefusesHeapMemoryTheDriverWouldReadLate(GpuDevice gpu) {
    // An async copy reads the host buffer after the call returns; a heap array may move by then.
    try (CudaStream stream = CudaStream.create(); DeviceArray array = DeviceArray.allocate(64)) {
      MemorySegment heap = MemorySegment.ofArray(new float[16]);
      assertThrows(IllegalArgumentException.class, () -> CudaDriver.memcpyHtoDAsync(array.pointer(), heap, 64, stream));
    }
  }
}
