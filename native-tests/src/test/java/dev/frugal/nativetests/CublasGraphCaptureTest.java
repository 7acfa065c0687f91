package dev.frugal.nativetests;

import dev.frugal.cuda.cublas.ComputeType;
import dev.frugal.cuda.cublas.Cublas;
import dev.frugal.cuda.cublas.CublasHandle;
import dev.frugal.cuda.cublas.CudaDataType;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.driver.CudaGraph;
import dev.frugal.cuda.driver.CudaGraphExec;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.nativetests.support.CpuReference;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.NumericAssert;
import dev.frugal.nativetests.support.Precision;
import dev.frugal.nativetests.support.RandomArrays;
import dev.frugal.nativetests.support.RowMajorGemm;
import dev.frugal.nativetests.support.Tolerance;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A cuBLAS GEMM inside a captured CUDA graph, the way the CUDA backend replays a whole training
 * step: the handle gets a fixed workspace and reads alpha/beta from device memory, the GEMM is
 * captured rather than run, and replaying the graph after new scalars were written to device
 * memory uses them without re-capturing (as the loss scaler's scale changes between steps).
 */
@GpuTest(requires = {CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS})
class CublasGraphCaptureTest {

  @Test
  void capturedGemmReplaysWithScalarsReadFromDeviceMemory(GpuDevice gpu) {
    RowMajorGemm gemm = RowMajorGemm.of(48, 40, 32, false, false);
    float[] a = RandomArrays.uniform(101, gemm.aMatrix());
    float[] b = RandomArrays.uniform(102, gemm.bMatrix());
    Graph graph = new Graph("captured_gemm_reference");
    Value va = graph.input("a", Shape.of(gemm.aDims()), Precision.FP32.dtype());
    Value vb = graph.input("b", Shape.of(gemm.bDims()), Precision.FP32.dtype());
    float[] product = CpuReference.run(Ops.matmul(va, vb), Map.of(va, a, vb, b));
    float[] scale = gemm.errorScale(a, b);
    long workspaceBytes = 4L << 20;
    try (CudaStream stream = CudaStream.create();
         CublasHandle handle = Cublas.create();
         DeviceArray workspace = DeviceArray.allocate(workspaceBytes);
         DeviceArray scalars = DeviceArray.of(new float[] {1f, 0f});
         DeviceArray da = DeviceArray.of(a);
         DeviceArray db = DeviceArray.of(b);
         DeviceArray dc = DeviceArray.zeros(Precision.FP32, gemm.cMatrix())) {
      handle.setStream(stream);
      handle.setWorkspace(workspace.pointer(), workspaceBytes);
      handle.setPointerMode(Cublas.POINTER_MODE_DEVICE);
      stream.beginCapture(CudaStream.CAPTURE_MODE_THREAD_LOCAL);
      CudaGraph captured;
      try {
        Cublas.gemmEx(handle, gemm.firstOperation(), gemm.secondOperation(), gemm.cublasM(), gemm.cublasN(), gemm.k(),
            MemorySegment.ofAddress(scalars.pointer()), db.pointer(), CudaDataType.R_32F, gemm.firstLd(), da.pointer(),
            CudaDataType.R_32F, gemm.secondLd(), MemorySegment.ofAddress(scalars.pointer() + Float.BYTES),
            dc.pointer(), CudaDataType.R_32F, gemm.ldc(), ComputeType.COMPUTE_32F, Cublas.GEMM_DEFAULT);
      } finally {
        captured = stream.endCapture();
      }
      try (CudaGraph step = captured; CudaGraphExec exec = step.instantiate(0)) {
        stream.synchronize();
        NumericAssert.assertClose("C before any replay (capture must not run the GEMM)", new float[gemm.cMatrix()],
            dc.floats(gemm.cMatrix()), Tolerance.FP32);
        exec.launch(stream);
        stream.synchronize();
        NumericAssert.assertClose("replayed GEMM, alpha 1 " + gemm + " on " + gpu, product, dc.floats(gemm.cMatrix()),
            scale, Tolerance.FP32);

        scalars.upload(new float[] {-3f, 0f});
        exec.launch(stream);
        stream.synchronize();
        float[] tripled = new float[product.length];
        float[] tripledScale = new float[product.length];
        for (int i = 0; i < product.length; i++) {
          tripled[i] = -3f * product[i];
          tripledScale[i] = 3f * scale[i];
        }
        NumericAssert.assertClose("replayed GEMM after alpha changed to -3 in device memory " + gemm + " on " + gpu,
            tripled, dc.floats(gemm.cMatrix()), tripledScale, Tolerance.FP32);
      }
    }
  }
}
