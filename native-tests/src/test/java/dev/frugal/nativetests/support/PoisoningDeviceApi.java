package dev.frugal.nativetests.support;

import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.MemoryStream;
import dev.frugal.memory.PinnedStagingPool;
import dev.frugal.memory.StagingBuffer;
import dev.frugal.runtime.Device;
import dev.frugal.runtime.cuda.ConvolutionCall;
import dev.frugal.runtime.cuda.DeviceApi;
import dev.frugal.runtime.cuda.GemmCall;
import dev.frugal.runtime.cuda.GeneratedKernel;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A {@link DeviceApi} that does everything its delegate does, except that {@link #zero} fills the
 * memory with 0xFF bytes instead of zeros: NaN in every float type, -1 in the integer types, 255
 * in a bool. The CUDA backend zeroes each buffer it allocates, so under this decorator every
 * buffer starts poisoned, and an output element a kernel forgets to write reads back as NaN (or
 * an impossible bool) instead of a plausible zero: the parity suite reports it as a mismatch.
 *
 * <p>The fill goes through the delegate's own calls: pinned staging buffers filled on the host and
 * uploaded (in chunks), after waiting for the device, so the poison lands after any earlier work
 * on reused memory and before any later kernel (the compute stream waits for uploads).
 */
public final class PoisoningDeviceApi implements DeviceApi {
  /** The byte every "zeroed" buffer is filled with. */
  public static final byte POISON = (byte) 0xFF;
  private static final long CHUNK = 8L << 20;

  private final DeviceApi device;
  private long poisonedBytes;

  private PoisoningDeviceApi(DeviceApi device) {
    this.device = Objects.requireNonNull(device, "device");
  }

  /** {@code device} with its zero fills turned into poison; closing this closes it. */
  public static PoisoningDeviceApi poisoning(DeviceApi device) {
    return new PoisoningDeviceApi(device);
  }

  /** Bytes poisoned so far: every byte the backend asked to zero. */
  public synchronized long poisonedBytes() {
    return poisonedBytes;
  }

  /** The decorated device. */
  public DeviceApi delegate() {
    return device;
  }

  @Override
  public synchronized void zero(long address, long bytes) {
    if (bytes <= 0) {
      return;
    }
    // the copy stream does not wait for the compute stream: let earlier work on this memory finish
    device.synchronize();
    for (long done = 0; done < bytes; ) {
      long n = Math.min(CHUNK, bytes - done);
      StagingBuffer staging = device.staging().acquire(n);
      try {
        staging.segment().asSlice(0, n).fill(POISON);
      } catch (RuntimeException | Error e) {
        staging.release();
        throw e;
      }
      device.upload(staging, address + done, n);
      done += n;
    }
    poisonedBytes += bytes;
  }

  @Override
  public Device device() {
    return device.device();
  }

  @Override
  public String description() {
    return device.description() + " (buffers poisoned with 0xFF)";
  }

  @Override
  public CachingAllocator memory() {
    return device.memory();
  }

  @Override
  public MemoryStream computeStream() {
    return device.computeStream();
  }

  @Override
  public PinnedStagingPool staging() {
    return device.staging();
  }

  @Override
  public int multiprocessors() {
    return device.multiprocessors();
  }

  @Override
  public void copy(long source, long destination, long bytes) {
    device.copy(source, destination, bytes);
  }

  @Override
  public void upload(StagingBuffer source, long destination, long bytes) {
    device.upload(source, destination, bytes);
  }

  @Override
  public void nameCalls(String op) {
    device.nameCalls(op);
  }

  @Override
  public void uploadVia(StagingBuffer source, long landing, long destination, long bytes) {
    device.uploadVia(source, landing, destination, bytes);
  }

  @Override
  public void download(long source, MemorySegment destination, long bytes) {
    device.download(source, destination, bytes);
  }

  @Override
  public LoadedKernel load(GeneratedKernel kernel) {
    return device.load(kernel);
  }

  @Override
  public void launch(LoadedKernel kernel, int blocks, int threads, long[] pointers) {
    device.launch(kernel, blocks, threads, pointers);
  }

  @Override
  public void gemm(GemmCall call, long a, long b, long c) {
    device.gemm(call, a, b, c);
  }

  @Override
  public Convolution convolution(ConvolutionCall call) {
    return device.convolution(call);
  }

  @Override
  public Mark mark() {
    return device.mark();
  }

  @Override
  public boolean canCapture() {
    return device.canCapture();
  }

  @Override
  public void beginCapture() {
    device.beginCapture();
  }

  @Override
  public Replay endCapture() {
    return device.endCapture();
  }

  @Override
  public void synchronize() {
    device.synchronize();
  }

  @Override
  public void close() {
    device.close();
  }

  @Override
  public String toString() {
    return "poisoning " + device;
  }
}
