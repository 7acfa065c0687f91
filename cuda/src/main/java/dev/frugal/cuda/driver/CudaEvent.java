package dev.frugal.cuda.driver;

import java.lang.foreign.MemorySegment;

/**
 * A CUDA event ({@code CUevent}): a marker in a stream, used to order streams, to know when a
 * buffer freed on one stream may be reused on another, and to time GPU work. Close to destroy.
 */
public final class CudaEvent implements AutoCloseable {
  private final MemorySegment handle;
  private boolean closed;

  CudaEvent(MemorySegment handle) {
    this.handle = handle;
  }

  /** Creates a timing event in the current context. */
  public static CudaEvent create() {
    return CudaDriver.eventCreate(CudaDriver.EVENT_DEFAULT);
  }

  /** Creates an ordering-only event, cheaper to record and query. */
  public static CudaEvent createWithoutTiming() {
    return CudaDriver.eventCreate(CudaDriver.EVENT_DISABLE_TIMING);
  }

  /** The {@code CUevent} handle. */
  public MemorySegment handle() {
    return handle;
  }

  /** Records the event at the current end of {@code stream}. */
  public void record(CudaStream stream) {
    CudaDriver.eventRecord(handle, stream.handle());
  }

  /** True once the work before the last {@link #record} has finished; never blocks. */
  public boolean isComplete() {
    return CudaDriver.eventQuery(handle);
  }

  /** Blocks until the work before the last {@link #record} has finished. */
  public void synchronize() {
    CudaDriver.eventSynchronize(handle);
  }

  /** Milliseconds from {@code this} (the start) to {@code end}; both recorded and completed. */
  public float elapsedMillisTo(CudaEvent end) {
    return CudaDriver.eventElapsedMillis(this, end);
  }

  /** Destroys the event; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaDriver.eventDestroy(handle);
    }
  }
}
