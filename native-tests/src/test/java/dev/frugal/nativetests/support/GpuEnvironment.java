package dev.frugal.nativetests.support;

import dev.frugal.cuda.CudaDiscovery;
import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.DiscoveryReport;
import dev.frugal.cuda.LibraryStatus;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.driver.CudaContext;
import java.util.List;

/**
 * What this JVM found, as {@code frugal devices} reports it ({@link CudaDiscovery#report()}: every
 * library's outcome and the GPUs the driver sees), plus the one thing the tests add: whether the
 * device under test ({@code frugal.test.device}, default 0) can be used, and if not, why.
 *
 * @param report the libraries and devices, exactly as the runtime's discovery sees them
 * @param testDevice the CUDA ordinal the tests run on
 * @param deviceProblem why the device under test cannot be used although the driver loaded (no
 *     GPU, fewer GPUs than the ordinal, a GPU too old for the loaded libraries), or null
 */
public record GpuEnvironment(DiscoveryReport report, int testDevice, String deviceProblem) {

  /** The system property naming the CUDA ordinal under test. */
  public static final String DEVICE_PROPERTY = "frugal.test.device";

  /** Discovers this machine once per JVM; later calls return the same snapshot. */
  public static GpuEnvironment current() {
    return Holder.CURRENT;
  }

  private static final class Holder {
    static final GpuEnvironment CURRENT = discover();
  }

  /**
   * Uses the runtime's own discovery, so a skip reason is the sentence a user would see from
   * {@code frugal devices}. Never throws: {@link CudaDiscovery#report()} turns every failure into
   * a library reason, and this adds the device under test's.
   */
  static GpuEnvironment discover() {
    DiscoveryReport report = CudaDiscovery.report();
    int ordinal = Integer.getInteger(DEVICE_PROPERTY, 0);
    return new GpuEnvironment(report, ordinal, deviceProblem(report, ordinal));
  }

  /** Why device {@code ordinal} of {@code report} is unusable, or null (also null without a driver). */
  static String deviceProblem(DiscoveryReport report, int ordinal) {
    LibraryStatus driver = report.library(CudaLibrary.DRIVER.displayName());
    if (driver == null || !driver.found()) {
      return null;
    }
    List<DeviceInfo> devices = report.devices();
    if (devices.isEmpty()) {
      return driver.reason() == null ? "the driver lists no GPU" : driver.reason();
    }
    if (ordinal < 0 || ordinal >= devices.size()) {
      return DEVICE_PROPERTY + "=" + ordinal + " but the driver lists " + devices.size() + " GPU(s)";
    }
    DeviceInfo device = devices.get(ordinal);
    try {
      return CudaContext.unsupportedReason(ordinal, device.name(), capability(device), LibraryLoader.system().toolkitMajor());
    } catch (RuntimeException | LinkageError e) {
      return "cannot tell whether " + device.name() + " suits the loaded libraries: " + e;
    }
  }

  /** The device under test, or null when there is none. */
  public DeviceInfo device() {
    return testDevice >= 0 && testDevice < report.devices().size() ? report.devices().get(testDevice) : null;
  }

  private static int capability(DeviceInfo device) {
    String[] parts = device.computeCapability().split("\\.");
    return 10 * Integer.parseInt(parts[0]) + Integer.parseInt(parts[1]);
  }
}
