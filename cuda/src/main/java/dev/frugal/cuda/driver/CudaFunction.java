package dev.frugal.cuda.driver;

import java.lang.foreign.MemorySegment;

/**
 * A kernel in a loaded {@link CudaModule} ({@code CUfunction}). Not closeable: it lives as long
 * as its module.
 */
public final class CudaFunction {
  /** {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}. */
  private static final int MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

  private final MemorySegment handle;
  private final String name;

  CudaFunction(MemorySegment handle, String name) {
    this.handle = handle;
    this.name = name;
  }

  /** The {@code CUfunction} handle. */
  public MemorySegment handle() {
    return handle;
  }

  /** The kernel's name. */
  public String name() {
    return name;
  }

  /** Allows launches with more than 48 KiB of dynamic shared memory (up to the device's opt-in limit). */
  public void setMaxDynamicSharedMemory(int bytes) {
    CudaDriver.functionSetAttribute(handle, MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
  }

  /**
   * Queues the kernel on {@code stream} ({@code cuLaunchKernel}). The driver copies the argument
   * values during the call, so {@code arguments} may be reused or closed right after.
   */
  public void launch(Dim3 grid, Dim3 block, int sharedMemoryBytes, CudaStream stream, KernelArguments arguments) {
    CudaDriver.launchKernel(handle, grid, block, sharedMemoryBytes, stream.handle(), arguments.pointerArray(), name);
  }

  /**
   * As {@link #launch(Dim3, Dim3, int, CudaStream, KernelArguments)} with a {@code void**} the caller
   * keeps: one address per kernel parameter, each pointing at the parameter's value. For launchers
   * that reuse one argument block across launches, rewriting the values in place.
   */
  public void launch(Dim3 grid, Dim3 block, int sharedMemoryBytes, CudaStream stream, MemorySegment kernelParams) {
    CudaDriver.launchKernel(handle, grid, block, sharedMemoryBytes, stream.handle(), kernelParams, name);
  }
}
