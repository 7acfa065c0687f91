package dev.frugal.cuda.internal;

import java.lang.foreign.MemorySegment;

/** Reads the {@code const char*} strings that CUDA libraries return (error names, versions). */
public final class NativeStrings {
  private NativeStrings() {}

  /** The NUL-terminated UTF-8 string at {@code pointer}, or {@code fallback} if it is NULL. */
  public static String read(MemorySegment pointer, String fallback) {
    if (pointer == null || pointer.address() == 0) {
      return fallback;
    }
    // Returned pointers are zero-length segments; the libraries guarantee NUL termination.
    return pointer.reinterpret(Long.MAX_VALUE).getString(0);
  }
}
