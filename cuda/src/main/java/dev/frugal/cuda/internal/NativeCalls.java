package dev.frugal.cuda.internal;

import dev.frugal.cuda.CudaException;

/** Shared plumbing for the binding classes' {@code invokeExact} calls. */
public final class NativeCalls {
  private NativeCalls() {}

  /**
   * Rethrows what {@code invokeExact} threw: runtime exceptions (our {@link CudaException}s
   * included) and errors unchanged; anything checked, which a downcall cannot really throw,
   * wrapped. Declared to return so callers can write {@code throw NativeCalls.rethrow(t)}.
   */
  public static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException runtime) {
      throw runtime;
    }
    if (t instanceof Error error) {
      throw error;
    }
    throw new CudaException("unexpected checked exception from a native call: " + t, t);
  }
}
