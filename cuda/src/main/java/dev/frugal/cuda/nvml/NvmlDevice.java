package dev.frugal.cuda.nvml;

import java.lang.foreign.MemorySegment;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One GPU as NVML sees it ({@code nvmlDevice_t}), valid while the {@link Nvml} it came from is
 * open. Queries that a GPU or driver may not support return an empty optional; anything else that
 * fails throws {@link dev.frugal.cuda.NvmlException}.
 */
public final class NvmlDevice {
  private final Nvml nvml;
  private final MemorySegment handle;
  private final String description;

  NvmlDevice(Nvml nvml, MemorySegment handle, String description) {
    this.nvml = nvml;
    this.handle = handle;
    this.description = description;
  }

  /** The {@code nvmlDevice_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** The product name, e.g. {@code "NVIDIA GeForce RTX 4090"} ({@code nvmlDeviceGetName}). */
  public String name() {
    return nvml.name(handle);
  }

  /** Total, free and used memory of the whole GPU ({@code nvmlDeviceGetMemoryInfo}). */
  public NvmlMemory memory() {
    return nvml.memory(handle);
  }

  /**
   * Power draw in milliwatts ({@code nvmlDeviceGetPowerUsage}): averaged over one second on Ampere
   * (except GA100) and newer, instantaneous on older GPUs; empty without power management support.
   */
  public OptionalInt powerUsageMilliwatts() {
    return nvml.powerUsage(handle);
  }

  /**
   * Energy used since the driver was last loaded, in millijoules
   * ({@code nvmlDeviceGetTotalEnergyConsumption}); Volta and newer. The counter updates every 20 to
   * 100 ms, so measure differences over whole steps or runs, not single kernels. Empty when the
   * GPU does not support it.
   */
  public OptionalLong totalEnergyMillijoules() {
    return nvml.totalEnergy(handle);
  }

  /** The power limit the driver enforces, in milliwatts ({@code nvmlDeviceGetEnforcedPowerLimit}); empty if unsupported. */
  public OptionalInt powerLimitMilliwatts() {
    return nvml.enforcedPowerLimit(handle);
  }

  /**
   * The GPU core temperature in degrees Celsius ({@code nvmlDeviceGetTemperature}); empty if
   * unsupported, or where newer drivers have removed this deprecated call.
   */
  public OptionalInt temperatureCelsius() {
    return nvml.temperature(handle);
  }

  @Override
  public String toString() {
    return description;
  }
}
