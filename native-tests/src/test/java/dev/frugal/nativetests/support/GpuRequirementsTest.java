package dev.frugal.nativetests.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.DiscoveryReport;
import dev.frugal.cuda.LibraryStatus;
import dev.frugal.cuda.discovery.CudaLibrary;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The skip reasons GPU tests give, checked without a GPU (this class is not tagged {@code gpu},
 * so the CPU-only build runs it): each names what is wrong and carries discovery's own words, so
 * a skipped GPU run tells the reader what to install.
 */
class GpuRequirementsTest {
  private static final DeviceInfo H100 = new DeviceInfo(0, "NVIDIA H100 80GB HBM3", "9.0", 85_000_000_000L, "13.0");

  @Test
  void noDriverSaysNoGpuWithDiscoverysReason() {
    GpuEnvironment environment = environment(List.of(), null,
        new LibraryStatus("cuda-driver", false, null, null, "libcuda.so.1 not found by the system linker; install the NVIDIA display driver"));
    Optional<String> reason = GpuRequirements.unavailableReason(environment, List.of());
    assertTrue(reason.isPresent());
    assertTrue(reason.get().startsWith("no GPU: the CUDA driver (libcuda.so.1) is not usable: libcuda.so.1 not found"),
        reason.get());
    assertEquals("no GPU", GpuRequirements.describe(environment));
  }

  @Test
  void driverWithoutUsableDeviceQuotesTheProblem() {
    LibraryStatus driver = new LibraryStatus("cuda-driver", true, "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "13.0",
        "the driver loaded but could not list GPUs: cuInit failed with CUDA_ERROR_NO_DEVICE (100)");
    DiscoveryReport report = new DiscoveryReport(List.of(driver), List.of());
    String problem = GpuEnvironment.deviceProblem(report, 0);
    assertEquals(driver.reason(), problem);
    Optional<String> reason = GpuRequirements.unavailableReason(new GpuEnvironment(report, 0, problem), List.of());
    assertTrue(reason.orElseThrow().contains("libcuda.so.1 (CUDA 13.0) loaded, but the driver loaded but could not list"
        + " GPUs: cuInit failed with CUDA_ERROR_NO_DEVICE"), reason.get());
  }

  @Test
  void ordinalBeyondTheDeviceListIsAProblem() {
    DiscoveryReport report = new DiscoveryReport(List.of(new LibraryStatus("cuda-driver", true, "/x/libcuda.so.1", "13.0", null)),
        List.of(H100));
    assertEquals(null, GpuEnvironment.deviceProblem(report, 0), "an sm_90 GPU suits CUDA 12 and 13 libraries alike");
    assertEquals("frugal.test.device=3 but the driver lists 1 GPU(s)", GpuEnvironment.deviceProblem(report, 3));
  }

  @Test
  void missingRequiredLibrariesAreListedOnlyWhenRequired() {
    GpuEnvironment environment = environment(List.of(H100), null,
        new LibraryStatus("cuda-driver", true, "/x/libcuda.so.1", "13.0", null),
        new LibraryStatus("cublas", true, "/x/libcublas.so.13", "13.1.1", null),
        new LibraryStatus("cudnn", false, null, null, "libcudnn.so.9 not found in /opt/venv/lib; pip install nvidia-cudnn-cu13"));
    assertEquals(Optional.empty(), GpuRequirements.unavailableReason(environment, List.of(CudaLibrary.CUBLAS)));
    String reason = GpuRequirements.unavailableReason(environment, List.of(CudaLibrary.CUDNN, CudaLibrary.NVML)).orElseThrow();
    assertTrue(reason.startsWith("GPU NVIDIA H100 80GB HBM3 present, but 2 libraries are missing: "), reason);
    assertTrue(reason.contains("cudnn: libcudnn.so.9 not found in /opt/venv/lib; pip install nvidia-cudnn-cu13"), reason);
    assertTrue(reason.contains("nvml: not in the discovery report"), reason);
    assertEquals("GPU 0: NVIDIA H100 80GB HBM3 (sm 9.0, 81062 MiB, driver CUDA 13.0)", GpuRequirements.describe(environment));
  }

  private static GpuEnvironment environment(List<DeviceInfo> devices, String problem, LibraryStatus... libraries) {
    return new GpuEnvironment(new DiscoveryReport(new ArrayList<>(List.of(libraries)), devices), 0, problem);
  }
}
