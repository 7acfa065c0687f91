package dev.frugal.nativetests.support;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.frugal.cuda.driver.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A plain {@code cuMemAlloc} buffer with synchronous upload and download of Java arrays, so a test
 * reads as "upload, run, download, compare". Synchronous copies are deliberate: they order
 * themselves after all earlier work in the context, which keeps tests free of stream bookkeeping
 * (async copies are tested on their own in {@code DriverMemoryTest}). Close to free.
 */
public final class DeviceArray implements AutoCloseable {
  private final long pointer;
  private final long bytes;
  private boolean closed;

  private DeviceArray(long pointer, long bytes) {
    this.pointer = pointer;
    this.bytes = bytes;
  }

  /** Allocates {@code bytes} of device memory (uninitialised). */
  public static DeviceArray allocate(long bytes) {
    return new DeviceArray(CudaDriver.memAlloc(bytes), bytes);
  }

  /** Allocates room for {@code values} and uploads them. */
  public static DeviceArray of(float[] values) {
    DeviceArray array = allocate((long) values.length * Float.BYTES);
    array.upload(values);
    return array;
  }

  /** Allocates room for 16-bit values (fp16 or bf16 bit patterns) and uploads them. */
  public static DeviceArray of(short[] values) {
    DeviceArray array = allocate((long) values.length * Short.BYTES);
    array.upload(values);
    return array;
  }

  /** Allocates {@code count} floats set to zero. */
  public static DeviceArray zeroFloats(int count) {
    DeviceArray array = allocate((long) count * Float.BYTES);
    CudaDriver.memsetD8(array.pointer, (byte) 0, array.bytes);
    return array;
  }

  /** The device pointer. */
  public long pointer() {
    return pointer;
  }

  /** The size in bytes. */
  public long bytes() {
    return bytes;
  }

  /** Copies {@code values} to the start of the buffer. */
  public void upload(float[] values) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocateFrom(JAVA_FLOAT, values);
      CudaDriver.memcpyHtoD(pointer, host, checked(host.byteSize()));
    }
  }

  /** Copies 16-bit values to the start of the buffer. */
  public void upload(short[] values) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocateFrom(JAVA_SHORT, values);
      CudaDriver.memcpyHtoD(pointer, host, checked(host.byteSize()));
    }
  }

  /** The first {@code count} floats of the buffer. */
  public float[] floats(int count) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(JAVA_FLOAT, count);
      CudaDriver.memcpyDtoH(host, pointer, checked(host.byteSize()));
      return host.toArray(JAVA_FLOAT);
    }
  }

  /** The first {@code count} 16-bit values of the buffer. */
  public short[] shorts(int count) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(JAVA_SHORT, count);
      CudaDriver.memcpyDtoH(host, pointer, checked(host.byteSize()));
      return host.toArray(JAVA_SHORT);
    }
  }

  /** The first {@code count} bytes of the buffer. */
  public byte[] bytes(int count) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(count);
      CudaDriver.memcpyDtoH(host, pointer, checked(count));
      return host.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
  }

  private long checked(long size) {
    if (size > bytes) {
      throw new IllegalArgumentException("copy of " + size + " bytes does not fit a " + bytes + "-byte device buffer");
    }
    return size;
  }

  /** Frees the memory; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaDriver.memFree(pointer);
    }
  }

  @Override
  public String toString() {
    return "DeviceArray[0x" + Long.toHexString(pointer) + ", " + bytes + " bytes]";
  }
}
