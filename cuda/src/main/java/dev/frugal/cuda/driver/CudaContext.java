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
    int capability = CudaDriver.computeCapability(device);
    int toolkitMajor = LibraryLoader.system().toolkitMajor();
    if (toolkitMajor >= 13 && capability < MIN_COMPUTE_CAPABILITY_CUDA13) {
      throw new UnsupportedDeviceException("GPU " + ordinal + " (" + CudaDriver.deviceName(device) + ") is sm_"
          + capability + ", but CUDA 13 libraries need sm_75 (Turing) or newer; on this GPU use the CUDA 12 wheels"
          + " (pip install nvidia-cublas-cu12 nvidia-cuda-nvrtc-cu12 nvidia-cudnn-cu12) and a driver for CUDA 12");
    }
    return new CudaContext(device, CudaDriver.primaryContextRetain(device));
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

  @Override
  public String toString() {
    return "CudaContext[device " + device + ", 0x" + Long.toHexString(handle.address()) + "]";
  }
}
