package dev.frugal.nativetests.support;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A plain {@code cuMemAlloc} buffer with synchronous upload and download of Java arrays, so a test
 * reads as "upload, run, download, compare" (async copies are tested on their own in
 * {@code DriverAsyncCopyTest}). Close to free.
 *
 * <p>Every write here has <em>finished</em> when the method returns. That is not what the driver
 * promises: a "synchronous" {@code cuMemcpyHtoD} from pageable memory may return once the bytes are
 * staged, with the DMA still queued on the legacy default stream, and {@code cuMemsetD8} is
 * asynchronous for device memory. Work on the tests' non-blocking streams does not wait for the
 * legacy stream, so a kernel launched right after could read stale memory. Writes therefore end
 * with a synchronisation of the legacy stream. Reads need the opposite care from the caller:
 * synchronise the stream that produced the data first.
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

  /** Allocates room for {@code values} as fp32 and uploads them. */
  public static DeviceArray of(float[] values) {
    return of(Precision.FP32, values);
  }

  /**
   * Allocates room for {@code values} stored as {@code precision} and uploads them, rounded to
   * nearest even for the 16-bit types.
   */
  public static DeviceArray of(Precision precision, float[] values) {
    DeviceArray array = allocate((long) values.length * precision.bytes());
    try {
      array.upload(precision, values);
    } catch (RuntimeException e) {
      array.close();
      throw e;
    }
    return array;
  }

  /** Allocates {@code count} elements of {@code precision}, all bits zero (the value +0). */
  public static DeviceArray zeros(Precision precision, int count) {
    DeviceArray array = allocate((long) count * precision.bytes());
    CudaDriver.memsetD8(array.pointer, (byte) 0, array.bytes);
    CudaStream.DEFAULT.synchronize();
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

  /** Copies {@code values}, stored as {@code precision}, to the start of the buffer. */
  public void upload(Precision precision, float[] values) {
    if (precision == Precision.FP32) {
      upload(values);
      return;
    }
    short[] bits = new short[values.length];
    for (int i = 0; i < values.length; i++) {
      bits[i] = precision.toBits(values[i]);
    }
    upload(bits);
  }

  /** Copies fp32 {@code values} to the start of the buffer. */
  public void upload(float[] values) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocateFrom(JAVA_FLOAT, values);
      CudaDriver.memcpyHtoD(pointer, host, checked(host.byteSize()));
      CudaStream.DEFAULT.synchronize();
    }
  }

  /** Copies 16-bit patterns (fp16 or bf16) to the start of the buffer. */
  public void upload(short[] values) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocateFrom(JAVA_SHORT, values);
      CudaDriver.memcpyHtoD(pointer, host, checked(host.byteSize()));
      CudaStream.DEFAULT.synchronize();
    }
  }

  /** The first {@code count} elements, stored as {@code precision}, widened to float. */
  public float[] read(Precision precision, int count) {
    if (precision == Precision.FP32) {
      return floats(count);
    }
    short[] bits = shorts(count);
    float[] values = new float[count];
    for (int i = 0; i < count; i++) {
      values[i] = precision.fromBits(bits[i]);
    }
    return values;
  }

  /** The first {@code count} fp32 values of the buffer. */
  public float[] floats(int count) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(JAVA_FLOAT, count);
      CudaDriver.memcpyDtoH(host, pointer, checked(host.byteSize()));
      return host.toArray(JAVA_FLOAT);
    }
  }

  /** The first {@code count} 16-bit patterns of the buffer. */
  public short[] shorts(int count) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(JAVA_SHORT, count);
      CudaDriver.memcpyDtoH(host, pointer, checked(host.byteSize()));
      return host.toArray(JAVA_SHORT);
    }
  }

  /** The first {@code count} bytes of the buffer. */
  public byte[] rawBytes(int count) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(count);
      CudaDriver.memcpyDtoH(host, pointer, checked(count));
      return host.toArray(JAVA_BYTE);
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
