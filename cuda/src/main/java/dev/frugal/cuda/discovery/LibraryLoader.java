package dev.frugal.cuda.discovery;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds and loads the CUDA libraries once per process, in the order that avoids the usual
 * failures (see {@link CudaLibrary}), and remembers each outcome. It never throws: a library that
 * cannot be used is recorded with the reason, and the bindings turn that reason into a
 * {@link dev.frugal.cuda.CudaLibraryNotFoundException} at first use.
 *
 * <p>Rules it enforces: major 13 is preferred to 12; cuBLAS, cuBLASLt and NVRTC come from one
 * major; that major is not newer than what the driver supports (when a driver is present);
 * NVRTC's builtins match its exact version; cuDNN is built for the same major; a {@code stubs}
 * copy of {@code libcuda} is never used. Every library is loaded into {@link Arena#global()}
 * because unloading CUDA libraries while the process runs is unsafe.
 */
public final class LibraryLoader {
  private static final int[] MAJORS = {13, 12};
  private static final Linker LINKER = Linker.nativeLinker();
  /** {@code CUDA_ERROR_STUB_LIBRARY}: what every call into the toolkit's link-time stub returns. */
  private static final int CUDA_ERROR_STUB_LIBRARY = 34;

  private final LibrarySearchPath searchPath;
  private final Map<String, String> environment;
  private final boolean loadDriver;
  private final Map<CudaLibrary, LoadedLibrary> outcomes = new EnumMap<>(CudaLibrary.class);
  private Integer toolkitMajor;

  /**
   * @param searchPath where to look for cuBLAS, cuBLASLt, NVRTC and cuDNN
   * @param environment the variables consulted for the driver ({@code LD_LIBRARY_PATH})
   * @param loadDriver whether to look for the driver and NVML at all; false makes a loader whose
   *     results depend only on {@code searchPath} (tests)
   */
  public LibraryLoader(LibrarySearchPath searchPath, Map<String, String> environment, boolean loadDriver) {
    this.searchPath = searchPath;
    this.environment = Map.copyOf(environment);
    this.loadDriver = loadDriver;
  }

  /**
   * A loader that takes {@code driver} as the driver's outcome instead of looking for one, so
   * tests can check the driver-version rules with any driver; NVML is not searched.
   */
  LibraryLoader(LibrarySearchPath searchPath, Map<String, String> environment, LoadedLibrary driver) {
    this(searchPath, environment, false);
    outcomes.put(CudaLibrary.DRIVER, driver);
  }

  /** The process-wide loader, built from this process's environment on first use. */
  public static LibraryLoader system() {
    return SystemLoader.INSTANCE;
  }

  private static final class SystemLoader {
    static final LibraryLoader INSTANCE = new LibraryLoader(LibrarySearchPath.system(), System.getenv(), true);
  }

  /** The search path this loader uses. */
  public LibrarySearchPath searchPath() {
    return searchPath;
  }

  /** Loads {@code library} (and what must be loaded before it) once; later calls return the same outcome. */
  public synchronized LoadedLibrary load(CudaLibrary library) {
    LoadedLibrary outcome = outcomes.get(library);
    if (outcome == null) {
      try {
        outcome = switch (library) {
          case DRIVER -> loadDriver();
          case NVML -> loadNvml();
          case CUBLAS_LT -> loadCublasLt();
          case CUBLAS -> loadCublas();
          case NVRTC_BUILTINS -> { load(CudaLibrary.NVRTC); yield outcomes.get(CudaLibrary.NVRTC_BUILTINS); }
          case NVRTC -> loadNvrtc();
          case CUDNN -> loadCudnn();
        };
      } catch (RuntimeException | LinkageError e) {
        // A library that loads but misbehaves must still not take discovery down with it.
        outcome = LoadedLibrary.missing(library, null, null,
            library.displayName() + " could not be loaded: " + e + "; " + library.installHint());
      }
      outcomes.put(library, outcome);
    }
    return outcome;
  }

  /** Every library's outcome, loading them all in the safe order. */
  public List<LoadedLibrary> loadAll() {
    List<LoadedLibrary> all = new ArrayList<>();
    for (CudaLibrary library : CudaLibrary.values()) {
      all.add(load(library));
    }
    return all;
  }

  /**
   * The CUDA major the toolkit libraries are taken from: the newest major (not above the
   * driver's) for which the most of cuBLASLt, cuBLAS and NVRTC are present.
   */
  public synchronized int toolkitMajor() {
    if (toolkitMajor == null) {
      int limit = driverMajorLimit();
      int best = 0;
      int bestCount = -1;
      for (int major : MAJORS) {
        if (major > limit) {
          continue;
        }
        int count = 0;
        for (String name : List.of("libcublasLt.so." + major, "libcublas.so." + major, "libnvrtc.so." + major)) {
          if (searchPath.find(name) != null) {
            count++;
          }
        }
        if (count > bestCount) {
          best = major;
          bestCount = count;
        }
      }
      // No major the driver can run: take the oldest, so every library is refused with the reason.
      toolkitMajor = best == 0 ? MAJORS[MAJORS.length - 1] : best;
    }
    return toolkitMajor;
  }

  /** The driver's CUDA major, or MAX_VALUE when there is no driver (CI: every major is allowed). */
  private int driverMajorLimit() {
    LoadedLibrary driver = load(CudaLibrary.DRIVER);
    return driver.isLoaded() ? driver.cudaMajor() : Integer.MAX_VALUE;
  }

  // ---------------------------------------------------------------- driver and NVML (by soname)

  private LoadedLibrary loadDriver() {
    CudaLibrary library = CudaLibrary.DRIVER;
    String soname = "libcuda.so.1";
    if (!loadDriver) {
      return LoadedLibrary.missing(library, null, null, "the driver is not searched by this loader (test setup)");
    }
    // Refuse a stub the linker would pick before opening anything: the first libcuda.so.1 in the
    // linker's folders is (approximately) the one dlopen loads.
    List<Path> ldLibraryPath = LinkerPaths.ldLibraryPath(environment);
    for (Path folder : LinkerPaths.all(environment)) {
      Path candidate = folder.resolve(soname);
      if (Files.exists(candidate)) {
        if (Folders.isStubFolder(candidate)) {
          String fix = ldLibraryPath.contains(folder) ? "remove " + folder + " from LD_LIBRARY_PATH"
              : "remove " + folder + " from the linker configuration (/etc/ld.so.conf, /etc/ld.so.conf.d) and run"
                  + " ldconfig";
          return LoadedLibrary.missing(library, candidate, null, "the dynamic linker would load the CUDA toolkit's"
              + " link-time stub " + candidate + " instead of the real driver; " + fix + " (the stub only answers"
              + " CUDA_ERROR_STUB_LIBRARY); " + library.installHint());
        }
        break;
      }
    }
    SymbolLookup lookup;
    try {
      lookup = SymbolLookup.libraryLookup(soname, Arena.global());
    } catch (IllegalArgumentException e) {
      return LoadedLibrary.missing(library, null, null, soname + " was not found by the dynamic linker (searched"
          + " LD_LIBRARY_PATH, /etc/ld.so.cache, " + String.join(", ", linkerFolderNames()) + "): no NVIDIA driver is"
          + " installed or visible; " + library.installHint());
    }
    Path path = mappedPath("libcuda.so").orElse(Path.of(soname));
    if (Folders.isStubFolder(path)) {
      return LoadedLibrary.missing(library, path, null, "the dynamic linker resolved " + soname + " to the link-time"
          + " stub " + path + ", which cannot run anything; " + library.installHint());
    }
    int[] version = new int[1];
    int status = callIntOut(lookup, "cuDriverGetVersion", version);
    if (status == CUDA_ERROR_STUB_LIBRARY) {
      return LoadedLibrary.missing(library, path, null, path + " is the CUDA toolkit's link-time stub"
          + " (cuDriverGetVersion returned CUDA_ERROR_STUB_LIBRARY); " + library.installHint());
    }
    if (status != 0) {
      return LoadedLibrary.missing(library, path, null, "cuDriverGetVersion in " + path + " failed with status "
          + status + "; the driver installation is broken; " + library.installHint());
    }
    String cudaVersion = version[0] / 1000 + "." + (version[0] % 1000) / 10;
    return LoadedLibrary.loaded(library, lookup, path, cudaVersion, version[0] / 1000);
  }

  private LoadedLibrary loadNvml() {
    CudaLibrary library = CudaLibrary.NVML;
    String soname = "libnvidia-ml.so.1";
    if (!loadDriver) {
      return LoadedLibrary.missing(library, null, null, "NVML is not searched by this loader (test setup)");
    }
    try {
      SymbolLookup lookup = SymbolLookup.libraryLookup(soname, Arena.global());
      Path path = mappedPath("libnvidia-ml.so").orElse(Path.of(soname));
      return LoadedLibrary.loaded(library, lookup, path, driverReleaseFromFileName(path), 0);
    } catch (IllegalArgumentException e) {
      return LoadedLibrary.missing(library, null, null, soname + " was not found by the dynamic linker (searched"
          + " LD_LIBRARY_PATH, /etc/ld.so.cache, " + String.join(", ", linkerFolderNames()) + "); "
          + library.installHint());
    }
  }

  // ---------------------------------------------------------------- toolkit libraries (by path)

  private LoadedLibrary loadCublasLt() {
    int major = toolkitMajor();
    Optional<LoadedLibrary> rejected = rejectIfNewerThanDriver(CudaLibrary.CUBLAS_LT, "libcublasLt.so.");
    if (rejected.isPresent()) {
      return rejected.get();
    }
    Path path = searchPath.find("libcublasLt.so." + major);
    if (path == null) {
      return notFound(CudaLibrary.CUBLAS_LT, "libcublasLt.so." + major);
    }
    SymbolLookup lookup = open(path);
    long version = callLong(lookup, "cublasLtGetVersion");
    return LoadedLibrary.loaded(CudaLibrary.CUBLAS_LT, lookup, path, dotted(version, 10000, 100), major);
  }

  private LoadedLibrary loadCublas() {
    LoadedLibrary lt = load(CudaLibrary.CUBLAS_LT);
    int major = toolkitMajor();
    Optional<LoadedLibrary> rejected = rejectIfNewerThanDriver(CudaLibrary.CUBLAS, "libcublas.so.");
    if (rejected.isPresent()) {
      return rejected.get();
    }
    String name = "libcublas.so." + major;
    // Prefer the cuBLAS next to the loaded cuBLASLt: the two are released together.
    Path path = lt.isLoaded() && Files.isRegularFile(lt.path().resolveSibling(name))
        ? lt.path().resolveSibling(name) : searchPath.find(name);
    if (path == null) {
      return notFound(CudaLibrary.CUBLAS, name);
    }
    if (!lt.isLoaded()) {
      return LoadedLibrary.missing(CudaLibrary.CUBLAS, path, null, "found " + path + " but it needs cuBLASLt, which"
          + " is unusable: " + lt.problem());
    }
    SymbolLookup lookup = open(path);
    int[] part = new int[1];
    int[] version = new int[3];
    for (int property = 0; property < 3; property++) {
      // libraryPropertyType: MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2
      callIntIntOut(lookup, "cublasGetProperty", property, part);
      version[property] = part[0];
    }
    return LoadedLibrary.loaded(CudaLibrary.CUBLAS, lookup, path, version[0] + "." + version[1] + "." + version[2],
        major);
  }

  private LoadedLibrary loadNvrtc() {
    int major = toolkitMajor();
    Optional<LoadedLibrary> rejected = rejectIfNewerThanDriver(CudaLibrary.NVRTC, "libnvrtc.so.");
    if (rejected.isPresent()) {
      outcomes.put(CudaLibrary.NVRTC_BUILTINS, LoadedLibrary.missing(CudaLibrary.NVRTC_BUILTINS, null, null,
          "not loaded because NVRTC is unusable: " + rejected.get().problem()));
      return rejected.get();
    }
    String name = "libnvrtc.so." + major;
    Path path = searchPath.find(name);
    if (path == null) {
      LoadedLibrary missing = notFound(CudaLibrary.NVRTC, name);
      outcomes.put(CudaLibrary.NVRTC_BUILTINS, LoadedLibrary.missing(CudaLibrary.NVRTC_BUILTINS, null, null,
          "not loaded because NVRTC is missing: " + missing.problem()));
      return missing;
    }
    // The builtins' file name carries the exact version NVRTC will dlopen. Load the single
    // candidate next to libnvrtc first (so it is resident before NVRTC can compile anything),
    // then confirm it against nvrtcVersion(); otherwise search for the exact name afterwards.
    List<Path> besideNvrtc = new ArrayList<>();
    for (Path candidate : Folders.childrenStartingWith(path.getParent(), "libnvrtc-builtins.so." + major + ".")) {
      besideNvrtc.add(candidate);
    }
    Path builtins = besideNvrtc.size() == 1 ? besideNvrtc.get(0) : null;
    SymbolLookup builtinsLookup = builtins == null ? null : open(builtins);
    SymbolLookup lookup = open(path);
    int[] majorOut = new int[1];
    int[] minorOut = new int[1];
    callIntOutOut(lookup, "nvrtcVersion", majorOut, minorOut);
    String version = majorOut[0] + "." + minorOut[0];
    String builtinsName = "libnvrtc-builtins.so." + version;
    if (builtins == null || !builtins.getFileName().toString().equals(builtinsName)) {
      builtins = Files.isRegularFile(path.resolveSibling(builtinsName))
          ? path.resolveSibling(builtinsName) : searchPath.find(builtinsName);
      builtinsLookup = builtins == null ? null : open(builtins);
    }
    if (builtinsLookup == null) {
      String problem = "found NVRTC " + version + " at " + path + " but not " + builtinsName + ", which it loads to"
          + " compile (searched " + searchPath.describe() + "); " + CudaLibrary.NVRTC_BUILTINS.installHint();
      outcomes.put(CudaLibrary.NVRTC_BUILTINS, LoadedLibrary.missing(CudaLibrary.NVRTC_BUILTINS, null, null, problem));
      return LoadedLibrary.missing(CudaLibrary.NVRTC, path, version, problem);
    }
    outcomes.put(CudaLibrary.NVRTC_BUILTINS,
        LoadedLibrary.loaded(CudaLibrary.NVRTC_BUILTINS, builtinsLookup, builtins, version, majorOut[0]));
    return LoadedLibrary.loaded(CudaLibrary.NVRTC, lookup, path, version, majorOut[0]);
  }

  private LoadedLibrary loadCudnn() {
    // cuDNN dlopens cuBLASLt (legacy convolutions) and NVRTC (runtime-compiled engines) by soname;
    // having ours resident makes those dlopens find exactly these files.
    LoadedLibrary lt = load(CudaLibrary.CUBLAS_LT);
    load(CudaLibrary.NVRTC);
    Path path = searchPath.find("libcudnn.so.9");
    if (path == null) {
      return notFound(CudaLibrary.CUDNN, "libcudnn.so.9");
    }
    SymbolLookup lookup = open(path);
    long version = callLong(lookup, "cudnnGetVersion");
    long cudart = callLong(lookup, "cudnnGetCudartVersion");
    String versionText = dotted(version, 10000, 100);
    int cudnnMajor = (int) (cudart / 1000);
    if (lt.isLoaded() && cudnnMajor != lt.cudaMajor()) {
      return LoadedLibrary.missing(CudaLibrary.CUDNN, path, versionText, path + " is built for CUDA " + cudnnMajor
          + " but cuBLAS/cuBLASLt are CUDA " + lt.cudaMajor() + "; install the matching build: pip install"
          + (lt.cudaMajor() >= 13 ? " nvidia-cudnn-cu13" : " nvidia-cudnn-cu12"));
    }
    if (cudnnMajor > driverMajorLimit()) {
      return LoadedLibrary.missing(CudaLibrary.CUDNN, path, versionText, path + " is built for CUDA " + cudnnMajor
          + " but the driver supports CUDA " + load(CudaLibrary.DRIVER).version() + " only; update the driver"
          + " or pip install nvidia-cudnn-cu" + driverMajorLimit());
    }
    if (!lt.isLoaded()) {
      return LoadedLibrary.loaded(CudaLibrary.CUDNN, lookup, path, versionText, cudnnMajor)
          .withWarning("cuBLASLt is missing, so cuDNN's legacy convolutions will fail: " + lt.problem());
    }
    return LoadedLibrary.loaded(CudaLibrary.CUDNN, lookup, path, versionText, cudnnMajor);
  }

  /** A clear refusal when only libraries newer than the driver's CUDA major are installed. */
  private Optional<LoadedLibrary> rejectIfNewerThanDriver(CudaLibrary library, String sonamePrefix) {
    int limit = driverMajorLimit();
    int major = toolkitMajor();
    if (major <= limit && searchPath.find(sonamePrefix + major) != null) {
      return Optional.empty();
    }
    for (int newer : MAJORS) {
      Path tooNew = newer > limit ? searchPath.find(sonamePrefix + newer) : null;
      if (tooNew != null) {
        String alternative = major <= limit
            ? ", or install the CUDA " + major + " build of " + library.displayName() + " (e.g. pip install nvidia-"
                + (library == CudaLibrary.NVRTC ? "cuda-nvrtc" : "cublas") + "-cu" + major + ")"
            : " (Frugal needs a driver for CUDA 12 or newer)";
        return Optional.of(LoadedLibrary.missing(library, tooNew, null, "found " + tooNew + " (CUDA " + newer
            + ") but the driver supports CUDA " + load(CudaLibrary.DRIVER).version() + " only: CUDA " + newer
            + " libraries need a driver for CUDA " + newer + " or newer (>= 580 for 13, >= 525 for 12); update the"
            + " NVIDIA driver" + alternative));
      }
    }
    return Optional.empty();
  }

  private LoadedLibrary notFound(CudaLibrary library, String fileName) {
    StringBuilder problem = new StringBuilder(fileName).append(" not found (searched ")
        .append(searchPath.describe()).append(")");
    for (int major : MAJORS) {
      Path other = searchPath.find(fileName.substring(0, fileName.lastIndexOf(".so.") + 4) + major);
      if (other != null && !fileName.endsWith("." + major)) {
        problem.append("; found ").append(other).append(" but the other CUDA libraries are CUDA ")
            .append(toolkitMajor()).append(", and cuBLAS, cuBLASLt and NVRTC must share one CUDA major");
      }
    }
    problem.append("; ").append(library.installHint());
    return LoadedLibrary.missing(library, null, null, problem.toString());
  }

  private static SymbolLookup open(Path path) {
    return SymbolLookup.libraryLookup(path, Arena.global());
  }

  private static List<String> linkerFolderNames() {
    return List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib");
  }

  /** The file a loaded library was mapped from, read from {@code /proc/self/maps}. */
  private static Optional<Path> mappedPath(String fileNamePrefix) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        int slash = line.indexOf('/');
        if (slash >= 0) {
          Path file = Path.of(line.substring(slash).strip());
          if (file.getFileName() != null && file.getFileName().toString().startsWith(fileNamePrefix)) {
            return Optional.of(file);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // Only used to report the path; the library itself loaded fine.
    }
    return Optional.empty();
  }

  /** {@code libnvidia-ml.so.580.82.07} gives {@code "580.82.07"}; null if the name has no release. */
  private static String driverReleaseFromFileName(Path path) {
    String name = path.getFileName().toString();
    int so = name.indexOf(".so.");
    String release = so < 0 ? "" : name.substring(so + 4);
    return release.contains(".") ? release : null;
  }

  private static String dotted(long version, int majorScale, int minorScale) {
    return version / majorScale + "." + (version % majorScale) / minorScale + "." + version % minorScale;
  }

  private static MethodHandle handle(SymbolLookup lookup, String symbol, FunctionDescriptor descriptor) {
    MemorySegment address = lookup.find(symbol)
        .orElseThrow(() -> new IllegalStateException("the library does not export " + symbol));
    return LINKER.downcallHandle(address, descriptor);
  }

  private static int callIntOut(SymbolLookup lookup, String symbol, int[] out) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment slot = arena.allocate(JAVA_INT);
      int status = (int) handle(lookup, symbol, FunctionDescriptor.of(JAVA_INT, ADDRESS)).invokeExact(slot);
      out[0] = slot.get(JAVA_INT, 0);
      return status;
    } catch (Throwable t) {
      throw asRuntime(t);
    }
  }

  private static void callIntIntOut(SymbolLookup lookup, String symbol, int argument, int[] out) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment slot = arena.allocate(JAVA_INT);
      int status = (int) handle(lookup, symbol, FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS))
          .invokeExact(argument, slot);
      if (status != 0) {
        throw new IllegalStateException(symbol + "(" + argument + ") returned status " + status);
      }
      out[0] = slot.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw asRuntime(t);
    }
  }

  private static void callIntOutOut(SymbolLookup lookup, String symbol, int[] first, int[] second) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment a = arena.allocate(JAVA_INT);
      MemorySegment b = arena.allocate(JAVA_INT);
      int status = (int) handle(lookup, symbol, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)).invokeExact(a, b);
      if (status != 0) {
        throw new IllegalStateException(symbol + " returned status " + status);
      }
      first[0] = a.get(JAVA_INT, 0);
      second[0] = b.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw asRuntime(t);
    }
  }

  private static long callLong(SymbolLookup lookup, String symbol) {
    try {
      return (long) handle(lookup, symbol, FunctionDescriptor.of(JAVA_LONG)).invokeExact();
    } catch (Throwable t) {
      throw asRuntime(t);
    }
  }

  private static RuntimeException asRuntime(Throwable t) {
    if (t instanceof RuntimeException runtime) {
      return runtime;
    }
    if (t instanceof Error error) {
      throw error;
    }
    return new IllegalStateException(t);
  }
}
