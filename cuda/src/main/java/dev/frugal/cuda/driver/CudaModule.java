package dev.frugal.cuda.driver;

import java.lang.foreign.MemorySegment;

/** A loaded CUBIN ({@code CUmodule}); {@link #close()} unloads it and invalidates its functions. */
public final class CudaModule implements AutoCloseable {
  private final MemorySegment handle;
  private boolean closed;

  CudaModule(MemorySegment handle) {
    this.handle = handle;
  }

  /** Loads a CUBIN (from {@link dev.frugal.cuda.nvrtc.KernelCompiler}) into the current context. */
  public static CudaModule load(byte[] cubin) {
    return CudaDriver.moduleLoadData(cubin);
  }

  /** The {@code CUmodule} handle. */
  public MemorySegment handle() {
    return handle;
  }

  /** The kernel named {@code name} (its {@code extern "C"} name). */
  public CudaFunction function(String name) {
    if (closed) {
      throw new IllegalStateException("module is unloaded; cannot look up kernel '" + name + "'");
    }
    return new CudaFunction(CudaDriver.moduleGetFunction(handle, name), name);
  }

  /** Unloads the module; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaDriver.moduleUnload(handle);
    }
  }
}
