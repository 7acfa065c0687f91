package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;
import dev.frugal.cuda.nvrtc.CompiledKernel;
import dev.frugal.cuda.nvrtc.HalfHeaders;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.nativetests.support.SpinKernel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CUDA C the GPU tests launch compiles with NVRTC for every architecture Frugal supports,
 * with the toolkit's fp16/bf16 headers (when installed) and with Frugal's built-in ones. Not
 * tagged {@code gpu}: NVRTC needs no GPU, so CPU-only CI catches a kernel that stopped compiling
 * before a GPU run is spent on it. Skips with discovery's reason where NVRTC is not installed.
 */
class KernelSourcesCompileTest {
  private static final Map<String, String> SOURCES = Map.of(
      "axpy", KernelLaunchTest.SOURCE,
      "reverse_blocks", KernelLaunchTest.REVERSE_SOURCE,
      "half_conversion", HalfConversionKernelTest.SOURCE,
      "graph_axpy", CudaGraphTest.SOURCE,
      "spin_ns", SpinKernel.SOURCE);

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"AUTO, sm_75", "AUTO, sm_80", "AUTO, sm_86", "AUTO, sm_89", "AUTO, sm_90", "BUILTIN, sm_75",
      "BUILTIN, sm_90"})
  void everyTestKernelCompilesToACubin(HalfHeaders headers, String arch) {
    LoadedLibrary nvrtc = LibraryLoader.system().load(CudaLibrary.NVRTC);
    assumeTrue(nvrtc.isLoaded(), () -> "NVRTC is not available: " + nvrtc.problem());
    KernelCompiler compiler = new KernelCompiler(null, headers);
    for (Map.Entry<String, String> source : SOURCES.entrySet()) {
      CompiledKernel kernel = compiler.compile(source.getKey(), source.getValue(), arch, List.of());
      assertTrue(kernel.cubin().length > 0, source.getKey() + " for " + arch + " gave an empty CUBIN");
    }
  }
}
