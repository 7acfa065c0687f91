package dev.frugal.cuda.discovery;

import static dev.frugal.cuda.discovery.FakeLibraries.files;
import static dev.frugal.cuda.discovery.FakeLibraries.folder;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search order of issue 4, checked on fake folders (a fake home and a fake machine root). */
class LibrarySearchPathTest {
  @TempDir Path tmp;

  @Test
  void searchesTheFoldersInTheOrderOfIssueFour() throws IOException {
    Path root = folder(tmp, "root");
    Path home = folder(tmp, "home");
    Path explicitA = folder(tmp, "explicit-a");
    Path explicitB = folder(tmp, "explicit-b");
    Path cudaHome = folder(tmp, "cuda-home/lib64");
    Path cudaPath = folder(tmp, "cuda-path/targets/x86_64-linux/lib");
    Path venvWheels = folder(tmp, "venv/lib/python3.12/site-packages/nvidia/cu13/lib");
    Path venvLib = folder(tmp, "venv/lib");
    Path condaWheels = folder(tmp, "conda/lib/python3.11/site-packages/nvidia/cudnn/lib");
    Path condaLib = folder(tmp, "conda/lib");
    Path userCublas = folder(home, ".local/lib/python3.12/site-packages/nvidia/cublas/lib");
    Path userNvrtc = folder(home, ".local/lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib");
    Path pyenvCu13 = folder(home, ".pyenv/versions/3.11.7/lib/python3.11/site-packages/nvidia/cu13/lib");
    Path machineWheels = folder(root, "usr/local/lib/python3.10/dist-packages/nvidia/cudnn/lib");
    Path toolkit = folder(root, "usr/local/cuda/lib64");
    Path toolkit13 = folder(root, "usr/local/cuda-13.0/lib64");
    Path toolkit12 = folder(root, "usr/local/cuda-12.8/lib64");
    folder(root, "usr/local/cuda-13.0/lib64/stubs");
    Path ldLibraryPath = folder(tmp, "ld-library-path");
    Path fromConfig = folder(root, "opt/nvidia/lib");
    Path fromDefaults = folder(root, "usr/lib/x86_64-linux-gnu");
    Path fromDefaultsParent = root.resolve("usr/lib");
    Files.writeString(folder(root, "etc").resolve("ld.so.conf"), "include /etc/ld.so.conf.d/*.conf\n");
    Files.writeString(folder(root, "etc/ld.so.conf.d").resolve("nvidia.conf"), "# driver\n/opt/nvidia/lib  # x\n");
    Map<String, String> environment = Map.of(
        "FRUGAL_CUDA_LIBS", explicitA + ":" + tmp.resolve("does-not-exist") + "::" + explicitB,
        "CUDA_HOME", tmp.resolve("cuda-home").toString(),
        "CUDA_PATH", tmp.resolve("cuda-path").toString(),
        "VIRTUAL_ENV", tmp.resolve("venv").toString(),
        "CONDA_PREFIX", tmp.resolve("conda").toString(),
        "LD_LIBRARY_PATH", ldLibraryPath.toString());

    LibrarySearchPath path = LibrarySearchPath.fromEnvironment(environment, home, root.toString(), false);

    assertEquals(List.of(explicitA, explicitB, cudaHome, cudaPath, venvWheels, venvLib, condaWheels, condaLib,
        userCublas, userNvrtc, pyenvCu13, machineWheels, toolkit, toolkit13, toolkit12, ldLibraryPath, fromConfig,
        fromDefaults, fromDefaultsParent), directories(path), path.describe());
    assertEquals(List.of("FRUGAL_CUDA_LIBS", "FRUGAL_CUDA_LIBS", "CUDA_HOME", "CUDA_PATH",
        "VIRTUAL_ENV site-packages", "VIRTUAL_ENV", "CONDA_PREFIX site-packages", "CONDA_PREFIX", "site-packages",
        "site-packages", "site-packages", "site-packages", "/usr/local/cuda*", "/usr/local/cuda*", "/usr/local/cuda*",
        "linker path", "linker path", "linker path", "linker path"),
        path.locations().stream().map(SearchLocation::origin).toList());
  }

  @Test
  void findsEveryWheelLayoutUnderSitePackagesInPreferenceOrder() {
    Path home = folder(tmp, "home");
    Path sitePackages = folder(home, ".local/lib/python3.12/site-packages");
    List<Path> layouts = List.of(folder(sitePackages, "nvidia/cu13/lib"), folder(sitePackages, "nvidia/cublas/lib"),
        folder(sitePackages, "nvidia/cuda_nvrtc/lib"), folder(sitePackages, "nvidia/cudnn/lib"),
        folder(sitePackages, "nvidia/cu12/lib"));
    folder(sitePackages, "nvidia/cusparse/lib");

    LibrarySearchPath path = LibrarySearchPath.fromEnvironment(Map.of(), home, null, false);

    assertEquals(layouts, directories(path));
  }

  @Test
  void neverSearchesAStubsFolderEvenWhenNamedExplicitly() {
    Path stubs = folder(tmp, "cuda/lib64/stubs");
    Path real = folder(tmp, "cuda/lib64");

    LibrarySearchPath path = LibrarySearchPath.fromEnvironment(
        Map.of("FRUGAL_CUDA_LIBS", stubs + ":" + real), folder(tmp, "home"), null, false);

    assertEquals(List.of(real), directories(path));
  }

  @Test
  void findReturnsTheFileInTheEarliestFolder() {
    Path first = files(tmp.resolve("first"), "libcublas.so.13");
    Path second = files(tmp.resolve("second"), "libcublas.so.13", "libnvrtc.so.13");
    LibrarySearchPath path = LibrarySearchPath.of(List.of(first, second));

    assertEquals(first.resolve("libcublas.so.13"), path.find("libcublas.so.13"));
    assertEquals(second.resolve("libnvrtc.so.13"), path.find("libnvrtc.so.13"));
    assertNull(path.find("libcudnn.so.9"));
  }

  @Test
  void anEmptySearchPathSaysWhichPlacesItConsidered() {
    LibrarySearchPath path = LibrarySearchPath.fromEnvironment(
        Map.of("CUDA_HOME", tmp.resolve("missing").toString()), folder(tmp, "home"), null, false);

    assertTrue(path.locations().isEmpty());
    String described = path.describe();
    for (String place : List.of("FRUGAL_CUDA_LIBS", "CUDA_HOME/CUDA_PATH", "VIRTUAL_ENV/CONDA_PREFIX",
        "site-packages", "/usr/local/cuda*", "linker paths")) {
      assertTrue(described.contains(place), () -> place + " missing from: " + described);
    }
  }

  @Test
  void linkerPathsPutLdLibraryPathFirstThenConfigThenDefaults() throws IOException {
    Path root = folder(tmp, "root");
    Files.writeString(folder(root, "etc").resolve("ld.so.conf"), "/opt/a\ninclude conf.d/*.conf\n");
    Files.writeString(folder(root, "etc/conf.d").resolve("b.conf"), "/opt/b\n");

    List<Path> folders = LinkerPaths.all(Map.of("LD_LIBRARY_PATH", "/x:/y"), root.toString());

    assertEquals(List.of(Path.of("/x"), Path.of("/y"), Path.of(root + "/opt/a"), Path.of(root + "/opt/b"),
        Path.of(root + "/lib/x86_64-linux-gnu")), folders.subList(0, 5));
  }

  private static List<Path> directories(LibrarySearchPath path) {
    return path.locations().stream().map(SearchLocation::directory).toList();
  }
}
