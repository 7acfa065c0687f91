package dev.frugal.cuda.driver;

/**
 * Device memory as {@code cuMemGetInfo} reports it for the current context's GPU.
 *
 * @param freeBytes memory not allocated by anyone (this process or others)
 * @param totalBytes the GPU's total memory
 */
public record MemoryInfo(long freeBytes, long totalBytes) {}
