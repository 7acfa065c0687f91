package dev.frugal.cuda.driver;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.CudaDriverException;
import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.CudaOutOfMemoryException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.internal.Binder;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.internal.NativeStrings;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through FFM. Every method checks the returned
 * {@code CUresult} and throws {@link CudaDriverException} (or {@link CudaOutOfMemoryException})
 * naming the call and the driver's error name; a missing driver throws
 * {@link dev.frugal.cuda.CudaLibraryNotFoundException} at the first call, never when this class
 * loads.
 *
 * <p>Versioned symbols are bound where the plain name is a legacy ABI ({@code cuMemAlloc_v2},
 * {@code cuStreamBeginCapture_v2}, ...), per the facts note. Device pointers are {@code long}s
 * ({@code CUdeviceptr}); host memory is a {@link MemorySegment}. Most calls need a current
 * context on the calling OS thread: see {@link CudaContext#makeCurrent()}.
 */
public final class CudaDriver {
  /** {@code CUDA_SUCCESS}. */
  static final int SUCCESS = 0;
  /** {@code CUDA_ERROR_OUT_OF_MEMORY}. */
  static final int ERROR_OUT_OF_MEMORY = 2;
  /** {@code CUDA_ERROR_NO_DEVICE}. */
  static final int ERROR_NO_DEVICE = 100;
  /** {@code CUDA_ERROR_NOT_READY}: an event or stream has work outstanding. */
  static final int ERROR_NOT_READY = 600;

  /** {@code CU_MEMHOSTALLOC_PORTABLE}: pinned memory usable from every context. */
  public static final int MEMHOSTALLOC_PORTABLE = 0x01;
  /** {@code CU_MEMHOSTALLOC_DEVICEMAP}: also map the pinned memory into the device address space. */
  public static final int MEMHOSTALLOC_DEVICEMAP = 0x02;
  /** {@code CU_MEMHOSTALLOC_WRITECOMBINED}: fast host writes and transfers, slow host reads. */
  public static final int MEMHOSTALLOC_WRITECOMBINED = 0x04;

  private CudaDriver() {}

  /** Handles, resolved when first needed so that loading CudaDriver never touches libcuda. */
  private static final class Api {
    static final Binder B = new Binder(LibraryLoader.system().load(CudaLibrary.DRIVER));
    static final Linker.Option CRITICAL = Linker.Option.critical(false);

    static final MethodHandle GET_ERROR_NAME = B.bind("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle GET_ERROR_STRING = B.bind("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle INIT = B.bind("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle DRIVER_GET_VERSION = B.bind("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DEVICE_GET_COUNT = B.bind("cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DEVICE_GET = B.bind("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle DEVICE_GET_NAME = B.bind("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle DEVICE_GET_ATTRIBUTE = B.bind("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle DEVICE_TOTAL_MEM = B.bind("cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle DEVICE_GET_PCI_BUS_ID = B.bind("cuDeviceGetPCIBusId", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

    static final MethodHandle PRIMARY_CTX_RETAIN = B.bind("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle PRIMARY_CTX_RELEASE = B.bind("cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle CTX_SET_CURRENT = B.bind("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS), CRITICAL);
    static final MethodHandle CTX_GET_CURRENT = B.bind("cuCtxGetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle CTX_SYNCHRONIZE = B.bind("cuCtxSynchronize", FunctionDescriptor.of(JAVA_INT));

    static final MethodHandle STREAM_CREATE = B.bind("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle STREAM_DESTROY = B.bind("cuStreamDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle STREAM_SYNCHRONIZE = B.bind("cuStreamSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle STREAM_QUERY = B.bind("cuStreamQuery", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle STREAM_WAIT_EVENT = B.bind("cuStreamWaitEvent", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle STREAM_BEGIN_CAPTURE = B.bind("cuStreamBeginCapture_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle STREAM_END_CAPTURE = B.bind("cuStreamEndCapture", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    static final MethodHandle EVENT_CREATE = B.bind("cuEventCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle EVENT_DESTROY = B.bind("cuEventDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle EVENT_RECORD = B.bind("cuEventRecord", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), CRITICAL);
    static final MethodHandle EVENT_QUERY = B.bind("cuEventQuery", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle EVENT_SYNCHRONIZE = B.bind("cuEventSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    // The unversioned ABI: cuEventElapsedTime_v2 needs a 12.8 driver and only relaxes checking.
    static final MethodHandle EVENT_ELAPSED_TIME = B.bind("cuEventElapsedTime", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));

    static final MethodHandle MEM_GET_INFO = B.bind("cuMemGetInfo_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle MEM_ALLOC = B.bind("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle MEM_FREE = B.bind("cuMemFree_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    static final MethodHandle MEM_HOST_ALLOC = B.bind("cuMemHostAlloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    static final MethodHandle MEM_FREE_HOST = B.bind("cuMemFreeHost", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle MEMSET_D8 = B.bind("cuMemsetD8_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG));
    static final MethodHandle MEMSET_D8_ASYNC = B.bind("cuMemsetD8Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS));
    static final MethodHandle MEMSET_D32_ASYNC = B.bind("cuMemsetD32Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS));
    static final MethodHandle MEMCPY_HTOD = B.bind("cuMemcpyHtoD_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG));
    static final MethodHandle MEMCPY_DTOH = B.bind("cuMemcpyDtoH_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    static final MethodHandle MEMCPY_DTOD = B.bind("cuMemcpyDtoD_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle MEMCPY_HTOD_ASYNC = B.bind("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
    static final MethodHandle MEMCPY_DTOH_ASYNC = B.bind("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
    static final MethodHandle MEMCPY_DTOD_ASYNC = B.bind("cuMemcpyDtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    static final MethodHandle MODULE_LOAD_DATA = B.bind("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle MODULE_UNLOAD = B.bind("cuModuleUnload", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle MODULE_GET_FUNCTION = B.bind("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle FUNC_SET_ATTRIBUTE = B.bind("cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle LAUNCH_KERNEL = B.bind("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS,
        JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));

    static final MethodHandle GRAPH_INSTANTIATE = B.bind("cuGraphInstantiateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    static final MethodHandle GRAPH_LAUNCH = B.bind("cuGraphLaunch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GRAPH_EXEC_UPDATE = B.bind("cuGraphExecUpdate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle GRAPH_EXEC_DESTROY = B.bind("cuGraphExecDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle GRAPH_DESTROY = B.bind("cuGraphDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
  }

  /** Which driver symbols resolved (for diagnostics and tests). */
  public static BindingReport bindingReport() {
    return Api.B.report();
  }

  // ------------------------------------------------------------------------------ init, devices

  /** Remembers cuInit's outcome: the driver may only be initialised once per process. */
  private static final class Initialised {
    static final CudaException FAILURE = initialise();

    private static CudaException initialise() {
      try {
        check("cuInit", (int) Api.INIT.invokeExact(0));
        return null;
      } catch (CudaException e) {
        return e;
      } catch (Throwable t) {
        return new CudaException("cuInit failed: " + t, t);
      }
    }
  }

  /**
   * Initialises the driver once ({@code cuInit(0)}); safe to call repeatedly. Every device
   * method calls it, so callers rarely need to.
   *
   * @throws CudaException if there is no driver, no GPU, or the driver cannot start
   */
  public static void init() {
    CudaException failure = Initialised.FAILURE;
    if (failure != null) {
      if (failure instanceof CudaDriverException driverFailure && driverFailure.status() == ERROR_NO_DEVICE) {
        throw new CudaDriverException("CUDA driver", "cuInit", driverFailure.status(), driverFailure.statusName(),
            "the driver is installed but sees no GPU (check nvidia-smi, CUDA_VISIBLE_DEVICES, or --gpus for containers)");
      }
      if (failure instanceof CudaDriverException driverFailure) {
        throw new CudaDriverException("CUDA driver", "cuInit", driverFailure.status(), driverFailure.statusName(),
            "the driver could not start; check nvidia-smi and that the kernel module matches the user-space driver");
      }
      throw failure;
    }
  }

  /** The CUDA version the driver supports, encoded as 1000 * major + 10 * minor (e.g. 13000). */
  public static int driverVersion() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      check("cuDriverGetVersion", (int) Api.DRIVER_GET_VERSION.invokeExact(out));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The number of GPUs the driver exposes to this process. */
  public static int deviceCount() {
    init();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      check("cuDeviceGetCount", (int) Api.DEVICE_GET_COUNT.invokeExact(out));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The {@code CUdevice} handle of device {@code ordinal}. */
  public static int device(int ordinal) {
    init();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      check("cuDeviceGet", (int) Api.DEVICE_GET.invokeExact(out, ordinal), "ordinal " + ordinal);
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The device's name, e.g. {@code "NVIDIA GeForce RTX 4090"}. */
  public static String deviceName(int device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment name = arena.allocate(256);
      check("cuDeviceGetName", (int) Api.DEVICE_GET_NAME.invokeExact(name, 256, device));
      return name.getString(0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** One {@code CUdevice_attribute} value; see {@link DeviceAttribute} for the numbers. */
  public static int deviceAttribute(int device, int attribute) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      check("cuDeviceGetAttribute", (int) Api.DEVICE_GET_ATTRIBUTE.invokeExact(out, attribute, device),
          "attribute " + attribute);
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The device's compute capability as 10 * major + minor (e.g. 89 for sm_89). */
  public static int computeCapability(int device) {
    return 10 * deviceAttribute(device, DeviceAttribute.COMPUTE_CAPABILITY_MAJOR)
        + deviceAttribute(device, DeviceAttribute.COMPUTE_CAPABILITY_MINOR);
  }

  /** Total device memory in bytes. */
  public static long deviceTotalMemory(int device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_LONG);
      check("cuDeviceTotalMem_v2", (int) Api.DEVICE_TOTAL_MEM.invokeExact(out, device));
      return out.get(JAVA_LONG, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The device's PCI bus id ({@code "0000:01:00.0"}), which is how NVML names the same GPU. */
  public static String devicePciBusId(int device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(64);
      check("cuDeviceGetPCIBusId", (int) Api.DEVICE_GET_PCI_BUS_ID.invokeExact(out, 64, device));
      return out.getString(0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ------------------------------------------------------------------------------ contexts

  static MemorySegment primaryContextRetain(int device) {
    init();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuDevicePrimaryCtxRetain", (int) Api.PRIMARY_CTX_RETAIN.invokeExact(out, device));
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void primaryContextRelease(int device) {
    try {
      check("cuDevicePrimaryCtxRelease_v2", (int) Api.PRIMARY_CTX_RELEASE.invokeExact(device));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Makes {@code context} current on the calling OS thread ({@code cuCtxSetCurrent}). */
  static void setCurrentContext(MemorySegment context) {
    try {
      check("cuCtxSetCurrent", (int) Api.CTX_SET_CURRENT.invokeExact(context));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The context current on the calling OS thread, or {@link MemorySegment#NULL}. */
  public static MemorySegment currentContext() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuCtxGetCurrent", (int) Api.CTX_GET_CURRENT.invokeExact(out));
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Waits for all work in the current context ({@code cuCtxSynchronize}). */
  public static void synchronizeContext() {
    try {
      check("cuCtxSynchronize", (int) Api.CTX_SYNCHRONIZE.invokeExact());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ------------------------------------------------------------------------------ streams, events

  /** {@code CU_STREAM_DEFAULT}: a stream that synchronises with the legacy default stream. */
  public static final int STREAM_DEFAULT = 0;
  /** {@code CU_STREAM_NON_BLOCKING}: a stream that does not synchronise with the default stream. */
  public static final int STREAM_NON_BLOCKING = 1;
  /** {@code CU_EVENT_DEFAULT}: an event that records timing. */
  public static final int EVENT_DEFAULT = 0;
  /** {@code CU_EVENT_DISABLE_TIMING}: a cheaper event for ordering only. */
  public static final int EVENT_DISABLE_TIMING = 2;

  /** Creates a stream in the current context; close it to destroy it. */
  public static CudaStream streamCreate(int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuStreamCreate", (int) Api.STREAM_CREATE.invokeExact(out, flags));
      return new CudaStream(out.get(ADDRESS, 0), true);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void streamDestroy(MemorySegment stream) {
    try {
      check("cuStreamDestroy_v2", (int) Api.STREAM_DESTROY.invokeExact(stream));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void streamSynchronize(MemorySegment stream) {
    try {
      check("cuStreamSynchronize", (int) Api.STREAM_SYNCHRONIZE.invokeExact(stream));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static boolean streamQuery(MemorySegment stream) {
    try {
      int status = (int) Api.STREAM_QUERY.invokeExact(stream);
      if (status == ERROR_NOT_READY) {
        return false;
      }
      check("cuStreamQuery", status);
      return true;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void streamWaitEvent(MemorySegment stream, MemorySegment event) {
    try {
      check("cuStreamWaitEvent", (int) Api.STREAM_WAIT_EVENT.invokeExact(stream, event, 0));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void streamBeginCapture(MemorySegment stream, int mode) {
    try {
      check("cuStreamBeginCapture_v2", (int) Api.STREAM_BEGIN_CAPTURE.invokeExact(stream, mode));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static MemorySegment streamEndCapture(MemorySegment stream) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuStreamEndCapture", (int) Api.STREAM_END_CAPTURE.invokeExact(stream, out));
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Creates an event ({@link #EVENT_DEFAULT} or {@link #EVENT_DISABLE_TIMING}); close it to destroy it. */
  public static CudaEvent eventCreate(int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuEventCreate", (int) Api.EVENT_CREATE.invokeExact(out, flags));
      return new CudaEvent(out.get(ADDRESS, 0));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void eventDestroy(MemorySegment event) {
    try {
      check("cuEventDestroy_v2", (int) Api.EVENT_DESTROY.invokeExact(event));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void eventRecord(MemorySegment event, MemorySegment stream) {
    try {
      check("cuEventRecord", (int) Api.EVENT_RECORD.invokeExact(event, stream));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static boolean eventQuery(MemorySegment event) {
    try {
      int status = (int) Api.EVENT_QUERY.invokeExact(event);
      if (status == ERROR_NOT_READY) {
        return false;
      }
      check("cuEventQuery", status);
      return true;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void eventSynchronize(MemorySegment event) {
    try {
      check("cuEventSynchronize", (int) Api.EVENT_SYNCHRONIZE.invokeExact(event));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Milliseconds between two recorded, completed timing events. */
  public static float eventElapsedMillis(CudaEvent start, CudaEvent end) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_FLOAT);
      check("cuEventElapsedTime", (int) Api.EVENT_ELAPSED_TIME.invokeExact(out, start.handle(), end.handle()));
      return out.get(JAVA_FLOAT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ------------------------------------------------------------------------------ memory

  /** Free and total device memory of the current context's device ({@code cuMemGetInfo_v2}). */
  public static MemoryInfo memGetInfo() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment free = arena.allocate(JAVA_LONG);
      MemorySegment total = arena.allocate(JAVA_LONG);
      check("cuMemGetInfo_v2", (int) Api.MEM_GET_INFO.invokeExact(free, total));
      return new MemoryInfo(free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Allocates {@code bytes} of device memory ({@code cuMemAlloc_v2}; 256-byte aligned).
   *
   * @return the device pointer
   * @throws CudaOutOfMemoryException when the device has no room
   */
  public static long memAlloc(long bytes) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("device allocation size must be positive, got " + bytes);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_LONG);
      check("cuMemAlloc_v2", (int) Api.MEM_ALLOC.invokeExact(out, bytes), bytes + " bytes");
      return out.get(JAVA_LONG, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Frees device memory from {@link #memAlloc} ({@code cuMemFree_v2}; synchronises the device). */
  public static void memFree(long devicePointer) {
    try {
      check("cuMemFree_v2", (int) Api.MEM_FREE.invokeExact(devicePointer));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Allocates page-locked host memory ({@code cuMemHostAlloc}), which async copies need to
   * overlap with compute.
   *
   * @param flags a combination of {@link #MEMHOSTALLOC_PORTABLE}, {@link #MEMHOSTALLOC_DEVICEMAP},
   *     {@link #MEMHOSTALLOC_WRITECOMBINED}, or 0
   * @return a segment of exactly {@code bytes}; free it with {@link #memFreeHost}, never use it after
   */
  public static MemorySegment memHostAlloc(long bytes, int flags) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("pinned allocation size must be positive, got " + bytes);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuMemHostAlloc", (int) Api.MEM_HOST_ALLOC.invokeExact(out, bytes, flags), bytes + " bytes");
      return out.get(ADDRESS, 0).reinterpret(bytes);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Frees pinned host memory from {@link #memHostAlloc} ({@code cuMemFreeHost}). */
  public static void memFreeHost(MemorySegment pinned) {
    try {
      check("cuMemFreeHost", (int) Api.MEM_FREE_HOST.invokeExact(pinned));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Sets {@code bytes} bytes at {@code devicePointer} to {@code value} ({@code cuMemsetD8_v2}).
   * Asynchronous with respect to the host (CUDA's rule for device memsets): it may still be
   * queued when this returns.
   *
   * <p>It runs on the legacy default stream, which the non-blocking streams of
   * {@link CudaStream#create()} do not wait for: before work on such a stream reads what this call
   * wrote, call {@link #synchronizeContext()} or use the stream-ordered {@code *Async} form.
   */
  public static void memsetD8(long devicePointer, byte value, long bytes) {
    try {
      check("cuMemsetD8_v2", (int) Api.MEMSET_D8.invokeExact(devicePointer, value, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Stream-ordered byte fill ({@code cuMemsetD8Async}). */
  public static void memsetD8Async(long devicePointer, byte value, long bytes, CudaStream stream) {
    try {
      check("cuMemsetD8Async", (int) Api.MEMSET_D8_ASYNC.invokeExact(devicePointer, value, bytes, stream.handle()));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Stream-ordered fill of {@code count} 32-bit words ({@code cuMemsetD32Async}); e.g. a float bit pattern. */
  public static void memsetD32Async(long devicePointer, int value, long count, CudaStream stream) {
    try {
      check("cuMemsetD32Async", (int) Api.MEMSET_D32_ASYNC.invokeExact(devicePointer, value, count, stream.handle()));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Host-to-device copy of {@code bytes} from the start of {@code source}
   * ({@code cuMemcpyHtoD_v2}). From pageable memory it returns once the data is staged, so
   * {@code source} may be reused, but the DMA to the device may not have finished.
   *
   * <p>It runs on the legacy default stream, which the non-blocking streams of
   * {@link CudaStream#create()} do not wait for: before work on such a stream reads what this call
   * wrote, call {@link #synchronizeContext()} or use the stream-ordered {@code *Async} form.
   */
  public static void memcpyHtoD(long destination, MemorySegment source, long bytes) {
    requireSize(source, bytes, "source");
    try {
      check("cuMemcpyHtoD_v2", (int) Api.MEMCPY_HTOD.invokeExact(destination, source, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Device-to-host copy of {@code bytes} into the start of {@code destination}
   * ({@code cuMemcpyDtoH_v2}): returns once the data is in {@code destination}. Runs on the legacy
   * default stream, so it does not wait for non-blocking streams' work: synchronise those first.
   */
  public static void memcpyDtoH(MemorySegment destination, long source, long bytes) {
    requireSize(destination, bytes, "destination");
    try {
      check("cuMemcpyDtoH_v2", (int) Api.MEMCPY_DTOH.invokeExact(destination, source, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Device-to-device copy ({@code cuMemcpyDtoD_v2}). No host synchronisation: it may still be
   * queued when this returns.
   *
   * <p>It runs on the legacy default stream, which the non-blocking streams of
   * {@link CudaStream#create()} do not wait for: before work on such a stream reads what this call
   * wrote, call {@link #synchronizeContext()} or use the stream-ordered {@code *Async} form.
   */
  public static void memcpyDtoD(long destination, long source, long bytes) {
    try {
      check("cuMemcpyDtoD_v2", (int) Api.MEMCPY_DTOD.invokeExact(destination, source, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Stream-ordered host-to-device copy. {@code source} must stay alive and unchanged until the
   * stream reaches the copy, and must be pinned for the copy to be truly asynchronous.
   */
  public static void memcpyHtoDAsync(long destination, MemorySegment source, long bytes, CudaStream stream) {
    requireSize(source, bytes, "source");
    try {
      check("cuMemcpyHtoDAsync_v2",
          (int) Api.MEMCPY_HTOD_ASYNC.invokeExact(destination, source, bytes, stream.handle()));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Stream-ordered device-to-host copy; read {@code destination} only after the stream passed it. */
  public static void memcpyDtoHAsync(MemorySegment destination, long source, long bytes, CudaStream stream) {
    requireSize(destination, bytes, "destination");
    try {
      check("cuMemcpyDtoHAsync_v2",
          (int) Api.MEMCPY_DTOH_ASYNC.invokeExact(destination, source, bytes, stream.handle()));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Stream-ordered device-to-device copy. */
  public static void memcpyDtoDAsync(long destination, long source, long bytes, CudaStream stream) {
    try {
      check("cuMemcpyDtoDAsync_v2",
          (int) Api.MEMCPY_DTOD_ASYNC.invokeExact(destination, source, bytes, stream.handle()));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static void requireSize(MemorySegment host, long bytes, String role) {
    if (bytes < 0 || host.byteSize() < bytes) {
      throw new IllegalArgumentException("copy of " + bytes + " bytes but the host " + role + " segment holds "
          + host.byteSize() + " bytes");
    }
    if (!host.isNative()) {
      throw new IllegalArgumentException("the host " + role + " must be native (off-heap) memory, not a heap array:"
          + " the driver reads it after the call returns");
    }
  }

  // ------------------------------------------------------------------------------ modules, launch

  /** Loads a CUBIN (or PTX) image into the current context ({@code cuModuleLoadData}). */
  public static CudaModule moduleLoadData(byte[] image) {
    try (Arena arena = Arena.ofConfined()) {
      // The image is read during the call only; PTX must be NUL-terminated, a CUBIN is not harmed by it.
      MemorySegment data = arena.allocate(image.length + 1L, 16);
      MemorySegment.copy(image, 0, data, JAVA_BYTE, 0, image.length);
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuModuleLoadData", (int) Api.MODULE_LOAD_DATA.invokeExact(out, data), image.length + "-byte image");
      return new CudaModule(out.get(ADDRESS, 0));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void moduleUnload(MemorySegment module) {
    try {
      check("cuModuleUnload", (int) Api.MODULE_UNLOAD.invokeExact(module));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static MemorySegment moduleGetFunction(MemorySegment module, String name) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuModuleGetFunction",
          (int) Api.MODULE_GET_FUNCTION.invokeExact(out, module, arena.allocateFrom(name)),
          "kernel '" + name + "' (declare it extern \"C\" so its name is not mangled)");
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void functionSetAttribute(MemorySegment function, int attribute, int value) {
    try {
      check("cuFuncSetAttribute", (int) Api.FUNC_SET_ATTRIBUTE.invokeExact(function, attribute, value));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void launchKernel(MemorySegment function, Dim3 grid, Dim3 block, int sharedMemoryBytes,
      MemorySegment stream, MemorySegment kernelParams, String name) {
    try {
      check("cuLaunchKernel", (int) Api.LAUNCH_KERNEL.invokeExact(function, grid.x(), grid.y(), grid.z(),
          block.x(), block.y(), block.z(), sharedMemoryBytes, stream, kernelParams, MemorySegment.NULL),
          "kernel '" + name + "' grid " + grid + " block " + block + " shared " + sharedMemoryBytes);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ------------------------------------------------------------------------------ graphs

  static MemorySegment graphInstantiate(MemorySegment graph, long flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cuGraphInstantiateWithFlags", (int) Api.GRAPH_INSTANTIATE.invokeExact(out, graph, flags));
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void graphLaunch(MemorySegment exec, MemorySegment stream) {
    try {
      check("cuGraphLaunch", (int) Api.GRAPH_LAUNCH.invokeExact(exec, stream));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** {@code CUgraphExecUpdateResultInfo}: {int result; (pad); CUgraphNode errorNode; CUgraphNode errorFromNode}. */
  private static final long UPDATE_RESULT_INFO_BYTES = 24;

  /** Returns the {@code CUgraphExecUpdateResult} (0 = success) when the update is refused. */
  static int graphExecUpdate(MemorySegment exec, MemorySegment graph) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment info = arena.allocate(UPDATE_RESULT_INFO_BYTES, 8);
      int status = (int) Api.GRAPH_EXEC_UPDATE.invokeExact(exec, graph, info);
      int result = info.get(JAVA_INT, 0);
      if (status == CudaGraphExec.ERROR_GRAPH_EXEC_UPDATE_FAILURE) {
        return result;
      }
      check("cuGraphExecUpdate_v2", status);
      return 0;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void graphExecDestroy(MemorySegment exec) {
    try {
      check("cuGraphExecDestroy", (int) Api.GRAPH_EXEC_DESTROY.invokeExact(exec));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void graphDestroy(MemorySegment graph) {
    try {
      check("cuGraphDestroy", (int) Api.GRAPH_DESTROY.invokeExact(graph));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ------------------------------------------------------------------------------ errors

  /** The driver's name for a status, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
  public static String errorName(int status) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      int result = (int) Api.GET_ERROR_NAME.invokeExact(status, out);
      return result == SUCCESS ? NativeStrings.read(out.get(ADDRESS, 0), "CUDA_ERROR_" + status)
          : "CUDA_ERROR_" + status;
    } catch (Throwable t) {
      return "CUDA_ERROR_" + status;
    }
  }

  private static String errorDescription(int status) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      int result = (int) Api.GET_ERROR_STRING.invokeExact(status, out);
      return result == SUCCESS ? NativeStrings.read(out.get(ADDRESS, 0), null) : null;
    } catch (Throwable t) {
      return null;
    }
  }

  static void check(String call, int status) {
    check(call, status, null);
  }

  static void check(String call, int status, String context) {
    if (status == SUCCESS) {
      return;
    }
    String description = errorDescription(status);
    String detail = description == null ? context : context == null ? description : description + " [" + context + "]";
    if (status == ERROR_OUT_OF_MEMORY) {
      throw new CudaOutOfMemoryException("CUDA driver", call, status, errorName(status), detail);
    }
    throw new CudaDriverException("CUDA driver", call, status, errorName(status), detail);
  }

  /** Rethrows what a {@code invokeExact} threw: our exceptions as they are, anything else wrapped. */
  static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException runtime) {
      throw runtime;
    }
    if (t instanceof Error error) {
      throw error;
    }
    throw new CudaException("unexpected checked exception from a native call: " + t, t);
  }
}
