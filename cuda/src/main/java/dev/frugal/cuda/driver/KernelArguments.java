package dev.frugal.cuda.driver;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code void** kernelParams} of {@code cuLaunchKernel}: each argument's value in native
 * memory, plus an array of their addresses. Add arguments in the kernel's parameter order with
 * the kernel's exact C types. Close it (or its arena) once the launch call has returned.
 */
public final class KernelArguments implements AutoCloseable {
  private final Arena arena = Arena.ofConfined();
  private final List<MemorySegment> values = new ArrayList<>();
  private MemorySegment pointerArray;

  /** An empty argument list. */
  public KernelArguments() {}

  /** Adds a device pointer argument ({@code T*} / {@code CUdeviceptr}). */
  public KernelArguments pointer(long devicePointer) {
    return add(JAVA_LONG, devicePointer);
  }

  /** Adds an {@code int} (or {@code unsigned}) argument. */
  public KernelArguments i32(int value) {
    MemorySegment slot = arena.allocate(JAVA_INT);
    slot.set(JAVA_INT, 0, value);
    return add(slot);
  }

  /** Adds a {@code long long} / {@code size_t} argument. */
  public KernelArguments i64(long value) {
    return add(JAVA_LONG, value);
  }

  /** Adds a {@code float} argument. */
  public KernelArguments f32(float value) {
    MemorySegment slot = arena.allocate(JAVA_FLOAT);
    slot.set(JAVA_FLOAT, 0, value);
    return add(slot);
  }

  private KernelArguments add(ValueLayout.OfLong layout, long value) {
    MemorySegment slot = arena.allocate(layout);
    slot.set(layout, 0, value);
    return add(slot);
  }

  private KernelArguments add(MemorySegment slot) {
    values.add(slot);
    pointerArray = null;
    return this;
  }

  /** The number of arguments added. */
  public int size() {
    return values.size();
  }

  /** The {@code void**} array, built on first use after the last change. */
  MemorySegment pointerArray() {
    if (pointerArray == null) {
      pointerArray = arena.allocate(ADDRESS, Math.max(1, values.size()));
      for (int i = 0; i < values.size(); i++) {
        pointerArray.setAtIndex(ADDRESS, i, values.get(i));
      }
    }
    return pointerArray;
  }

  /** Frees the argument memory. */
  @Override
  public void close() {
    arena.close();
  }
}
