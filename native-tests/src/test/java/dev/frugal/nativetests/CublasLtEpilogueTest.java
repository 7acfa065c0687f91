package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.cublas.ComputeType;
import dev.frugal.cuda.cublas.CublasLt;
import dev.frugal.cuda.cublas.CublasLtHandle;
import dev.frugal.cuda.cublas.CudaDataType;
import dev.frugal.cuda.cublas.Epilogue;
import dev.frugal.cuda.cublas.MatmulAlgorithm;
import dev.frugal.cuda.cublas.MatmulDescriptor;
import dev.frugal.cuda.cublas.MatmulPreference;
import dev.frugal.cuda.cublas.MatrixLayout;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.nativetests.support.CpuReference;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.NumericAssert;
import dev.frugal.nativetests.support.Precision;
import dev.frugal.nativetests.support.RandomArrays;
import dev.frugal.nativetests.support.RowMajorGemm;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * cuBLASLt's fused GEMM epilogues as a linear layer uses them, {@code relu(x @ w + bias)} and
 * {@code x @ w + bias}, against the same ops traced on the CPU backend. The heuristic must offer
 * an algorithm within a 32 MiB workspace, and the test runs the one it ranks first. With the
 * column-major view ({@link RowMajorGemm}) the bias, which cuBLASLt adds per row of D, lands on
 * each output feature, which is what the CPU's broadcast add does; a wrong mapping adds it per
 * sample instead and fails. The error scale adds {@code |bias|} to {@code |x|@|w|}.
 */
@GpuTest(requires = {CudaLibrary.CUBLAS_LT})
class CublasLtEpilogueTest {
  private static final long WORKSPACE = 32L << 20;

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"FP32,RELU_BIAS", "FP32,BIAS", "FP16,RELU_BIAS", "BF16,RELU_BIAS", "BF16,BIAS"})
  void linearLayerEpilogueMatchesCpu(Precision precision, Epilogue epilogue, GpuDevice gpu) {
    gpu.assumeBf16MatrixMath(precision);
    RowMajorGemm gemm = RowMajorGemm.of(72, 40, 64, false, false);
    float[] x = precision.round(RandomArrays.uniform(71, gemm.aMatrix()));
    float[] w = precision.round(RandomArrays.uniform(72, gemm.bMatrix()));
    float[] bias = precision.round(RandomArrays.uniform(73, gemm.n()));

    Graph graph = new Graph("linear_reference");
    Value vx = graph.input("x", Shape.of(gemm.aDims()), precision.dtype());
    Value vw = graph.input("w", Shape.of(gemm.bDims()), precision.dtype());
    Value vb = graph.input("bias", Shape.of(gemm.n()), precision.dtype());
    Value linear = Ops.add(Ops.matmul(vx, vw), vb);
    Value out = epilogue == Epilogue.RELU_BIAS ? Ops.relu(linear) : linear;
    float[] expected = CpuReference.run(out, Map.of(vx, x, vw, w, vb, bias));

    float[] scale = gemm.errorScale(x, w);
    for (int i = 0; i < scale.length; i++) {
      scale[i] += Math.abs(bias[i % gemm.n()]);
    }

    CudaDataType type = precision.cudaType();
    int count = gemm.cMatrix();
    try (CublasLtHandle handle = CublasLt.create();
         DeviceArray dx = DeviceArray.of(precision, x);
         DeviceArray dw = DeviceArray.of(precision, w);
         DeviceArray dbias = DeviceArray.of(precision, bias);
         DeviceArray dd = DeviceArray.of(precision, RandomArrays.uniform(74, count));
         DeviceArray workspace = DeviceArray.allocate(WORKSPACE);
         MatmulDescriptor desc = MatmulDescriptor.create(ComputeType.COMPUTE_32F, CudaDataType.R_32F);
         MatrixLayout first = MatrixLayout.create(type, gemm.cublasM(), gemm.k(), gemm.firstLd());
         MatrixLayout second = MatrixLayout.create(type, gemm.k(), gemm.cublasN(), gemm.secondLd());
         MatrixLayout result = MatrixLayout.create(type, gemm.cublasM(), gemm.cublasN(), gemm.ldc());
         MatmulPreference preference = MatmulPreference.create(WORKSPACE)) {
      desc.setTranspose(gemm.firstOperation(), gemm.secondOperation());
      desc.setEpilogue(epilogue);
      desc.setBias(dbias.pointer());
      List<MatmulAlgorithm> algorithms = CublasLt.heuristic(handle, desc, first, second, result, result, preference, 4);
      assertFalse(algorithms.isEmpty(), "cuBLASLt offers no algorithm for " + precision + " " + epilogue + " " + gemm);
      MatmulAlgorithm best = algorithms.get(0);
      assertTrue(best.workspaceBytes() <= WORKSPACE, "heuristic exceeded the workspace preference: " + best);
      // beta = 0 and D pre-filled with noise, used as C too: nothing of the old D may survive.
      CublasLt.matmul(handle, desc, 1f, dw.pointer(), first, dx.pointer(), second, 0f, dd.pointer(), result,
          dd.pointer(), result, best, workspace.pointer(), WORKSPACE, gpu.stream());
      gpu.stream().synchronize();
      NumericAssert.assertClose("cublasLtMatmul " + epilogue + " " + precision.label() + " " + gemm + " on " + gpu,
          expected, dd.read(precision, count), scale, precision.tolerance());
    }
  }
}
