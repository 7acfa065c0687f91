package dev.frugal.cuda.cublas;

import dev.frugal.cuda.driver.CudaStream;
import java.lang.foreign.MemorySegment;

/**
 * A cuBLAS handle ({@code cublasHandle_t}). Not thread-safe: use one per thread or per stream.
 * Close to destroy it.
 */
public final class CublasHandle implements AutoCloseable {
  private final MemorySegment handle;
  private boolean closed;

  CublasHandle(MemorySegment handle) {
    this.handle = handle;
  }

  /** The {@code cublasHandle_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** Queues this handle's work on {@code stream}. */
  public void setStream(CudaStream stream) {
    Cublas.setStream(handle, stream);
  }

  /**
   * Gives cuBLAS a fixed device workspace, which also keeps CUDA-graph capture from growing one
   * per graph. NVIDIA recommends 32 MiB on Hopper and 4 MiB elsewhere.
   */
  public void setWorkspace(long devicePointer, long bytes) {
    Cublas.setWorkspace(handle, devicePointer, bytes);
  }

  /** Sets the math mode ({@link MathMode}). */
  public void setMathMode(int mode) {
    Cublas.setMathMode(handle, mode);
  }

  /** The current math mode. */
  public int mathMode() {
    return Cublas.mathMode(handle);
  }

  /** Whether alpha/beta are host ({@link Cublas#POINTER_MODE_HOST}) or device pointers. */
  public void setPointerMode(int mode) {
    Cublas.setPointerMode(handle, mode);
  }

  /** Destroys the handle; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Cublas.destroy(handle);
    }
  }
}
