package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.cublas.ComputeType;
import dev.frugal.cuda.cublas.Cublas;
import dev.frugal.cuda.cublas.CublasHandle;
import dev.frugal.cuda.cublas.CudaDataType;
import dev.frugal.cuda.cublas.MathMode;
import dev.frugal.cuda.discovery.CudaLibrary;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * cuBLAS GEMMs against the CPU backend's {@code matmul}: {@code cublasGemmEx} and
 * {@code cublasGemmStridedBatchedEx} with fp32, fp16 and bf16 storage (fp32 accumulation, as the
 * CUDA backend uses them), plain and transposed operands, and TF32 tensor cores on sm_80+. The
 * CPU rounds 16-bit inputs and outputs exactly as the GPU stores them, so the remaining difference
 * is summation order and one output rounding, held to the per-dtype {@link Tolerance} of
 * {@code |A|@|B|}. Sizes are odd on purpose: no tile divides them.
 */
@GpuTest(requires = {CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS})
class CublasGemmTest {

  @ParameterizedTest(name = "{0} transA={1} transB={2}")
  @CsvSource({"FP32,false,false", "FP32,true,true", "FP16,false,false", "FP16,false,true", "BF16,false,false",
      "BF16,true,false"})
  void gemmExMatchesCpuMatmul(Precision precision, boolean transA, boolean transB, GpuDevice gpu) {
    RowMajorGemm gemm = RowMajorGemm.of(67, 45, 96, transA, transB);
    check(gpu, precision, gemm, ComputeType.COMPUTE_32F, precision.tolerance(), false);
  }

  @Test
  void tf32TensorCoresStayWithinTf32Tolerance(GpuDevice gpu) {
    assumeTrue(gpu.computeCapability() >= 80, "TF32 tensor cores need sm_80 or newer; " + gpu + " has none");
    check(gpu, Precision.FP32, RowMajorGemm.of(130, 70, 256, false, false), ComputeType.COMPUTE_32F_FAST_TF32,
        Tolerance.TF32, false);
  }

  @ParameterizedTest(name = "{0} transB={1}")
  @CsvSource({"FP32,false", "FP16,false", "FP16,true", "BF16,false"})
  void stridedBatchedMatchesCpuBatchedMatmul(Precision precision, boolean transB, GpuDevice gpu) {
    check(gpu, precision, new RowMajorGemm(3, 33, 29, 40, false, transB), ComputeType.COMPUTE_32F,
        precision.tolerance(), true);
  }

  private static void check(GpuDevice gpu, Precision precision, RowMajorGemm gemm, ComputeType compute,
      Tolerance tolerance, boolean strided) {
    gpu.assumeBf16MatrixMath(precision);
    float[] a = precision.round(RandomArrays.uniform(61, gemm.batch() * gemm.aMatrix()));
    float[] b = precision.round(RandomArrays.uniform(62, gemm.batch() * gemm.bMatrix()));

    Graph graph = new Graph("gemm_reference");
    Value va = graph.input("a", Shape.of(gemm.aDims()), precision.dtype());
    Value vb = graph.input("b", Shape.of(gemm.bDims()), precision.dtype());
    float[] expected = CpuReference.run(Ops.matmul(va, vb, gemm.transA(), gemm.transB()), Map.of(va, a, vb, b));

    int count = gemm.batch() * gemm.cMatrix();
    try (CublasHandle handle = Cublas.create();
         DeviceArray da = DeviceArray.of(precision, a);
         DeviceArray db = DeviceArray.of(precision, b);
         DeviceArray dc = DeviceArray.of(precision, RandomArrays.uniform(63, count))) {
      handle.setStream(gpu.stream());
      handle.setMathMode(compute == ComputeType.COMPUTE_32F_FAST_TF32 ? MathMode.TF32_TENSOR_OP : MathMode.DEFAULT);
      // beta = 0 with C pre-filled with noise: the result must not depend on C's old contents.
      if (strided) {
        Cublas.gemmStridedBatchedEx(handle, gemm.firstOperation(), gemm.secondOperation(), gemm.cublasM(),
            gemm.cublasN(), gemm.k(), 1f, db.pointer(), precision.cudaType(), gemm.firstLd(), gemm.bMatrix(),
            da.pointer(), precision.cudaType(), gemm.secondLd(), gemm.aMatrix(), 0f, dc.pointer(),
            precision.cudaType(), gemm.ldc(), gemm.cMatrix(), gemm.batch(), compute);
      } else {
        Cublas.gemmEx(handle, gemm.firstOperation(), gemm.secondOperation(), gemm.cublasM(), gemm.cublasN(),
            gemm.k(), 1f, db.pointer(), precision.cudaType(), gemm.firstLd(), da.pointer(), precision.cudaType(),
            gemm.secondLd(), 0f, dc.pointer(), precision.cudaType(), gemm.ldc(), compute);
      }
      gpu.stream().synchronize();
      NumericAssert.assertClose((strided ? "cublasGemmStridedBatchedEx " : "cublasGemmEx ") + precision.label() + " "
          + compute + " " + gemm + " on " + gpu, expected, dc.read(precision, count), gemm.errorScale(a, b), tolerance);
    }
  }

  /**
   * What a captured training step needs from cuBLAS: alpha and beta read from device memory when
   * the GEMM runs (the loss scaler changes them without a host round trip), a fixed workspace (no
   * allocation inside a capture), and the math mode read back as set. {@code beta = 2} with C
   * pre-filled checks that C is really read and scaled.
   */
  @Test
  void deviceScalarsFixedWorkspaceAndMathMode(GpuDevice gpu) {
    RowMajorGemm gemm = RowMajorGemm.of(40, 24, 32, false, false);
    float[] a = RandomArrays.uniform(64, gemm.aMatrix());
    float[] b = RandomArrays.uniform(65, gemm.bMatrix());
    float[] c = RandomArrays.uniform(66, gemm.cMatrix());
    float alpha = 0.5f;
    float beta = 2f;
    Graph graph = new Graph("scaled_gemm_reference");
    Value va = graph.input("a", Shape.of(gemm.aDims()), Precision.FP32.dtype());
    Value vb = graph.input("b", Shape.of(gemm.bDims()), Precision.FP32.dtype());
    float[] product = CpuReference.run(Ops.matmul(va, vb), Map.of(va, a, vb, b));
    float[] productScale = gemm.errorScale(a, b);
    float[] expected = new float[c.length];
    float[] scale = new float[c.length];
    for (int i = 0; i < c.length; i++) {
      expected[i] = (float) ((double) alpha * product[i] + (double) beta * c[i]);
      scale[i] = alpha * productScale[i] + beta * Math.abs(c[i]);
    }
    long workspaceBytes = 4L << 20;
    try (CublasHandle handle = Cublas.create();
         DeviceArray workspace = DeviceArray.allocate(workspaceBytes);
         DeviceArray scalars = DeviceArray.of(new float[] {alpha, beta});
         DeviceArray da = DeviceArray.of(a);
         DeviceArray db = DeviceArray.of(b);
         DeviceArray dc = DeviceArray.of(c)) {
      handle.setWorkspace(workspace.pointer(), workspaceBytes);
      handle.setStream(gpu.stream());
      handle.setMathMode(MathMode.PEDANTIC);
      assertEquals(MathMode.PEDANTIC, handle.mathMode(), "cublasGetMathMode returns what was set");
      handle.setPointerMode(Cublas.POINTER_MODE_DEVICE);
      Cublas.gemmEx(handle, gemm.firstOperation(), gemm.secondOperation(), gemm.cublasM(), gemm.cublasN(), gemm.k(),
          MemorySegment.ofAddress(scalars.pointer()), db.pointer(), CudaDataType.R_32F, gemm.firstLd(), da.pointer(),
          CudaDataType.R_32F, gemm.secondLd(), MemorySegment.ofAddress(scalars.pointer() + Float.BYTES), dc.pointer(),
          CudaDataType.R_32F, gemm.ldc(), ComputeType.COMPUTE_32F, Cublas.GEMM_DEFAULT);
      gpu.stream().synchronize();
      NumericAssert.assertClose("cublasGemmEx with device alpha/beta " + gemm + " on " + gpu, expected,
          dc.floats(c.length), scale, Tolerance.FP32);
    }
  }
}
