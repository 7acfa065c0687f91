package dev.frugal.cuda.cublas;

import dev.frugal.cuda.driver.CudaStream;
import java.lang.foreign.MemorySegment;

/**
 * A cuBLAS handle ({@code cublasHandle_t}). Not thread-safe: use one per thread or per stream.
 * Close to destroy it.
 *
 * <p>{@code cublasSetStream} resets the handle to cuBLAS's own workspace pool, so
 * {@link #setStream} re-applies the workspace given to {@link #setWorkspace}: the order of the
 * two calls does not matter.
 */
public final class CublasHandle implements AutoCloseable {
  private final MemorySegment handle;
  private long workspacePointer;
  private long workspaceBytes;
  private boolean closed;

  CublasHandle(MemorySegment handle) {
    this.handle = handle;
  }

  /** The {@code cublasHandle_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /**
   * Queues this handle's work on {@code stream} (null: the legacy default stream), keeping the
   * workspace set by {@link #setWorkspace}.
   */
  public void setStream(CudaStream stream) {
    Cublas.setStream(handle, stream);
    if (workspaceBytes > 0) {
      Cublas.setWorkspace(handle, workspacePointer, workspaceBytes);
    }
  }

  /**
   * Gives cuBLAS a fixed device workspace, which also keeps CUDA-graph capture from growing one
   * per graph. NVIDIA recommends 32 MiB on Hopper and 4 MiB elsewhere. The memory must outlive
   * every GEMM queued with it; {@code (0, 0)} returns to cuBLAS's own pool.
   *
   * @param devicePointer device memory of at least {@code bytes}
   * @param bytes the workspace size, >= 0
   */
  public void setWorkspace(long devicePointer, long bytes) {
    Cublas.setWorkspace(handle, devicePointer, bytes);
    workspacePointer = devicePointer;
    workspaceBytes = bytes;
  }

  /** Sets the math mode: one {@link MathMode} mode, optionally OR-ed with its flag. */
  public void setMathMode(int mode) {
    Cublas.setMathMode(handle, mode);
  }

  /** The current math mode ({@link MathMode}). */
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
