package dev.frugal.cuda.nvml;

/**
 * A GPU's memory as NVML reports it ({@code nvmlMemory_t}): device-wide, all processes included,
 * unlike {@code cuMemGetInfo}, which needs a context.
 *
 * @param totalBytes installed memory
 * @param freeBytes memory not allocated by anyone
 * @param usedBytes memory allocated, by any process or by the driver
 */
public record NvmlMemory(long totalBytes, long freeBytes, long usedBytes) {}
