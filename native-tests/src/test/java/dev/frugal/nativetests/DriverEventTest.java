package dev.frugal.nativetests;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaEvent;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.SpinKernel;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Events: timing ({@code cuEventElapsedTime} against a kernel of known length), completion
 * queries, and cross-stream ordering with {@code cuStreamWaitEvent}, the mechanism the caching
 * allocator's cross-stream frees rely on. {@link SpinKernel} makes "still running" certain.
 */
@GpuTest
class DriverEventTest {

  @Test
  void elapsedTimeMeasuresAKernelOfKnownLength(GpuDevice gpu) {
    try (SpinKernel spin = SpinKernel.load(gpu);
         CudaStream stream = CudaStream.create();
         CudaEvent start = CudaEvent.create();
         CudaEvent end = CudaEvent.create()) {
      spin.spin(stream, 1); // warm up: the first launch of a module pays for loading it
      start.record(stream);
      spin.spin(stream, 50);
      end.record(stream);
      end.synchronize();
      assertTrue(end.isComplete(), "a synchronised event is complete");
      float millis = start.elapsedMillisTo(end);
      assertTrue(millis >= 45 && millis < 5_000, "a 50 ms spin measured as " + millis + " ms");
      assertEquals(millis, CudaDriver.eventElapsedMillis(start, end), 1e-3f, "both elapsed-time entry points");
    }
  }

  @Test
  void eventIsIncompleteWhileItsStreamIsBusy(GpuDevice gpu) {
    try (SpinKernel spin = SpinKernel.load(gpu);
         CudaStream stream = CudaStream.create();
         CudaEvent done = CudaEvent.createWithoutTiming()) {
      spin.spin(stream, 300);
      done.record(stream);
      assertFalse(done.isComplete(), "event recorded behind a 300 ms kernel completed at once");
      assertFalse(stream.isIdle(), "stream with a 300 ms kernel queued reports idle");
      done.synchronize();
      assertTrue(done.isComplete());
      assertTrue(stream.isIdle());
    }
  }

  @Test
  void streamWaitOrdersWorkAcrossStreams(GpuDevice gpu) {
    // Producer: spin, then fill with 2.0. Consumer: waits on the producer's event, then copies out.
    // Without the wait, the consumer would copy the 1.0s that were there before.
    int count = 1 << 16;
    long bytes = (long) count * Float.BYTES;
    MemorySegment host = CudaDriver.memHostAlloc(bytes, 0);
    try (SpinKernel spin = SpinKernel.load(gpu);
         CudaStream producer = CudaStream.create();
         CudaStream consumer = CudaStream.create();
         CudaEvent produced = CudaEvent.createWithoutTiming();
         DeviceArray array = DeviceArray.allocate(bytes)) {
      CudaDriver.memsetD32Async(array.pointer(), Float.floatToRawIntBits(1f), count, producer);
      producer.synchronize();
      spin.spin(producer, 200);
      CudaDriver.memsetD32Async(array.pointer(), Float.floatToRawIntBits(2f), count, producer);
      produced.record(producer);
      consumer.waitFor(produced);
      CudaDriver.memcpyDtoHAsync(host, array.pointer(), bytes, consumer);
      consumer.synchronize();
      float[] seen = host.toArray(JAVA_FLOAT);
      for (int i = 0; i < count; i++) {
        assertEquals(2f, seen[i], "element " + i + " copied before the producer's fill finished");
      }
    } finally {
      CudaDriver.memFreeHost(host);
    }
  }
}
