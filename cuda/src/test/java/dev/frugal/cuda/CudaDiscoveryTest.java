package dev.frugal.cuda;

import static dev.frugal.cuda.discovery.FakeLibraries.files;
import static dev.frugal.cuda.discovery.FakeLibraries.loaderWithDriver;
import static dev.frugal.cuda.discovery.FakeLibraries.loaderWithoutDriver;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The façade behind {@code frugal devices}: one entry per library, the driver's GPUs, and the
 * notes for a driver without GPUs or a GPU too old for the libraries. Fake loaders and device
 * lists except for the last test, which is about this machine (no driver, pip libraries).
 */
class CudaDiscoveryTest {
  private static final List<String> NAMES =
      Arrays.stream(CudaLibrary.values()).map(CudaLibrary::displayName).toList();

  @TempDir Path tmp;

  @Test
  void withoutADriverThereIsOneEntryPerLibraryAndNoDevice() {
    AtomicBoolean asked = new AtomicBoolean();

    DiscoveryReport report = CudaDiscovery.report(loaderWithoutDriver(tmp), () -> {
      asked.set(true);
      return List.of();
    });

    assertEquals(NAMES, report.libraries().stream().map(LibraryStatus::name).toList());
    assertTrue(report.devices().isEmpty());
    assertFalse(asked.get(), "devices must not be listed without a driver");
    for (LibraryStatus status : report.libraries()) {
      assertFalse(status.found(), status::toString);
      assertNotNull(status.reason(), status::toString);
    }
  }

  @Test
  void aGpuOlderThanTuringIsListedWithWhatItNeeds() {
    LibraryLoader loader = loaderWithDriver("13.0", files(tmp.resolve("cu13"), "libcublasLt.so.13", "libcublas.so.13",
        "libnvrtc.so.13"));

    DiscoveryReport report = CudaDiscovery.report(loader,
        () -> List.of(new DeviceInfo(0, "Tesla P100", "6.0", 16L << 30, "13.0")));

    assertEquals(1, report.devices().size());
    LibraryStatus driver = report.library("cuda-driver");
    assertTrue(driver.found());
    assertEquals("GPU 0 (Tesla P100) is sm_60, but CUDA 13 libraries need sm_75 (Turing) or newer; on this GPU use"
        + " the CUDA 12 wheels (pip install nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12 nvidia-cudnn-cu12) and a driver"
        + " for CUDA 12", driver.reason());
  }

  @Test
  void aTuringOrNewerGpuGetsNoNote() {
    LibraryLoader loader = loaderWithDriver("13.0", files(tmp.resolve("cu13"), "libcublasLt.so.13"));
    DeviceInfo gpu = new DeviceInfo(0, "NVIDIA GeForce RTX 4090", "8.9", 24L << 30, "13.0");

    DiscoveryReport report = CudaDiscovery.report(loader, () -> List.of(gpu));

    assertEquals(List.of(gpu), report.devices());
    assertNull(report.library("cuda-driver").reason());
  }

  @Test
  void aDriverThatCannotListGpusKeepsItsErrorAndNeverThrows() {
    DiscoveryReport report = CudaDiscovery.report(loaderWithDriver("13.0", tmp), () -> {
      throw new CudaDriverException("CUDA driver", "cuInit", 100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device");
    });

    assertTrue(report.devices().isEmpty());
    String reason = report.library("cuda-driver").reason();
    assertTrue(reason.startsWith("the driver loaded but could not list GPUs: CUDA driver: cuInit failed with"
        + " CUDA_ERROR_NO_DEVICE (100)"), reason);
  }

  @Test
  void aDriverThatSeesNoGpuSaysSo() {
    DiscoveryReport report = CudaDiscovery.report(loaderWithDriver("12.8", tmp), List::of);

    assertTrue(report.library("cuda-driver").reason().startsWith("the driver loaded but sees no GPU"));
  }

  @Test
  void parsesComputeCapabilities() {
    assertEquals(89, CudaDiscovery.capabilityNumber("8.9"));
    assertEquals(100, CudaDiscovery.capabilityNumber("10.0"));
    assertEquals(0, CudaDiscovery.capabilityNumber("unknown"));
    assertEquals(0, CudaDiscovery.capabilityNumber(null));
  }

  @Test
  void onThisMachineTheDriverIsMissingAndThePipLibrariesAreFound() {
    assumeFalse(LibraryLoader.system().load(CudaLibrary.DRIVER).isLoaded(), "this machine has a CUDA driver");
    for (CudaLibrary library : List.of(CudaLibrary.CUBLAS_LT, CudaLibrary.CUBLAS, CudaLibrary.NVRTC,
        CudaLibrary.NVRTC_BUILTINS, CudaLibrary.CUDNN)) {
      NativeAssumptions.assumeLoaded(library);
    }

    DiscoveryReport report = CudaDiscovery.report();

    assertTrue(report.devices().isEmpty());
    LibraryStatus driver = report.library("cuda-driver");
    assertFalse(driver.found());
    assertTrue(driver.reason().startsWith("libcuda.so.1 was not found by the dynamic linker"), driver.reason());
    assertTrue(driver.reason().contains(CudaLibrary.DRIVER.installHint()), driver.reason());
    LibraryStatus nvml = report.library("nvml");
    assertFalse(nvml.found());
    assertTrue(nvml.reason().startsWith("libnvidia-ml.so.1 was not found by the dynamic linker"), nvml.reason());
    for (String name : List.of("cublasLt", "cublas", "nvrtc", "nvrtc-builtins", "cudnn")) {
      LibraryStatus status = report.library(name);
      assertTrue(status.found(), status::toString);
      assertTrue(Path.of(status.path()).isAbsolute(), status::toString);
      assertTrue(status.version().matches("\\d+\\.\\d+(\\.\\d+)?"), status::toString);
    }
  }
}
