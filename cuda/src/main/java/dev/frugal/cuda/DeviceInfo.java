package dev.frugal.cuda;

/**
 * One GPU as the CUDA driver reports it.
 *
 * @param index the CUDA device ordinal
 * @param name the marketing name, e.g. {@code "NVIDIA GeForce RTX 4090"}
 * @param computeCapability major.minor, e.g. {@code "8.9"}
 * @param memoryBytes total device memory in bytes
 * @param driverVersion the CUDA version the driver supports, e.g. {@code "13.0"}
 */
public record DeviceInfo(int index, String name, String computeCapability, long memoryBytes, String driverVersion) {}
