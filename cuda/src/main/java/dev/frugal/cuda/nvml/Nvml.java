package dev.frugal.cuda.nvml;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.CudaSymbolNotFoundException;
import dev.frugal.cuda.NvmlException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.internal.Binder;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.internal.NativeCalls;
import dev.frugal.cuda.internal.NativeStrings;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * NVML ({@code libnvidia-ml.so.1}, shipped with the NVIDIA driver) through FFM: device names,
 * memory, power, energy and temperature, for monitoring and for the energy figures in run reports.
 * An instance is one {@code nvmlInit_v2} / {@code nvmlShutdown} pair; NVML counts initialisations
 * itself, so instances may overlap and {@link #close()} is idempotent. Devices are in NVML's order
 * (PCI bus order), which is not CUDA's default order: use {@link #deviceForCuda(int)} to get the
 * GPU a CUDA device ordinal refers to.
 *
 * <p>Every status is checked; failures throw {@link NvmlException} with NVML's name and
 * description for the status. A missing NVML throws {@link NvmlException} with
 * {@code NVML_ERROR_LIBRARY_NOT_FOUND} and what to install from {@link #open()}, or gives an empty
 * {@link #tryOpen()}. Queries a GPU does not support return an empty optional. No call is linked
 * {@code critical}: NVML calls go to the kernel driver and can take milliseconds.
 */
public final class Nvml implements AutoCloseable {
  /** {@code NVML_SUCCESS}. */
  static final int SUCCESS = 0;
  /** {@code NVML_ERROR_NOT_SUPPORTED}. */
  static final int ERROR_NOT_SUPPORTED = 3;
  /** {@code NVML_ERROR_LIBRARY_NOT_FOUND}. */
  static final int ERROR_LIBRARY_NOT_FOUND = 12;
  /** {@code NVML_ERROR_FUNCTION_NOT_FOUND}: the installed driver's NVML lacks the function. */
  static final int ERROR_FUNCTION_NOT_FOUND = 13;
  /** {@code NVML_ERROR_DEPRECATED}: removed from this driver's NVML (CUDA 13.1+ drivers). */
  static final int ERROR_DEPRECATED = 26;
  /** {@code NVML_TEMPERATURE_GPU}: the GPU die sensor. */
  private static final int TEMPERATURE_GPU = 0;
  /** {@code NVML_DEVICE_NAME_V2_BUFFER_SIZE}. */
  private static final int NAME_BUFFER_BYTES = 96;
  /** {@code NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE}. */
  private static final int DRIVER_VERSION_BUFFER_BYTES = 80;
  /** {@code nvmlReturn_t} names by value, from nvml.h (NVML API version 13). */
  private static final String[] STATUS_NAMES = {
    "NVML_SUCCESS", "NVML_ERROR_UNINITIALIZED", "NVML_ERROR_INVALID_ARGUMENT", "NVML_ERROR_NOT_SUPPORTED",
    "NVML_ERROR_NO_PERMISSION", "NVML_ERROR_ALREADY_INITIALIZED", "NVML_ERROR_NOT_FOUND",
    "NVML_ERROR_INSUFFICIENT_SIZE", "NVML_ERROR_INSUFFICIENT_POWER", "NVML_ERROR_DRIVER_NOT_LOADED",
    "NVML_ERROR_TIMEOUT", "NVML_ERROR_IRQ_ISSUE", "NVML_ERROR_LIBRARY_NOT_FOUND", "NVML_ERROR_FUNCTION_NOT_FOUND",
    "NVML_ERROR_CORRUPTED_INFOROM", "NVML_ERROR_GPU_IS_LOST", "NVML_ERROR_RESET_REQUIRED",
    "NVML_ERROR_OPERATING_SYSTEM", "NVML_ERROR_LIB_RM_VERSION_MISMATCH", "NVML_ERROR_IN_USE", "NVML_ERROR_MEMORY",
    "NVML_ERROR_NO_DATA", "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED", "NVML_ERROR_INSUFFICIENT_RESOURCES",
    "NVML_ERROR_FREQ_NOT_SUPPORTED", "NVML_ERROR_ARGUMENT_VERSION_MISMATCH", "NVML_ERROR_DEPRECATED",
    "NVML_ERROR_NOT_READY", "NVML_ERROR_GPU_NOT_FOUND", "NVML_ERROR_INVALID_STATE",
  };
  /** {@code NVML_ERROR_UNKNOWN}. */
  private static final int ERROR_UNKNOWN = 999;

  private boolean closed;

  private Nvml() {}

  /** Handles, resolved when first needed so that loading this class never touches NVML. */
  private static final class Api {
    static final Binder B = new Binder(LibraryLoader.system().load(CudaLibrary.NVML));

    static final MethodHandle ERROR_STRING = B.bind("nvmlErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle INIT = B.bind("nvmlInit_v2", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle SHUTDOWN = B.bind("nvmlShutdown", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle DRIVER_VERSION = B.bind("nvmlSystemGetDriverVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle DEVICE_COUNT = B.bind("nvmlDeviceGetCount_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle HANDLE_BY_INDEX = B.bind("nvmlDeviceGetHandleByIndex_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle HANDLE_BY_PCI_BUS_ID = B.bind("nvmlDeviceGetHandleByPciBusId_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle NAME = B.bind("nvmlDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle MEMORY_INFO = B.bind("nvmlDeviceGetMemoryInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle POWER_USAGE = B.bind("nvmlDeviceGetPowerUsage", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle TOTAL_ENERGY = B.bind("nvmlDeviceGetTotalEnergyConsumption", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle ENFORCED_POWER_LIMIT = B.bind("nvmlDeviceGetEnforcedPowerLimit", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle TEMPERATURE = B.bind("nvmlDeviceGetTemperature", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
  }

  /** Which NVML symbols resolved (for diagnostics and tests). */
  public static BindingReport bindingReport() {
    return Api.B.report();
  }

  /** Whether {@code libnvidia-ml.so.1} was found and loaded; says nothing about GPUs being present. */
  public static boolean isInstalled() {
    return LibraryLoader.system().load(CudaLibrary.NVML).isLoaded();
  }

  /**
   * Initialises NVML ({@code nvmlInit_v2}).
   *
   * @throws NvmlException with {@code NVML_ERROR_LIBRARY_NOT_FOUND} and what to install when NVML is
   *     missing, or with NVML's status when it cannot start (e.g. {@code NVML_ERROR_DRIVER_NOT_LOADED})
   */
  public static Nvml open() {
    LoadedLibrary library = LibraryLoader.system().load(CudaLibrary.NVML);
    if (!library.isLoaded()) {
      NvmlException missing = new NvmlException("NVML", "nvmlInit_v2", ERROR_LIBRARY_NOT_FOUND,
          statusName(ERROR_LIBRARY_NOT_FOUND), library.problem());
      missing.initCause(library.failure());
      throw missing;
    }
    try {
      check("nvmlInit_v2", (int) Api.INIT.invokeExact());
      return new Nvml();
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * {@link #open()}, or empty when NVML is missing or cannot start: for optional monitoring that
   * must never fail a run.
   */
  public static Optional<Nvml> tryOpen() {
    try {
      return Optional.of(open());
    } catch (NvmlException e) {
      return Optional.empty();
    }
  }

  /** The NVIDIA driver's version, e.g. {@code "580.82.07"} ({@code nvmlSystemGetDriverVersion}). */
  public String driverVersion() {
    requireOpen();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(DRIVER_VERSION_BUFFER_BYTES);
      check("nvmlSystemGetDriverVersion", (int) Api.DRIVER_VERSION.invokeExact(buffer, DRIVER_VERSION_BUFFER_BYTES));
      return buffer.getString(0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** The number of GPUs NVML sees ({@code nvmlDeviceGetCount_v2}); includes GPUs hidden from CUDA by CUDA_VISIBLE_DEVICES. */
  public int deviceCount() {
    requireOpen();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      check("nvmlDeviceGetCount_v2", (int) Api.DEVICE_COUNT.invokeExact(out));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** The GPU at NVML index {@code index} (PCI bus order) ({@code nvmlDeviceGetHandleByIndex_v2}). */
  public NvmlDevice device(int index) {
    requireOpen();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("nvmlDeviceGetHandleByIndex_v2", (int) Api.HANDLE_BY_INDEX.invokeExact(index, out), "index " + index);
      return new NvmlDevice(this, out.get(ADDRESS, 0), "NVML device " + index);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** The GPU with PCI bus id {@code busId}, e.g. {@code "0000:01:00.0"} ({@code nvmlDeviceGetHandleByPciBusId_v2}). */
  public NvmlDevice deviceByPciBusId(String busId) {
    requireOpen();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("nvmlDeviceGetHandleByPciBusId_v2",
          (int) Api.HANDLE_BY_PCI_BUS_ID.invokeExact(arena.allocateFrom(busId), out), "bus id " + busId);
      return new NvmlDevice(this, out.get(ADDRESS, 0), "NVML device at " + busId);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * The GPU that CUDA device {@code cudaDevice} (a {@code CUdevice}, as from {@link CudaDriver#device})
   * is, matched by PCI bus id because NVML and CUDA number GPUs differently.
   */
  public NvmlDevice deviceForCuda(int cudaDevice) {
    return deviceByPciBusId(CudaDriver.devicePciBusId(cudaDevice));
  }

  /** Whether {@link #close()} has run. */
  public boolean isClosed() {
    return closed;
  }

  /** Shuts this initialisation down ({@code nvmlShutdown}); idempotent. Devices from it stop working. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      try {
        check("nvmlShutdown", (int) Api.SHUTDOWN.invokeExact());
      } catch (Throwable t) {
        throw NativeCalls.rethrow(t);
      }
    }
  }

  void requireOpen() {
    if (closed) {
      throw new IllegalStateException("NVML was shut down (Nvml.close()); open a new Nvml to query devices");
    }
  }

  // ------------------------------------------------------------------------------ device queries

  String name(MemorySegment device) {
    requireOpen();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(NAME_BUFFER_BYTES);
      check("nvmlDeviceGetName", (int) Api.NAME.invokeExact(device, buffer, NAME_BUFFER_BYTES));
      return buffer.getString(0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  NvmlMemory memory(MemorySegment device) {
    requireOpen();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_LONG, 3);
      check("nvmlDeviceGetMemoryInfo", (int) Api.MEMORY_INFO.invokeExact(device, out));
      return new NvmlMemory(out.getAtIndex(JAVA_LONG, 0), out.getAtIndex(JAVA_LONG, 1), out.getAtIndex(JAVA_LONG, 2));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** One device query writing its answer to {@code out}; returns the NVML status. */
  @FunctionalInterface
  interface Query {
    int run(MemorySegment out) throws Throwable;
  }

  /**
   * Runs a query whose answer may be unsupported on this GPU or driver.
   *
   * @return the answer slot (read it with {@code layout}), or null when unsupported
   */
  private MemorySegment optional(String call, ValueLayout layout, Arena arena, Query query) {
    requireOpen();
    MemorySegment out = arena.allocate(layout);
    int status;
    try {
      status = query.run(out);
    } catch (CudaSymbolNotFoundException e) {
      return null;
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
    if (isUnsupported(status)) {
      return null;
    }
    check(call, status);
    return out;
  }

  /** An {@code unsigned int} answer, empty if unsupported. */
  OptionalInt optionalInt(String call, Query query) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = optional(call, JAVA_INT, arena, query);
      return out == null ? OptionalInt.empty() : OptionalInt.of(out.get(JAVA_INT, 0));
    }
  }

  OptionalInt powerUsage(MemorySegment device) {
    return optionalInt("nvmlDeviceGetPowerUsage", out -> (int) Api.POWER_USAGE.invokeExact(device, out));
  }

  OptionalInt enforcedPowerLimit(MemorySegment device) {
    return optionalInt("nvmlDeviceGetEnforcedPowerLimit",
        out -> (int) Api.ENFORCED_POWER_LIMIT.invokeExact(device, out));
  }

  OptionalInt temperature(MemorySegment device) {
    return optionalInt("nvmlDeviceGetTemperature",
        out -> (int) Api.TEMPERATURE.invokeExact(device, TEMPERATURE_GPU, out));
  }

  OptionalLong totalEnergy(MemorySegment device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = optional("nvmlDeviceGetTotalEnergyConsumption", JAVA_LONG, arena,
          slot -> (int) Api.TOTAL_ENERGY.invokeExact(device, slot));
      return out == null ? OptionalLong.empty() : OptionalLong.of(out.get(JAVA_LONG, 0));
    }
  }

  // ------------------------------------------------------------------------------ status

  /** Whether {@code status} means "this GPU or driver cannot answer", as opposed to a failure. */
  static boolean isUnsupported(int status) {
    return status == ERROR_NOT_SUPPORTED || status == ERROR_FUNCTION_NOT_FOUND || status == ERROR_DEPRECATED;
  }

  /** NVML's enum name for a status, e.g. {@code NVML_ERROR_NOT_SUPPORTED}; {@code NVML_ERROR_<n>} if unknown. */
  public static String statusName(int status) {
    if (status >= 0 && status < STATUS_NAMES.length) {
      return STATUS_NAMES[status];
    }
    return status == ERROR_UNKNOWN ? "NVML_ERROR_UNKNOWN" : "NVML_ERROR_" + status;
  }

  /** NVML's description of a status ({@code nvmlErrorString}), or null when NVML is missing. */
  public static String errorString(int status) {
    try {
      return NativeStrings.read((MemorySegment) Api.ERROR_STRING.invokeExact(status), null);
    } catch (Throwable t) {
      return null;
    }
  }

  static void check(String call, int status) {
    check(call, status, null);
  }

  static void check(String call, int status, String context) {
    if (status != SUCCESS) {
      String description = errorString(status);
      throw new NvmlException("NVML", call, status, statusName(status),
          description == null ? context : context == null ? description : description + " [" + context + "]");
    }
  }
}
