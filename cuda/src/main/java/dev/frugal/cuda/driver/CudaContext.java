package dev.frugal.cuda.driver;

import dev.frugal.cuda.UnsupportedDeviceException;
import dev.frugal.cuda.discovery.LibraryLoader;
import java.lang.foreign.MemorySegment;

/**
 * A retained primary context of one GPU, the context cudart, cuBLAS, cuDNN, PyTorch and JCuda's
 * runtime API share. Frugal never creates its own contexts. The current context is per OS thread:
 * call {@link #makeCurrent()} on each thread before CUDA work (virtual threads can change carrier
 * threads between calls, so run GPU work on platform threads). {@link #close()} releases the
 * retain; the context lives on while anyone else retains it.
 */
public final class CudaContext implements AutoCloseable {
  /** Oldest compute capability CUDA 13 libraries support (Turing, sm_75). */
  public static final int MIN_COMPUTE_CAPABILITY_CUDA13 = 75;

  private final int device;
  private final MemorySegment handle;
  private boolean closed;

  private CudaContext(int device, MemorySegment handle) {
    this.device = device;
    this.handle = handle;
  }

  /**
   * Retains the primary context of GPU {@code ordinal}, after checking the GPU is new enough for
   * the loaded libraries.
   *
   * @throws UnsupportedDeviceException for a GPU older than sm_75 when CUDA 13 libraries are loaded
   */
  public static CudaContext retainPrimary(int ordinal) {
    int device = CudaDriver.device(ordinal);
    String unsupported = unsupportedReason(ordinal, CudaDriver.deviceName(device), CudaDriver.computeCapability(device),
        LibraryLoader.system().toolkitMajor());
    if (unsupported != null) {
      throw new UnsupportedDeviceException(unsupported);
    }
    return new CudaContext(device, CudaDriver.primaryContextRetain(device));
  }

  /**
   * Why GPU {@code ordinal} cannot run the loaded CUDA libraries, or null if it can: CUDA 13
   * dropped GPUs older than sm_75 (Turing). Shared by {@link #retainPrimary} and
   * {@code frugal devices}, so both say the same thing.
   *
   * @param name the device's name, for the message
   * @param capability 10 * major + minor, e.g. 61 for sm_61
   * @param toolkitMajor the CUDA major of the loaded cuBLAS/NVRTC ({@link LibraryLoader#toolkitMajor()})
   */
  public static String unsupportedReason(int ordinal, String name, int capability, int toolkitMajor) {
    if (toolkitMajor < 13 || capability >= MIN_COMPUTE_CAPABILITY_CUDA13) {
      return null;
    }
    return "GPU " + ordinal + " (" + name + ") is sm_" + capability + ", but CUDA " + toolkitMajor + " libraries need"
        + " sm_75 (Turing) or newer; on this GPU use the CUDA 12 wheels (pip install nvidia-cublas-cu12"
        + " nvidia-cuda-nvrtc-cu12 nvidia-cudnn-cu12) and a driver for CUDA 12";
  }

  /** The {@code CUdevice} this context belongs to. */
  public int device() {
    return device;
  }

  /** The {@code CUcontext} handle. */
  public MemorySegment handle() {
    return handle;
  }

  /** Makes this context current on the calling OS thread. */
  public void makeCurrent() {
    CudaDriver.setCurrentContext(handle);
  }

  /** Waits for all work in this context; makes it current on the calling thread first. */
  public void synchronize() {
    makeCurrent();
    CudaDriver.synchronizeContext();
  }

  /** Releases this retain of the primary context; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaDriver.primaryContextRelease(device);
    }
  }

  /** A one-line description for logs and failing tests. */
  @Override
  public String toString() {
    return "CudaContext[device " + device + ", 0x" + Long.toHexString(handle.address()) + "]";
  }
}
