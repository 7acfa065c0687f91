package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.cublas.Cublas;
import dev.frugal.cuda.cublas.CublasLt;
import dev.frugal.cuda.cudnn.Cudnn;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.nvml.Nvml;
import dev.frugal.cuda.nvrtc.Nvrtc;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import org.junit.jupiter.api.Test;

/**
 * Every symbol each binding links resolves in the libraries of this GPU machine. CPU-only CI
 * checks the toolkit libraries against NVIDIA's wheels, but it has no driver: only here are
 * {@code libcuda.so.1} and {@code libnvidia-ml.so.1} real, and here the toolkit libraries may be
 * another version (a system CUDA 12, say). A missing symbol would otherwise surface only when a
 * training run first makes that call.
 */
class BoundSymbolsTest {

  @Test
  @GpuTest
  void driverSymbolsResolve(GpuDevice gpu) {
    assertComplete(CudaDriver.bindingReport());
  }

  @Test
  @GpuTest(requires = CudaLibrary.NVML)
  void nvmlSymbolsResolve(GpuDevice gpu) {
    assertComplete(Nvml.bindingReport());
  }

  @Test
  @GpuTest(requires = {CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS})
  void cublasAndCublasLtSymbolsResolve(GpuDevice gpu) {
    assertComplete(Cublas.bindingReport());
    assertComplete(CublasLt.bindingReport());
  }

  @Test
  @GpuTest(requires = CudaLibrary.NVRTC)
  void nvrtcSymbolsResolve(GpuDevice gpu) {
    assertComplete(Nvrtc.bindingReport());
  }

  @Test
  @GpuTest(requires = {CudaLibrary.CUBLAS_LT, CudaLibrary.NVRTC, CudaLibrary.CUDNN})
  void cudnnSymbolsResolve(GpuDevice gpu) {
    assertComplete(Cudnn.bindingReport());
  }

  private static void assertComplete(BindingReport report) {
    assertTrue(report.loaded(), report.library() + " is not loaded: " + report);
    assertTrue(!report.bound().isEmpty() && report.missing().isEmpty(), report.library() + " at " + report.path()
        + " lacks " + report.missing() + " (bound " + report.bound().size() + " symbols)");
  }
}
