package dev.frugal.cuda.cudnn;

import dev.frugal.cuda.driver.CudaStream;
import java.lang.foreign.MemorySegment;

/**
 * A cuDNN handle ({@code cudnnHandle_t}), bound to the context current when it was made. Not
 * thread-safe: use one per thread or per stream. Close to destroy it ({@code cudnnDestroy}
 * synchronises the device).
 */
public final class CudnnHandle implements AutoCloseable {
  private final MemorySegment handle;
  private boolean closed;

  CudnnHandle(MemorySegment handle) {
    this.handle = handle;
  }

  /**
   * The {@code cudnnHandle_t}.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  public MemorySegment handle() {
    if (closed) {
      throw new IllegalStateException("cuDNN handle 0x" + Long.toHexString(handle.address()) + " is closed");
    }
    return handle;
  }

  /** Queues this handle's work on {@code stream} ({@code cudnnSetStream}). */
  public void setStream(CudaStream stream) {
    Cudnn.setStream(handle(), stream);
  }

  /** The raw {@code CUstream} address this handle queues work on ({@code cudnnGetStream}); 0 is the legacy default stream. */
  public long streamAddress() {
    return Cudnn.stream(handle());
  }

  /** Destroys the handle; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Cudnn.destroy(handle);
    }
  }
}
