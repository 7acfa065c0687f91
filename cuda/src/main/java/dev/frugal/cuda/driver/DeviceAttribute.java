package dev.frugal.cuda.driver;

/** {@code CUdevice_attribute} values Frugal reads (from CUDA 13's {@code cuda.h}, stable since 12). */
public final class DeviceAttribute {
  /** Maximum threads per block. */
  public static final int MAX_THREADS_PER_BLOCK = 1;
  /** Shared memory per block without opt-in, in bytes. */
  public static final int MAX_SHARED_MEMORY_PER_BLOCK = 8;
  /** Threads per warp. */
  public static final int WARP_SIZE = 10;
  /** Number of streaming multiprocessors. */
  public static final int MULTIPROCESSOR_COUNT = 16;
  /** 1 if the GPU shares memory with the host (Jetson, some laptops). */
  public static final int INTEGRATED = 18;
  /** PCI bus number. */
  public static final int PCI_BUS_ID = 33;
  /** L2 cache size in bytes. */
  public static final int L2_CACHE_SIZE = 38;
  /** Compute capability major version. */
  public static final int COMPUTE_CAPABILITY_MAJOR = 75;
  /** Compute capability minor version. */
  public static final int COMPUTE_CAPABILITY_MINOR = 76;
  /** Shared memory per block with opt-in ({@link CudaFunction#setMaxDynamicSharedMemory}), in bytes. */
  public static final int MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
  /** 1 if the stream-ordered allocator ({@code cuMemAllocAsync}) is supported. */
  public static final int MEMORY_POOLS_SUPPORTED = 115;

  private DeviceAttribute() {}
}
