package dev.frugal.cuda.cudnn;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * What the three cuDNN descriptor wrappers share: the native handle, the closed state, and a
 * {@link #close()} that destroys the descriptor once. Not thread-safe, like cuDNN's descriptors.
 */
abstract class Descriptor implements AutoCloseable {
  private final MemorySegment handle;
  private final Consumer<MemorySegment> destroy;
  private final String description;
  private boolean closed;

  Descriptor(MemorySegment handle, Consumer<MemorySegment> destroy, String description) {
    this.handle = handle;
    this.destroy = destroy;
    this.description = description;
  }

  /**
   * Runs {@code set} on a freshly created descriptor and destroys the descriptor if it fails, so a
   * rejected shape leaks nothing.
   */
  static MemorySegment initialised(MemorySegment created, Consumer<MemorySegment> set, Consumer<MemorySegment> destroy) {
    try {
      set.accept(created);
      return created;
    } catch (RuntimeException e) {
      try {
        destroy.accept(created);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * The native descriptor, to pass to cuDNN calls.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  public MemorySegment handle() {
    if (closed) {
      throw new IllegalStateException(this + " is closed");
    }
    return handle;
  }

  /** Whether {@link #close()} has run. */
  public boolean isClosed() {
    return closed;
  }

  /** Destroys the descriptor; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      destroy.accept(handle);
    }
  }

  /** What was set when it was made, e.g. {@code "tensor FLOAT[8,3,32,32] NCHW"}; no native call. */
  @Override
  public String toString() {
    return description;
  }
}
