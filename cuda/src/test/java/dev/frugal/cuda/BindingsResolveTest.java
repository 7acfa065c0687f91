package dev.frugal.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.cublas.Cublas;
import dev.frugal.cuda.cublas.CublasLt;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.nvrtc.Nvrtc;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every function Frugal binds resolves in the real cuBLAS, cuBLASLt and NVRTC (the pip wheels
 * {@code .ci/run} installs), so a renamed or versioned symbol is caught without a GPU. Asking
 * for a binding report forces the binding class to bind everything. Skips, with discovery's
 * reason, where a library is not installed.
 */
class BindingsResolveTest {

  @Test
  void everyCublasSymbolResolves() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS);
    assertAllBound(Cublas.bindingReport(), List.of("cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2",
        "cublasSetWorkspace_v2", "cublasSetMathMode", "cublasGetMathMode", "cublasSetPointerMode_v2",
        "cublasGemmEx", "cublasGemmStridedBatchedEx", "cublasGetStatusName", "cublasGetStatusString",
        "cublasGetProperty"));
  }

  @Test
  void everyCublasLtSymbolResolves() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT);
    assertAllBound(CublasLt.bindingReport(), List.of("cublasLtCreate", "cublasLtDestroy", "cublasLtMatmul",
        "cublasLtMatmulDescCreate", "cublasLtMatmulDescSetAttribute", "cublasLtMatmulDescDestroy",
        "cublasLtMatrixLayoutCreate", "cublasLtMatrixLayoutSetAttribute", "cublasLtMatrixLayoutDestroy",
        "cublasLtMatmulPreferenceCreate", "cublasLtMatmulPreferenceSetAttribute", "cublasLtMatmulPreferenceDestroy",
        "cublasLtMatmulAlgoGetHeuristic", "cublasLtGetStatusName", "cublasLtGetStatusString", "cublasLtGetVersion"));
  }

  @Test
  void everyNvrtcSymbolResolves() {
    NativeAssumptions.assumeLoaded(CudaLibrary.NVRTC);
    assertAllBound(Nvrtc.bindingReport(), List.of("nvrtcCreateProgram", "nvrtcCompileProgram", "nvrtcGetCUBIN",
        "nvrtcGetProgramLog", "nvrtcVersion"));
  }

  private static void assertAllBound(BindingReport report, List<String> expected) {
    assertTrue(report.loaded(), report::toString);
    assertEquals(List.of(), report.missing(), () -> report.library() + " at " + report.path() + " lacks symbols");
    assertTrue(report.bound().containsAll(expected), () -> "expected " + expected + " among " + report.bound());
  }
}
