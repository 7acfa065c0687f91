package dev.frugal.cuda.nvrtc;

import dev.frugal.cuda.CudaLibraryNotFoundException;
import dev.frugal.cuda.NvrtcException;
import dev.frugal.cuda.UnsupportedDeviceException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.driver.CudaDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compiles CUDA C to a CUBIN for one exact GPU architecture with NVRTC, through a
 * {@link KernelCache}. SASS for the exact GPU (rather than PTX) avoids the driver's JIT and its
 * "PTX too new for this driver" failure. Kernels may {@code #include <cuda_fp16.h>} and
 * {@code <cuda_bf16.h>}: the toolkit's headers for NVRTC's own version are used when installed,
 * else Frugal's {@link HalfPrecisionPrelude} (see {@link HalfHeaders}). A source error throws an
 * {@link NvrtcException} whose message holds NVRTC's log and the numbered source lines around
 * each error. Needs NVRTC, not a GPU.
 */
public final class KernelCompiler {
  private static final Pattern ARCH = Pattern.compile("sm_(\\d+)([af]?)");

  private final KernelCache cache;
  private final HalfHeaders halfHeaders;
  private final Map<String, String> environment;

  /**
   * @param cache where CUBINs are kept between runs, or null to always compile
   * @param halfHeaders where fp16/bf16 headers come from
   */
  public KernelCompiler(KernelCache cache, HalfHeaders halfHeaders) {
    this(cache, halfHeaders, System.getenv());
  }

  KernelCompiler(KernelCache cache, HalfHeaders halfHeaders, Map<String, String> environment) {
    this.cache = cache;
    this.halfHeaders = halfHeaders;
    this.environment = Map.copyOf(environment);
  }

  /** A compiler using the default cache ({@link KernelCache#defaultCache()}) and {@link HalfHeaders#AUTO}. */
  public static KernelCompiler create() {
    return new KernelCompiler(KernelCache.defaultCache(), HalfHeaders.AUTO);
  }

  /** The cache, or null if this compiler does not cache. */
  public KernelCache cache() {
    return cache;
  }

  /**
   * The {@code sm_XX} to compile for a GPU of compute capability {@code capability} (10 * major +
   * minor): the newest architecture NVRTC supports with the same major and a minor not above the
   * GPU's, since a CUBIN runs on later minors of its major.
   *
   * @param supported what {@link Nvrtc#supportedArchs()} returned
   * @throws UnsupportedDeviceException if NVRTC cannot produce code this GPU runs
   */
  public static String archFor(int capability, int[] supported) {
    int best = -1;
    for (int arch : supported) {
      if (arch / 10 == capability / 10 && arch <= capability) {
        best = Math.max(best, arch);
      }
    }
    if (best < 0) {
      int oldest = supported.length == 0 ? 0 : Arrays.stream(supported).min().getAsInt();
      int newest = supported.length == 0 ? 0 : Arrays.stream(supported).max().getAsInt();
      String hint = capability < oldest
          ? "this GPU is older than anything this NVRTC supports; use the CUDA 12 NVRTC (pip install nvidia-cuda-nvrtc-cu12)"
              + (capability < 75 ? " - note CUDA 13 dropped GPUs older than sm_75 (Turing)" : "")
          : "this GPU is newer than this NVRTC knows; upgrade it (pip install -U nvidia-cuda-nvrtc)";
      throw new UnsupportedDeviceException("NVRTC supports sm_" + oldest + " to sm_" + newest + " ("
          + Arrays.toString(supported) + ") but the GPU is sm_" + capability + ": " + hint);
    }
    return "sm_" + best;
  }

  /** The architecture for the current context's device, clamped to what the loaded NVRTC supports. */
  public static String archForDevice(int device) {
    return archFor(CudaDriver.computeCapability(device), Nvrtc.supportedArchs());
  }

  /**
   * Compiles {@code source} for {@code arch}, or returns the cached CUBIN.
   *
   * @param name the program name used in messages (e.g. {@code "axpy"}; {@code ".cu"} is appended)
   * @param source CUDA C; kernels should be {@code extern "C"} so they can be found by name
   * @param arch a real architecture such as {@code "sm_80"}
   * @param options extra NVRTC options, e.g. {@code "--use_fast_math"}
   */
  public CompiledKernel compile(String name, String source, String arch, List<String> options) {
    Matcher archMatch = ARCH.matcher(arch);
    if (!archMatch.matches()) {
      throw new IllegalArgumentException("arch must be a real GPU architecture like sm_80 (a CUBIN needs one),"
          + " got '" + arch + "'");
    }
    int[] supported = Nvrtc.supportedArchs();
    int number = Integer.parseInt(archMatch.group(1));
    if (Arrays.stream(supported).noneMatch(s -> s == number)) {
      throw new UnsupportedDeviceException("NVRTC " + Nvrtc.versionString() + " cannot compile for " + arch
          + "; it supports " + Arrays.toString(supported)
          + (number < 75 ? " (CUDA 13 dropped GPUs older than sm_75; use the CUDA 12 NVRTC:"
              + " pip install nvidia-cuda-nvrtc-cu12)" : ""));
    }
    String programName = name.endsWith(".cu") ? name : name + ".cu";
    String nvrtcVersion = Nvrtc.versionString();
    Map<String, String> headers = Map.of();
    List<String> finalOptions = new ArrayList<>();
    finalOptions.add("--gpu-architecture=" + arch);
    if (includesHalfHeaders(source)) {
      Optional<Path> toolkit = halfHeaders == HalfHeaders.BUILTIN ? Optional.empty()
          : ToolkitHeaders.find(Nvrtc.version(), LibraryLoader.system().load(CudaLibrary.NVRTC).path(), environment);
      if (toolkit.isPresent()) {
        finalOptions.add("--include-path=" + toolkit.get());
      } else if (halfHeaders == HalfHeaders.TOOLKIT) {
        throw new CudaLibraryNotFoundException("cuda_fp16.h", "cuda_fp16.h/cuda_bf16.h for CUDA " + nvrtcVersion
            + " (matching the loaded NVRTC) were not found next to NVRTC, under CUDA_HOME/CUDA_PATH or in"
            + " /usr/local/cuda*/include; pip install nvidia-cuda-runtime==" + nvrtcVersion + ".* (or the CUDA "
            + nvrtcVersion + " toolkit), or use HalfHeaders.AUTO/BUILTIN for Frugal's built-in definitions");
      } else {
        headers = HalfPrecisionPrelude.headers();
      }
    }
    finalOptions.addAll(options);

    String key = KernelCache.key(source, headers, arch, nvrtcVersion, finalOptions);
    if (cache != null) {
      Optional<byte[]> cached = cache.get(key);
      if (cached.isPresent() && isElf(cached.get())) {
        return new CompiledKernel(programName, arch, cached.get(), "", true);
      }
    }
    try (NvrtcProgram program = Nvrtc.createProgram(source, programName, headers)) {
      boolean compiled = program.compile(finalOptions);
      String log = program.log();
      if (!compiled) {
        throw new NvrtcException("NVRTC", "nvrtcCompileProgram", Nvrtc.ERROR_COMPILATION,
            Nvrtc.errorString(Nvrtc.ERROR_COMPILATION), programName + " for " + arch + " (NVRTC " + nvrtcVersion
            + ", options " + finalOptions + ")\n" + CompileErrorReport.format(programName, source, log));
      }
      byte[] cubin = program.cubin();
      if (!isElf(cubin)) {
        throw new NvrtcException("NVRTC", "nvrtcGetCUBIN", 0, "NVRTC_SUCCESS", "NVRTC returned no CUBIN for "
            + programName + " and " + arch + " (" + cubin.length + " bytes); the options " + finalOptions
            + " must not select PTX-only output");
      }
      if (cache != null) {
        cache.put(key, cubin);
      }
      return new CompiledKernel(programName, arch, cubin, log.strip(), false);
    }
  }

  private static boolean includesHalfHeaders(String source) {
    return source.contains("cuda_fp16.h") || source.contains("cuda_bf16.h");
  }

  /** A CUBIN is an ELF file: 0x7f 'E' 'L' 'F'. */
  static boolean isElf(byte[] image) {
    return image.length > 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F';
  }
}
