package dev.frugal.cuda.cublas;

import java.lang.foreign.MemorySegment;

/** A cuBLASLt handle ({@code cublasLtHandle_t}); close to destroy. */
public final class CublasLtHandle implements AutoCloseable {
  private final MemorySegment handle;
  private boolean closed;

  CublasLtHandle(MemorySegment handle) {
    this.handle = handle;
  }

  /** The {@code cublasLtHandle_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** Destroys the handle; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CublasLt.destroy(handle);
    }
  }
}
