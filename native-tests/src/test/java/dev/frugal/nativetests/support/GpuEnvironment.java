package dev.frugal.nativetests.support;

import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.DiscoveryReport;
import dev.frugal.cuda.LibraryStatus;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;
import dev.frugal.cuda.driver.CudaDriver;
import java.util.ArrayList;
import java.util.List;

/**
 * What this JVM found: every CUDA library's discovery outcome, the GPUs the driver sees, and,
 * when the driver loaded but could not list devices, why ({@code cuInit} failing with
 * {@code CUDA_ERROR_NO_DEVICE}, a driver/kernel-module mismatch, ...).
 *
 * @param report the libraries and devices, as {@code frugal devices} shows them
 * @param deviceProblem why the device list is empty although the driver loaded, or null
 */
public record GpuEnvironment(DiscoveryReport report, String deviceProblem) {

  /** Discovers this machine once per JVM; later calls return the same snapshot. */
  public static GpuEnvironment current() {
    return Holder.CURRENT;
  }

  private static final class Holder {
    static final GpuEnvironment CURRENT = discover();
  }

  /**
   * Loads every library through {@link LibraryLoader#system()} (the same discovery the runtime
   * uses, so the skip reason is the one a user would see) and asks the driver for its devices.
   * Never throws: a failure becomes the {@link #deviceProblem()}.
   */
  static GpuEnvironment discover() {
    List<LibraryStatus> libraries = new ArrayList<>();
    boolean driverLoaded = false;
    for (LoadedLibrary library : LibraryLoader.system().loadAll()) {
      libraries.add(library.status());
      if (library.library() == dev.frugal.cuda.discovery.CudaLibrary.DRIVER) {
        driverLoaded = library.isLoaded();
      }
    }
    List<DeviceInfo> devices = new ArrayList<>();
    String problem = null;
    if (driverLoaded) {
      try {
        int version = CudaDriver.driverVersion();
        String driverVersion = version / 1000 + "." + (version % 1000) / 10;
        int count = CudaDriver.deviceCount();
        for (int ordinal = 0; ordinal < count; ordinal++) {
          int device = CudaDriver.device(ordinal);
          int capability = CudaDriver.computeCapability(device);
          devices.add(new DeviceInfo(ordinal, CudaDriver.deviceName(device), capability / 10 + "." + capability % 10,
              CudaDriver.deviceTotalMemory(device), driverVersion));
        }
      } catch (CudaException | LinkageError e) {
        problem = e.getMessage();
      }
    }
    return new GpuEnvironment(new DiscoveryReport(libraries, devices), problem);
  }
}
