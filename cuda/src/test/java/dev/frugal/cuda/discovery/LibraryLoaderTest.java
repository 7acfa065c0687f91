package dev.frugal.cuda.discovery;

import static dev.frugal.cuda.discovery.FakeLibraries.files;
import static dev.frugal.cuda.discovery.FakeLibraries.folder;
import static dev.frugal.cuda.discovery.FakeLibraries.loaderWithDriver;
import static dev.frugal.cuda.discovery.FakeLibraries.loaderWithoutDriver;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.CudaLibraryNotFoundException;
import dev.frugal.cuda.NativeAssumptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the loader picks a CUDA major and explains what it could not use. Fake folders hold empty
 * files named like the libraries: choosing a major only looks at names, and every test that
 * would open a fake file expects the clear failure that produces. The tests that load real files
 * use the pip wheels and skip, with the reason, where they are absent.
 */
class LibraryLoaderTest {
  private static final String[] CUDA13 = {"libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13"};
  private static final String[] CUDA12 = {"libcublasLt.so.12", "libcublas.so.12", "libnvrtc.so.12"};

  @TempDir Path tmp;

  @Test
  void prefersCuda13OverCuda12WhereverEachIs() {
    Path old = files(tmp.resolve("first"), CUDA12);
    Path recent = files(tmp.resolve("second"), CUDA13);

    assertEquals(13, loaderWithoutDriver(old, recent).toolkitMajor());
    assertEquals(12, loaderWithoutDriver(old).toolkitMajor());
  }

  @Test
  void keepsCublasCublasLtAndNvrtcOnTheMajorMostOfThemHave() {
    Path folder = files(tmp.resolve("libs"), "libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.12");
    LibraryLoader loader = loaderWithoutDriver(folder);

    assertEquals(13, loader.toolkitMajor());
    LoadedLibrary nvrtc = loader.load(CudaLibrary.NVRTC);
    assertFalse(nvrtc.isLoaded());
    assertTrue(nvrtc.problem().startsWith("libnvrtc.so.13 not found (searched " + folder), nvrtc.problem());
    assertTrue(nvrtc.problem().contains("found " + folder.resolve("libnvrtc.so.12") + " but the other CUDA libraries"
        + " are CUDA 13, and cuBLAS, cuBLASLt and NVRTC must share one CUDA major"), nvrtc.problem());
    assertTrue(nvrtc.problem().contains("pip install nvidia-cuda-nvrtc"), nvrtc.problem());
    LoadedLibrary builtins = loader.load(CudaLibrary.NVRTC_BUILTINS);
    assertFalse(builtins.isLoaded());
    assertTrue(builtins.problem().startsWith("not loaded because NVRTC is missing: libnvrtc.so.13 not found"),
        builtins.problem());
  }

  @Test
  void aMissingLibrarySaysWhereItLookedAndWhatToInstall() {
    Path empty = folder(tmp, "empty");
    LibraryLoader loader = loaderWithoutDriver(empty);

    for (CudaLibrary library : List.of(CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS, CudaLibrary.NVRTC,
        CudaLibrary.CUDNN)) {
      LoadedLibrary outcome = loader.load(library);
      assertFalse(outcome.isLoaded(), library::toString);
      assertNull(outcome.path(), library::toString);
      assertTrue(outcome.problem().contains("not found (searched " + empty + " (explicit))"), outcome.problem());
      assertTrue(outcome.problem().endsWith(library.installHint()), outcome.problem());
      assertEquals(outcome.problem(), outcome.status().reason());
      CudaLibraryNotFoundException failure = outcome.failure();
      assertEquals(library.displayName(), failure.library());
      assertEquals(outcome.problem(), failure.getMessage());
    }
  }

  @Test
  void aDriverOlderThanTheOnlyLibrariesRefusesThemWithTheReason() {
    Path recent = files(tmp.resolve("cu13"), CUDA13);
    LibraryLoader loader = loaderWithDriver("12.4", recent);

    assertEquals(12, loader.toolkitMajor());
    LoadedLibrary lt = loader.load(CudaLibrary.CUBLAS_LT);
    assertFalse(lt.isLoaded());
    assertEquals(recent.resolve("libcublasLt.so.13"), lt.path());
    assertTrue(lt.problem().contains("(CUDA 13) but the driver supports CUDA 12.4 only"), lt.problem());
    assertTrue(lt.problem().contains("update the NVIDIA driver, or install the CUDA 12 build of cublasLt"
        + " (e.g. pip install nvidia-cublas-cu12)"), lt.problem());
    assertTrue(loader.load(CudaLibrary.NVRTC).problem().contains("pip install nvidia-cuda-nvrtc-cu12"));
  }

  @Test
  void aDriverForCuda12TakesTheCuda12LibrariesWhenBothAreInstalled() {
    Path recent = files(tmp.resolve("cu13"), CUDA13);
    Path old = files(tmp.resolve("cu12"), CUDA12);

    assertEquals(12, loaderWithDriver("12.8", recent, old).toolkitMajor());
    assertEquals(13, loaderWithDriver("13.0", recent, old).toolkitMajor());
  }

  @Test
  void aDriverTooOldForEveryMajorRefusesEveryLibrary() {
    Path old = files(tmp.resolve("cu12"), CUDA12);
    LibraryLoader loader = loaderWithDriver("11.8", old);

    LoadedLibrary lt = loader.load(CudaLibrary.CUBLAS_LT);
    assertFalse(lt.isLoaded());
    assertTrue(lt.problem().contains("(CUDA 12) but the driver supports CUDA 11.8 only"), lt.problem());
    assertTrue(lt.problem().contains("Frugal needs a driver for CUDA 12 or newer"), lt.problem());
  }

  @Test
  void aStubLibcudaOnLdLibraryPathIsReportedAndNeverOpened() {
    Path stubs = files(tmp.resolve("cuda/lib64/stubs"), "libcuda.so.1");
    LibraryLoader loader = new LibraryLoader(LibrarySearchPath.of(List.of()),
        Map.of("LD_LIBRARY_PATH", stubs.toString()), true);

    LoadedLibrary driver = loader.load(CudaLibrary.DRIVER);

    assertFalse(driver.isLoaded());
    assertEquals(stubs.resolve("libcuda.so.1"), driver.path());
    assertTrue(driver.problem().contains("link-time stub " + stubs.resolve("libcuda.so.1")), driver.problem());
    assertTrue(driver.problem().contains("remove " + stubs + " from LD_LIBRARY_PATH"), driver.problem());
  }

  @Test
  void aFileThatIsNotALibraryBecomesAReasonNotACrash() throws IOException {
    Path folder = files(tmp.resolve("broken"), CUDA13);
    Files.writeString(folder.resolve("libcublasLt.so.13"), "not an ELF file");

    LoadedLibrary lt = loaderWithoutDriver(folder).load(CudaLibrary.CUBLAS_LT);

    assertFalse(lt.isLoaded());
    assertTrue(lt.problem().startsWith("cublasLt could not be loaded: "), lt.problem());
    assertTrue(lt.problem().endsWith(CudaLibrary.CUBLAS_LT.installHint()), lt.problem());
  }

  @Test
  void findsTheRealPipLibrariesInAVirtualenvWheelLayout() throws IOException {
    Path real = NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT).path().getParent();
    NativeAssumptions.assumeLoaded(CudaLibrary.NVRTC);
    Path venv = tmp.resolve("venv");
    Path wheels = folder(venv, "lib/python3.11/site-packages/nvidia/cu13/lib");
    for (String name : List.of("libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13", "libnvrtc-builtins.so.13.0")) {
      Files.createSymbolicLink(wheels.resolve(name), real.resolve(name));
    }
    LibraryLoader loader = new LibraryLoader(
        LibrarySearchPath.fromEnvironment(Map.of("VIRTUAL_ENV", venv.toString()), tmp.resolve("home"), null, false),
        Map.of(), false);

    for (CudaLibrary library : List.of(CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS, CudaLibrary.NVRTC,
        CudaLibrary.NVRTC_BUILTINS)) {
      LoadedLibrary outcome = loader.load(library);
      assertTrue(outcome.isLoaded(), outcome::toString);
      assertEquals(wheels, outcome.path().getParent(), outcome::toString);
      assertTrue(outcome.version().startsWith("13."), outcome::toString);
      assertEquals(13, outcome.cudaMajor(), outcome::toString);
    }
    LoadedLibrary cudnn = loader.load(CudaLibrary.CUDNN);
    assertFalse(cudnn.isLoaded());
    assertTrue(cudnn.problem().startsWith("libcudnn.so.9 not found (searched " + wheels), cudnn.problem());
  }

  @Test
  void nvrtcWithoutItsBuiltinsIsRefusedWithTheExactFileItNeeds() throws IOException {
    Path real = NativeAssumptions.assumeLoaded(CudaLibrary.NVRTC).path();
    Path folder = folder(tmp, "nvrtc-alone");
    Files.createSymbolicLink(folder.resolve(real.getFileName()), real);

    LoadedLibrary nvrtc = loaderWithoutDriver(folder).load(CudaLibrary.NVRTC);

    assertFalse(nvrtc.isLoaded());
    String builtins = "libnvrtc-builtins.so." + nvrtc.version();
    assertTrue(nvrtc.problem().startsWith("found NVRTC " + nvrtc.version() + " at " + folder.resolve(real.getFileName())
        + " but not " + builtins), nvrtc.problem());
    assertTrue(nvrtc.problem().endsWith(CudaLibrary.NVRTC_BUILTINS.installHint()), nvrtc.problem());
  }
}
