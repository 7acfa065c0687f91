/**
 * Frugal's off-heap memory manager.
 *
 * <p>{@link dev.frugal.memory.CachingAllocator} is PyTorch's CUDACachingAllocator design (512-byte
 * rounding, small and large pools, best fit, split and merge, per-stream reuse with events,
 * free-the-cache-and-retry on out-of-memory) over a {@link dev.frugal.memory.RawAllocator}: CUDA
 * device memory ({@link dev.frugal.memory.CudaDeviceRawAllocator}) on a GPU, off-heap arenas
 * ({@link dev.frugal.memory.HostRawAllocator}) on a CPU, so the one algorithm is tested without a
 * GPU. Its statistics ({@link dev.frugal.memory.MemoryStats}) are part of the API; a memory limit
 * makes a big GPU behave like a small one; an out-of-memory says where the memory went; a debug
 * mode ({@code FRUGAL_MEMORY_DEBUG=1}) catches double frees, uses after free and leaks.
 *
 * <p>{@link dev.frugal.memory.PinnedStagingPool} lends page-locked host buffers for asynchronous
 * copies and takes them back once the copy's event has completed.
 */
package dev.frugal.memory;
