package dev.frugal.cuda.nvrtc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.NvrtcException;
import dev.frugal.cuda.UnsupportedDeviceException;
import dev.frugal.cuda.discovery.CudaLibrary;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** NVRTC compiles real kernels to valid CUBINs for every architecture Frugal targets (no GPU needed). */
class KernelCompilerTest {
  /** {@code EM_CUDA} in the ELF header's e_machine field. */
  private static final int EM_CUDA = 190;

  @BeforeAll
  static void requireNvrtc() {
    NativeAssumptions.assumeLoaded(CudaLibrary.NVRTC);
  }

  @ParameterizedTest(name = "{0} for {1} with {2} headers")
  @CsvSource({
    "axpy_f32, sm_75, AUTO", "axpy_f32, sm_80, AUTO", "axpy_f32, sm_86, AUTO", "axpy_f32, sm_89, AUTO", "axpy_f32, sm_90, AUTO",
    "sum_f32, sm_75, AUTO", "sum_f32, sm_80, AUTO", "sum_f32, sm_86, AUTO", "sum_f32, sm_89, AUTO", "sum_f32, sm_90, AUTO",
    "axpy_half2, sm_75, AUTO", "axpy_half2, sm_80, AUTO", "axpy_half2, sm_86, AUTO", "axpy_half2, sm_89, AUTO", "axpy_half2, sm_90, AUTO",
    "sum_bf16, sm_75, AUTO", "sum_bf16, sm_80, AUTO", "sum_bf16, sm_86, AUTO", "sum_bf16, sm_89, AUTO", "sum_bf16, sm_90, AUTO",
    "axpy_half2, sm_75, BUILTIN", "axpy_half2, sm_80, BUILTIN", "axpy_half2, sm_86, BUILTIN", "axpy_half2, sm_89, BUILTIN", "axpy_half2, sm_90, BUILTIN",
    "sum_bf16, sm_75, BUILTIN", "sum_bf16, sm_80, BUILTIN", "sum_bf16, sm_86, BUILTIN", "sum_bf16, sm_89, BUILTIN", "sum_bf16, sm_90, BUILTIN",
  })
  void compilesToCudaElfForEachArchitecture(String kernel, String arch, HalfHeaders headers) {
    KernelCompiler compiler = new KernelCompiler(null, headers);
    CompiledKernel compiled = compiler.compile(kernel, source(kernel), arch, List.of());

    byte[] cubin = compiled.cubin();
    assertEquals(arch, compiled.arch());
    assertFalse(compiled.fromCache());
    assertTrue(KernelCompiler.isElf(cubin), "CUBIN must start with the ELF magic");
    ByteBuffer elf = ByteBuffer.wrap(cubin).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(2, elf.get(4), "64-bit ELF class");
    assertEquals(1, elf.get(5), "little-endian ELF");
    assertEquals(EM_CUDA, elf.getShort(18), "e_machine must be EM_CUDA");
    String image = new String(cubin, StandardCharsets.ISO_8859_1);
    for (String entry : entryPoints(kernel)) {
      assertTrue(image.contains(".text." + entry), "CUBIN must contain the code section of " + entry);
    }
  }

  @Test
  void builtinPreludeIsUsedEvenWhenToolkitHeadersExist() {
    // The prelude defines a marker macro; the real headers do not.
    String probe = """
        #include <cuda_fp16.h>
        #ifndef FRUGAL_MINIMAL_FP16
        #error "expected Frugal's built-in half definitions"
        #endif
        extern "C" __global__ void probe(__half* x) { x[0] = __float2half(1.0f); }
        """;
    CompiledKernel compiled = new KernelCompiler(null, HalfHeaders.BUILTIN).compile("probe", probe, "sm_80", List.of());
    assertTrue(KernelCompiler.isElf(compiled.cubin()));
  }

  @Test
  void compileErrorShowsLogAndNumberedSource() {
    String broken = """
        extern "C" __global__ void broken(float* y) {
          int i = threadIdx.x;
          y[i] = undefined_variable * 2.0f;
        }
        """;
    NvrtcException error = assertThrows(NvrtcException.class,
        () -> new KernelCompiler(null, HalfHeaders.AUTO).compile("broken", broken, "sm_80", List.of()));
    assertEquals("nvrtcCompileProgram", error.call());
    assertEquals(Nvrtc.ERROR_COMPILATION, error.status());
    String message = error.getMessage();
    assertTrue(message.contains("broken.cu(3): error"), message);
    assertTrue(message.contains("undefined_variable"), message);
    assertTrue(message.contains(">  3 |   y[i] = undefined_variable * 2.0f;")
        || message.contains("> 3 |   y[i] = undefined_variable * 2.0f;"), message);
    assertTrue(message.contains("  1 | extern"), message);
  }

  @Test
  void rejectsArchitecturesNvrtcCannotTarget() {
    KernelCompiler compiler = new KernelCompiler(null, HalfHeaders.AUTO);
    assertThrows(IllegalArgumentException.class, () -> compiler.compile("axpy", TestKernels.AXPY_F32, "compute_80", List.of()));
    UnsupportedDeviceException tooOld = assertThrows(UnsupportedDeviceException.class,
        () -> compiler.compile("axpy", TestKernels.AXPY_F32, "sm_35", List.of()));
    assertTrue(tooOld.getMessage().contains("sm_35"), tooOld.getMessage());
  }

  @Test
  void archForDeviceClampsToSupportedArchitectures() {
    int[] supported = {75, 80, 86, 87, 89, 90, 100, 120};
    assertEquals("sm_86", KernelCompiler.archFor(86, supported));
    assertEquals("sm_80", KernelCompiler.archFor(81, supported), "a newer minor runs the major's older CUBIN");
    assertEquals("sm_120", KernelCompiler.archFor(121, supported));
    assertThrows(UnsupportedDeviceException.class, () -> KernelCompiler.archFor(70, supported));
    assertThrows(UnsupportedDeviceException.class, () -> KernelCompiler.archFor(130, supported));
  }

  @Test
  void cachedCompilationReturnsTheSameCubin(@TempDir Path cacheFolder) {
    KernelCompiler compiler = new KernelCompiler(new KernelCache(cacheFolder), HalfHeaders.AUTO);
    CompiledKernel first = compiler.compile("axpy_f32", TestKernels.AXPY_F32, "sm_86", List.of());
    CompiledKernel second = compiler.compile("axpy_f32", TestKernels.AXPY_F32, "sm_86", List.of());
    CompiledKernel otherArch = compiler.compile("axpy_f32", TestKernels.AXPY_F32, "sm_89", List.of());

    assertFalse(first.fromCache());
    assertTrue(second.fromCache());
    assertFalse(otherArch.fromCache(), "another architecture is another cache entry");
    assertArrayEquals(first.cubin(), second.cubin());
    assertEquals(1, compiler.cache().statistics().hits());
  }

  @Test
  void reportsVersionAndSupportedArchitectures() {
    int[] version = Nvrtc.version();
    assertTrue(version[0] >= 12, "NVRTC major " + version[0]);
    int[] archs = Nvrtc.supportedArchs();
    assertTrue(archs.length > 3);
    for (int i = 1; i < archs.length; i++) {
      assertTrue(archs[i - 1] < archs[i], "sorted ascending");
    }
  }

  private static String source(String kernel) {
    return switch (kernel) {
      case "axpy_f32" -> TestKernels.AXPY_F32;
      case "sum_f32" -> TestKernels.SUM_F32;
      case "axpy_half2" -> TestKernels.AXPY_HALF2;
      case "sum_bf16" -> TestKernels.SUM_BF16;
      default -> throw new IllegalArgumentException(kernel);
    };
  }

  private static List<String> entryPoints(String kernel) {
    return switch (kernel) {
      case "axpy_half2" -> List.of("axpy_half2", "half_to_float");
      case "sum_bf16" -> List.of("sum_bf16", "scale_bf16");
      default -> List.of(kernel);
    };
  }
}
