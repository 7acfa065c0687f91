package dev.frugal.cuda;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code frugal devices} shows: every CUDA library Frugal binds (where it was found, its
 * version, or why it is missing and what to install) and every GPU the driver sees. This is the
 * one entry point the trainer uses; it never throws and never crashes the process, because "no
 * GPU" is a normal answer on a CPU-only machine.
 *
 * <p>Problems that are not about one library go on the {@code cuda-driver} entry's reason: a
 * driver that loads but lists no device (with the driver's error), and a GPU too old for the
 * loaded libraries (see {@link CudaContext#unsupportedReason}).
 */
public final class CudaDiscovery {
  private CudaDiscovery() {}

  /** Lists the driver's GPUs; may throw a {@link CudaException} when the driver cannot. */
  @FunctionalInterface
  interface DeviceLister {
    List<DeviceInfo> list();
  }

  /**
   * Loads every library through {@link LibraryLoader#system()} (once per process) and asks the
   * driver for its GPUs.
   *
   * @return one {@link LibraryStatus} per {@link CudaLibrary}, in load order, and the GPUs (empty
   *     when there is no usable driver or no GPU)
   */
  public static DiscoveryReport report() {
    return report(LibraryLoader.system(), CudaDiscovery::driverDevices);
  }

  /** {@link #report()} over any loader and device source, so tests need neither a GPU nor a driver. */
  static DiscoveryReport report(LibraryLoader loader, DeviceLister lister) {
    List<LibraryStatus> libraries = new ArrayList<>();
    for (CudaLibrary library : CudaLibrary.values()) {
      libraries.add(status(loader, library));
    }
    int driverIndex = CudaLibrary.DRIVER.ordinal();
    LibraryStatus driver = libraries.get(driverIndex);
    if (!driver.found()) {
      return new DiscoveryReport(libraries, List.of());
    }
    List<DeviceInfo> devices;
    List<String> notes = new ArrayList<>();
    try {
      devices = List.copyOf(lister.list());
      if (devices.isEmpty()) {
        notes.add("the driver loaded but sees no GPU (check nvidia-smi, CUDA_VISIBLE_DEVICES, or --gpus for"
            + " containers); Frugal will train on the CPU");
      }
    } catch (RuntimeException | LinkageError e) {
      devices = List.of();
      notes.add("the driver loaded but could not list GPUs: " + e.getMessage());
    }
    int toolkitMajor = toolkitMajor(loader);
    for (DeviceInfo device : devices) {
      String unsupported = CudaContext.unsupportedReason(device.index(), device.name(),
          capabilityNumber(device.computeCapability()), toolkitMajor);
      if (unsupported != null) {
        notes.add(unsupported);
      }
    }
    if (!notes.isEmpty()) {
      String reason = (driver.reason() == null ? "" : driver.reason() + "; ") + String.join("; ", notes);
      libraries.set(driverIndex,
          new LibraryStatus(driver.name(), driver.found(), driver.path(), driver.version(), reason));
    }
    return new DiscoveryReport(libraries, devices);
  }

  /** One library's outcome; a loader failure becomes a not-found entry instead of an exception. */
  private static LibraryStatus status(LibraryLoader loader, CudaLibrary library) {
    try {
      return loader.load(library).status();
    } catch (RuntimeException | LinkageError e) {
      return new LibraryStatus(library.displayName(), false, null, null,
          "discovery failed while loading " + library.displayName() + ": " + e + "; " + library.installHint());
    }
  }

  private static int toolkitMajor(LibraryLoader loader) {
    try {
      return loader.toolkitMajor();
    } catch (RuntimeException | LinkageError e) {
      return 0;
    }
  }

  /** {@code "8.9"} gives 89; anything unreadable gives 0 (treated as too old to be sure of). */
  static int capabilityNumber(String computeCapability) {
    int dot = computeCapability == null ? -1 : computeCapability.indexOf('.');
    if (dot < 0) {
      return 0;
    }
    try {
      return 10 * Integer.parseInt(computeCapability.substring(0, dot))
          + Integer.parseInt(computeCapability.substring(dot + 1));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The GPUs as the loaded driver reports them. */
  private static List<DeviceInfo> driverDevices() {
    int version = CudaDriver.driverVersion();
    String driverVersion = version / 1000 + "." + (version % 1000) / 10;
    List<DeviceInfo> devices = new ArrayList<>();
    int count = CudaDriver.deviceCount();
    for (int ordinal = 0; ordinal < count; ordinal++) {
      int device = CudaDriver.device(ordinal);
      int capability = CudaDriver.computeCapability(device);
      devices.add(new DeviceInfo(ordinal, CudaDriver.deviceName(device), capability / 10 + "." + capability % 10,
          CudaDriver.deviceTotalMemory(device), driverVersion));
    }
    return devices;
  }
}
