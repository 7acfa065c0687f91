package dev.frugal.cuda.discovery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The ordered folders searched for cuBLAS, cuBLASLt, NVRTC and cuDNN (the driver and NVML are
 * found by soname through the system linker instead). The order is the one issue 4 fixes:
 * <ol>
 *   <li>{@code FRUGAL_CUDA_LIBS}, a {@code :}-separated list of folders;
 *   <li>{@code CUDA_HOME} / {@code CUDA_PATH} ({@code lib64}, {@code lib},
 *       {@code targets/<arch>/lib}), and {@code CUDNN_PATH};
 *   <li>the active virtualenv ({@code VIRTUAL_ENV}) or conda prefix ({@code CONDA_PREFIX});
 *   <li>Python site-packages folders holding NVIDIA wheels ({@code nvidia/cu13/lib},
 *       {@code nvidia/cublas/lib}, {@code nvidia/cuda_nvrtc/lib}, {@code nvidia/cudnn/lib});
 *   <li>{@code /usr/local/cuda} and {@code /usr/local/cuda-*}, newest first;
 *   <li>the system linker's folders ({@code LD_LIBRARY_PATH}, {@code /etc/ld.so.conf}, defaults).
 * </ol>
 * Only folders that exist are kept, and a {@code stubs} folder is never searched. Build one from
 * an explicit environment in tests, so they do not depend on the machine's variables.
 */
public final class LibrarySearchPath {
  /** Where NVIDIA's wheels put their libraries under a site-packages folder (CUDA 13 and 12). */
  static final List<String> WHEEL_LIBRARY_FOLDERS = List.of(
      "nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib", "nvidia/cudnn/lib", "nvidia/cu12/lib");

  private static final String[] TOOLKIT_LIBRARY_FOLDERS = {
    "lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib"
  };

  private final List<SearchLocation> locations;

  private LibrarySearchPath(List<SearchLocation> locations) {
    this.locations = List.copyOf(locations);
  }

  /** A search path made of exactly these folders, in order (origin {@code "explicit"}). */
  public static LibrarySearchPath of(List<Path> folders) {
    Map<Path, SearchLocation> unique = new LinkedHashMap<>();
    for (Path folder : folders) {
      addIfFolder(unique, folder, "explicit");
    }
    return new LibrarySearchPath(new ArrayList<>(unique.values()));
  }

  /** The search path for this process: its environment, its user's home, and the system folders. */
  public static LibrarySearchPath system() {
    return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home", "/root")), true);
  }

  /**
   * Builds the search path from an environment.
   *
   * @param environment the variables to honour ({@code FRUGAL_CUDA_LIBS}, {@code CUDA_HOME}, ...)
   * @param home the user's home folder, for {@code ~/.local} and {@code ~/.pyenv}
   * @param includeMachineFolders whether to add the well-known machine-wide folders (site-packages
   *     under {@code /usr}, {@code /usr/local/cuda*}, the linker's folders) and ask {@code python3};
   *     false gives a search path that depends only on the arguments, for tests
   */
  public static LibrarySearchPath fromEnvironment(
      Map<String, String> environment, Path home, boolean includeMachineFolders) {
    return fromEnvironment(environment, home, includeMachineFolders ? "" : null, includeMachineFolders);
  }

  /**
   * Builds the search path from an environment, with the machine-wide folders read under
   * {@code machineRoot}: {@code ""} for this machine, a fake root folder in tests (like a chroot:
   * {@code /usr/local/cuda} becomes {@code <root>/usr/local/cuda}), or null to leave them out.
   *
   * @param askPython whether to ask {@code python3} for site-packages when no known folder has wheels
   */
  static LibrarySearchPath fromEnvironment(
      Map<String, String> environment, Path home, String machineRoot, boolean askPython) {
    boolean includeMachineFolders = machineRoot != null;
    Map<Path, SearchLocation> unique = new LinkedHashMap<>();
    String explicit = environment.get("FRUGAL_CUDA_LIBS");
    if (explicit != null) {
      for (String entry : explicit.split(":")) {
        if (!entry.isBlank()) {
          addIfFolder(unique, Path.of(entry.trim()), "FRUGAL_CUDA_LIBS");
        }
      }
    }
    for (String variable : List.of("CUDA_HOME", "CUDA_PATH")) {
      String root = environment.get(variable);
      if (root != null && !root.isBlank()) {
        for (String sub : TOOLKIT_LIBRARY_FOLDERS) {
          addIfFolder(unique, Path.of(root.trim()).resolve(sub), variable);
        }
      }
    }
    String cudnnRoot = environment.get("CUDNN_PATH");
    if (cudnnRoot != null && !cudnnRoot.isBlank()) {
      addIfFolder(unique, Path.of(cudnnRoot.trim()).resolve("lib"), "CUDNN_PATH");
      addIfFolder(unique, Path.of(cudnnRoot.trim()).resolve("lib64"), "CUDNN_PATH");
    }
    for (String variable : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
      String prefix = environment.get(variable);
      if (prefix != null && !prefix.isBlank()) {
        for (Path sitePackages : Folders.glob(prefix.trim() + "/lib/python3*/site-packages")) {
          addWheelFolders(unique, sitePackages, variable + " site-packages");
        }
        addIfFolder(unique, Path.of(prefix.trim()).resolve("lib"), variable);
      }
    }
    List<Path> sitePackages = new ArrayList<>();
    sitePackages.addAll(Folders.glob(home + "/.local/lib/python3*/site-packages"));
    String pyenvRoot = environment.getOrDefault("PYENV_ROOT", home + "/.pyenv");
    sitePackages.addAll(Folders.glob(pyenvRoot + "/versions/*/lib/python3*/site-packages"));
    for (String conda : List.of("miniconda3", "anaconda3", "miniforge3")) {
      sitePackages.addAll(Folders.glob(home + "/" + conda + "/lib/python3*/site-packages"));
    }
    if (includeMachineFolders) {
      for (String pattern : List.of(
          "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
          "/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages", "/usr/lib/python3*/dist-packages",
          "/opt/conda/lib/python3*/site-packages")) {
        sitePackages.addAll(Folders.glob(machineRoot + pattern));
      }
      if (askPython && sitePackages.stream().noneMatch(LibrarySearchPath::hasNvidiaWheels)) {
        // Only when no well-known folder holds NVIDIA wheels: asking Python costs a process start.
        sitePackages.addAll(askPythonForSitePackages());
      }
    }
    for (Path folder : sitePackages) {
      addWheelFolders(unique, folder, "site-packages");
    }
    if (includeMachineFolders) {
      List<Path> toolkits = new ArrayList<>();
      toolkits.add(Path.of(machineRoot + "/usr/local/cuda"));
      toolkits.addAll(Folders.childrenStartingWith(Path.of(machineRoot + "/usr/local"), "cuda-"));
      for (Path toolkit : toolkits) {
        for (String sub : TOOLKIT_LIBRARY_FOLDERS) {
          addIfFolder(unique, toolkit.resolve(sub), "/usr/local/cuda*");
        }
      }
      for (Path folder : LinkerPaths.all(environment, machineRoot)) {
        addIfFolder(unique, folder, "linker path");
      }
    }
    return new LibrarySearchPath(new ArrayList<>(unique.values()));
  }

  /** The folders, in search order. */
  public List<SearchLocation> locations() {
    return locations;
  }

  /** The first file with exactly this name in the search path's folders, or null. */
  public Path find(String fileName) {
    for (SearchLocation location : locations) {
      Path candidate = location.directory().resolve(fileName);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** A one-line list of the searched folders for error messages. */
  public String describe() {
    if (locations.isEmpty()) {
      return "no candidate folder exists (FRUGAL_CUDA_LIBS, CUDA_HOME/CUDA_PATH, VIRTUAL_ENV/CONDA_PREFIX,"
          + " Python site-packages with NVIDIA wheels, /usr/local/cuda*, linker paths)";
    }
    List<String> parts = new ArrayList<>();
    for (SearchLocation location : locations) {
      parts.add(location.toString());
    }
    return String.join(", ", parts);
  }

  private static boolean hasNvidiaWheels(Path sitePackages) {
    return Files.isDirectory(sitePackages.resolve("nvidia"));
  }

  private static void addWheelFolders(Map<Path, SearchLocation> unique, Path sitePackages, String origin) {
    for (String sub : WHEEL_LIBRARY_FOLDERS) {
      addIfFolder(unique, sitePackages.resolve(sub), origin);
    }
  }

  private static void addIfFolder(Map<Path, SearchLocation> unique, Path folder, String origin) {
    Path normalized = folder.toAbsolutePath().normalize();
    if (Folders.isStubFolder(normalized) || unique.containsKey(normalized) || !Files.isDirectory(normalized)) {
      return;
    }
    unique.put(normalized, new SearchLocation(normalized, origin));
  }

  /** Asks {@code python3} for its site-packages folders, giving up after a few seconds. */
  private static List<Path> askPythonForSitePackages() {
    ProcessBuilder builder = new ProcessBuilder("python3", "-c",
        "import site\nfor p in site.getsitepackages() + [site.getusersitepackages()]: print(p)");
    builder.redirectErrorStream(false);
    builder.redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      Process process = builder.start();
      try (InputStream out = process.getInputStream()) {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          return List.of();
        }
        List<Path> folders = new ArrayList<>();
        for (String line : new String(out.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          if (line.startsWith("/")) {
            folders.add(Path.of(line.strip()));
          }
        }
        return folders;
      }
    } catch (IOException | InterruptedException | SecurityException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return List.of();
    }
  }
}
