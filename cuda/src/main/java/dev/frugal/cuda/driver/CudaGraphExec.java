package dev.frugal.cuda.driver;

import java.lang.foreign.MemorySegment;

/** An instantiated, launchable graph ({@code CUgraphExec}). Close to destroy. */
public final class CudaGraphExec implements AutoCloseable {
  /** {@code CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE}: the new graph's topology does not match. */
  static final int ERROR_GRAPH_EXEC_UPDATE_FAILURE = 910;

  private final MemorySegment handle;
  private boolean closed;

  CudaGraphExec(MemorySegment handle) {
    this.handle = handle;
  }

  /** The {@code CUgraphExec} handle. */
  public MemorySegment handle() {
    return handle;
  }

  /** Queues one replay of the graph on {@code stream}. */
  public void launch(CudaStream stream) {
    CudaDriver.graphLaunch(handle, stream.handle());
  }

  /**
   * Updates this instance in place to match {@code graph} ({@code cuGraphExecUpdate_v2}), which
   * is much cheaper than a new instantiation when only kernel arguments or pointers changed.
   *
   * @return true if updated; false if the topology differs and the graph must be re-instantiated
   */
  public boolean update(CudaGraph graph) {
    return CudaDriver.graphExecUpdate(handle, graph.handle()) == 0;
  }

  /** Destroys the instance; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaDriver.graphExecDestroy(handle);
    }
  }
}
