package dev.frugal.cuda.driver;

import java.lang.foreign.MemorySegment;

/**
 * A captured CUDA graph ({@code CUgraph}), the template of a whole training step. Instantiate it
 * to get something launchable; close it when no longer needed (instances stay valid).
 */
public final class CudaGraph implements AutoCloseable {
  /** {@code CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH}. */
  public static final long INSTANTIATE_AUTO_FREE_ON_LAUNCH = 1;
  /** {@code CUDA_GRAPH_INSTANTIATE_FLAG_UPLOAD}. */
  public static final long INSTANTIATE_UPLOAD = 2;

  private final MemorySegment handle;
  private boolean closed;

  CudaGraph(MemorySegment handle) {
    this.handle = handle;
  }

  /** The {@code CUgraph} handle. */
  public MemorySegment handle() {
    return handle;
  }

  /** Instantiates the graph ({@code cuGraphInstantiateWithFlags}). */
  public CudaGraphExec instantiate(long flags) {
    return new CudaGraphExec(CudaDriver.graphInstantiate(handle, flags));
  }

  /** Destroys the graph; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaDriver.graphDestroy(handle);
    }
  }
}
