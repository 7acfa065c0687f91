package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaFunction;
import dev.frugal.cuda.driver.CudaGraph;
import dev.frugal.cuda.driver.CudaGraphExec;
import dev.frugal.cuda.driver.CudaModule;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.driver.Dim3;
import dev.frugal.cuda.driver.KernelArguments;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import org.junit.jupiter.api.Test;

/**
 * Whole-step replay as the CUDA backend will use it: work queued on a capturing stream is
 * recorded, not run ({@code cuStreamBeginCapture_v2}/{@code cuStreamEndCapture}); the graph is
 * instantiated and replayed; a graph of the same shape with new kernel arguments updates the
 * instance in place ({@code cuGraphExecUpdate_v2}), and one of another shape is refused. Inputs
 * are small integers so every expected value is exact.
 */
@GpuTest
class CudaGraphTest {
  static final String SOURCE = """
      extern "C" __global__ void axpy(int n, float a, const float* x, float* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) y[i] += a * x[i];
      }
      """;
  private static final int COUNT = 10_000;

  @Test
  void captureRecordsInsteadOfRunningAndReplayUpdatesInPlace(GpuDevice gpu) {
    float[] x = new float[COUNT];
    for (int i = 0; i < COUNT; i++) {
      x[i] = i % 17 - 8;
    }
    try (CudaModule module = gpu.load("graph_axpy", SOURCE);
         CudaStream stream = CudaStream.create();
         DeviceArray dx = DeviceArray.of(x);
         DeviceArray dy = DeviceArray.of(new float[COUNT])) {
      CudaFunction axpy = module.function("axpy");
      try (CudaGraph twoSteps = capture(stream, axpy, dx, dy, 2f, 3f)) {
        stream.synchronize();
        assertArrayEquals(new float[COUNT], dy.floats(COUNT), "captured kernels must not run during capture");
        try (CudaGraphExec exec = twoSteps.instantiate(0)) {
          exec.launch(stream);
          exec.launch(stream);
          stream.synchronize();
          assertArrayEquals(scaled(x, 10), dy.floats(COUNT), "two replays of y += 2x; y += 3x");

          try (CudaGraph sameShape = capture(stream, axpy, dx, dy, 1f, 1f)) {
            assertTrue(exec.update(sameShape), "same topology, new scalars: cuGraphExecUpdate must accept it");
          }
          exec.launch(stream);
          stream.synchronize();
          assertArrayEquals(scaled(x, 12), dy.floats(COUNT), "replay after the update uses the new scalars");

          try (CudaGraph oneStep = capture(stream, axpy, dx, dy, 1f)) {
            assertFalse(exec.update(oneStep), "a graph with fewer nodes cannot update the instance");
          }
        }
      }
    }
    // A refused update must leave the context healthy.
    CudaDriver.synchronizeContext();
  }

  /** Captures one axpy launch per scale on {@code stream}. */
  private static CudaGraph capture(CudaStream stream, CudaFunction axpy, DeviceArray x, DeviceArray y, float... scales) {
    stream.beginCapture(CudaStream.CAPTURE_MODE_THREAD_LOCAL);
    try {
      for (float scale : scales) {
        try (KernelArguments arguments = new KernelArguments().i32(COUNT).f32(scale).pointer(x.pointer()).pointer(y.pointer())) {
          axpy.launch(Dim3.of((COUNT + 255) / 256), Dim3.of(256), 0, stream, arguments);
        }
      }
    } catch (RuntimeException e) {
      stream.endCapture().close();
      throw e;
    }
    return stream.endCapture();
  }

  private static float[] scaled(float[] x, float factor) {
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = factor * x[i];
    }
    return out;
  }
}
