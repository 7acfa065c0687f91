package dev.frugal.nativetests;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.memory.CudaPinnedHostRawAllocator;
import dev.frugal.memory.PinnedStagingPool;
import dev.frugal.memory.StagingBuffer;
import dev.frugal.memory.StagingStats;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.RandomArrays;
import dev.frugal.nativetests.support.SpinKernel;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The pinned staging pool over real page-locked memory ({@link CudaPinnedHostRawAllocator}):
 * async uploads and downloads through lent buffers move the right bytes, and a buffer released
 * after a copy is not lent again until the copy's CUDA event has completed (the copy is held back
 * behind a {@link SpinKernel} so that is certain when the test asks).
 */
@GpuTest
class PinnedStagingDeviceTest {
  private static final int COUNT = 1 << 18;
  private static final long BYTES = (long) COUNT * Float.BYTES;

  @Test
  void stagedCopiesRoundTripAndBuffersWaitForTheirCopy(GpuDevice gpu) {
    float[] values = RandomArrays.uniform(51, COUNT);
    CudaMemoryStream stream = new CudaMemoryStream(gpu.stream());
    try (SpinKernel spin = SpinKernel.load(gpu);
         CudaPinnedHostRawAllocator pinned = new CudaPinnedHostRawAllocator(gpu.context());
         PinnedStagingPool pool = new PinnedStagingPool(pinned);
         DeviceArray device = DeviceArray.allocate(BYTES)) {
      StagingBuffer upload = pool.acquire(BYTES);
      long uploadAddress = upload.address();
      MemorySegment.copy(values, 0, upload.segment(), JAVA_FLOAT, 0, COUNT);
      spin.spin(gpu.stream(), 300);
      CudaDriver.memcpyHtoDAsync(device.pointer(), upload.segment(), BYTES, gpu.stream());
      upload.releaseAfter(stream.recordEvent());

      StagingBuffer download = pool.acquire(BYTES);
      assertNotEquals(uploadAddress, download.address(), "the upload buffer was lent again before its copy ran");
      StagingStats whileCopying = pool.snapshot();
      assertEquals(1, whileCopying.waitingBuffers(), whileCopying.toString());
      assertEquals(2, whileCopying.rawAllocations(), whileCopying.toString());

      CudaDriver.memcpyDtoHAsync(download.segment(), device.pointer(), BYTES, gpu.stream());
      gpu.stream().synchronize();
      assertArrayEquals(values, download.segment().toArray(JAVA_FLOAT), "upload and download through staging buffers");
      download.release();

      StagingBuffer reused = pool.acquire(BYTES);
      StagingStats afterwards = pool.snapshot();
      assertEquals(2, afterwards.rawAllocations(), "no new pinned memory once the copies finished: " + afterwards);
      assertEquals(1, afterwards.reuses(), afterwards.toString());
      assertEquals(0, afterwards.waitingBuffers(), afterwards.toString());
      reused.release();
    }
  }
}
