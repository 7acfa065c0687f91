package dev.frugal.cuda;

import java.util.List;

/**
 * Everything {@code frugal devices} shows: each native library with where it was found or why
 * not, and each GPU the driver sees.
 *
 * @param libraries one entry per library, in load order
 * @param devices the GPUs, empty when there is no usable driver or no GPU
 */
public record DiscoveryReport(List<LibraryStatus> libraries, List<DeviceInfo> devices) {

  /** Copies both lists so the report cannot change after it was made. */
  public DiscoveryReport {
    libraries = List.copyOf(libraries);
    devices = List.copyOf(devices);
  }

  /** The status of the library with this short name, or null if the report has no such entry. */
  public LibraryStatus library(String name) {
    for (LibraryStatus status : libraries) {
      if (status.name().equals(name)) {
        return status;
      }
    }
    return null;
  }
}
