package dev.frugal.nativetests.support;

import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.LibraryStatus;
import dev.frugal.cuda.discovery.CudaLibrary;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * Decides whether a GPU test can run in a {@link GpuEnvironment}, and if not, says why in words a
 * person can act on. Kept apart from the JUnit condition so that the CPU-only build tests the
 * reasons themselves ({@code GpuRequirementsTest}).
 */
public final class GpuRequirements {
  private GpuRequirements() {}

  /**
   * Why a test needing the driver plus {@code required} cannot run here, or empty if it can.
   *
   * <p>The order of checks is the order a user must fix things in: no driver (then "no GPU" plus
   * discovery's reason: where it looked, what to install), a driver whose device under test is
   * unusable (no GPU listed, with the driver's error, or a GPU too old), then each missing library
   * with discovery's reason.
   */
  public static Optional<String> unavailableReason(GpuEnvironment environment, Collection<CudaLibrary> required) {
    LibraryStatus driver = environment.report().library(CudaLibrary.DRIVER.displayName());
    if (driver == null || !driver.found()) {
      String why = driver == null ? "discovery did not report the CUDA driver" : orUnknown(driver.reason());
      return Optional.of("no GPU: the CUDA driver (libcuda.so.1) is not usable: " + why);
    }
    if (environment.deviceProblem() != null) {
      return Optional.of("no usable GPU: the CUDA driver " + driver.path() + " (CUDA " + driver.version()
          + ") loaded, but " + environment.deviceProblem());
    }
    List<String> missing = new ArrayList<>();
    for (CudaLibrary library : new LinkedHashSet<>(required)) {
      if (library == CudaLibrary.DRIVER) {
        continue;
      }
      LibraryStatus status = environment.report().library(library.displayName());
      if (status == null) {
        missing.add(library.displayName() + ": not in the discovery report");
      } else if (!status.found()) {
        missing.add(library.displayName() + ": " + orUnknown(status.reason()));
      }
    }
    if (!missing.isEmpty()) {
      return Optional.of("GPU " + environment.device().name() + " present, but " + (missing.size() == 1
          ? "a library is" : missing.size() + " libraries are") + " missing: " + String.join("; ", missing));
    }
    return Optional.empty();
  }

  /** A one-line description of the GPU a test runs on, for the "enabled" message. */
  public static String describe(GpuEnvironment environment) {
    DeviceInfo device = environment.device();
    if (device == null) {
      return "no GPU";
    }
    return "GPU " + device.index() + ": " + device.name() + " (sm " + device.computeCapability() + ", "
        + (device.memoryBytes() >> 20) + " MiB, driver CUDA " + device.driverVersion() + ")";
  }

  private static String orUnknown(String reason) {
    return reason == null || reason.isBlank() ? "unusable, and discovery gave no reason" : reason;
  }
}
