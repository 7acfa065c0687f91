package dev.frugal.cuda.driver;

import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream ({@code CUstream}). Streams made by {@link CudaDriver#streamCreate} are owned and
 * destroyed by {@link #close()}; wrapped ones ({@link #wrap}, {@link #DEFAULT}) are not, because
 * someone else (JCuda, cuBLAS, the legacy default stream) owns them.
 */
public final class CudaStream implements AutoCloseable {
  /** {@code CU_STREAM_CAPTURE_MODE_GLOBAL}: unsafe calls anywhere in the process abort the capture. */
  public static final int CAPTURE_MODE_GLOBAL = 0;
  /** {@code CU_STREAM_CAPTURE_MODE_THREAD_LOCAL}: only this thread's unsafe calls abort the capture. */
  public static final int CAPTURE_MODE_THREAD_LOCAL = 1;
  /** {@code CU_STREAM_CAPTURE_MODE_RELAXED}: no unsafe-call checks. */
  public static final int CAPTURE_MODE_RELAXED = 2;

  /** The legacy default stream (a NULL {@code CUstream}); never destroyed. */
  public static final CudaStream DEFAULT = new CudaStream(MemorySegment.NULL, false);

  private final MemorySegment handle;
  private final boolean owned;
  private boolean closed;

  CudaStream(MemorySegment handle, boolean owned) {
    this.handle = handle;
    this.owned = owned;
  }

  /** Creates a non-blocking stream in the current context. */
  public static CudaStream create() {
    return CudaDriver.streamCreate(CudaDriver.STREAM_NON_BLOCKING);
  }

  /** Wraps a {@code CUstream} address owned elsewhere; {@link #close()} will not destroy it. */
  public static CudaStream wrap(long address) {
    return new CudaStream(MemorySegment.ofAddress(address), false);
  }

  /** The {@code CUstream} handle, to pass to cuBLAS, cuDNN or driver calls. */
  public MemorySegment handle() {
    return handle;
  }

  /** The raw {@code CUstream} address. */
  public long address() {
    return handle.address();
  }

  /** Blocks the calling thread until all work queued on this stream has finished. */
  public void synchronize() {
    CudaDriver.streamSynchronize(handle);
  }

  /** True if all work queued so far has finished; never blocks. */
  public boolean isIdle() {
    return CudaDriver.streamQuery(handle);
  }

  /** Makes later work on this stream wait until {@code event} has completed (no host blocking). */
  public void waitFor(CudaEvent event) {
    CudaDriver.streamWaitEvent(handle, event.handle());
  }

  /** Starts capturing the work queued on this stream into a graph instead of running it. */
  public void beginCapture(int mode) {
    CudaDriver.streamBeginCapture(handle, mode);
  }

  /** Ends a capture started by {@link #beginCapture} and returns the captured graph. */
  public CudaGraph endCapture() {
    return new CudaGraph(CudaDriver.streamEndCapture(handle));
  }

  /** Destroys the stream if this object owns it; idempotent. */
  @Override
  public void close() {
    if (owned && !closed) {
      closed = true;
      CudaDriver.streamDestroy(handle);
    }
  }

  /** A one-line description for logs and failing tests. */
  @Override
  public String toString() {
    return "CudaStream[0x" + Long.toHexString(handle.address()) + (owned ? "" : ", borrowed") + "]";
  }
}
