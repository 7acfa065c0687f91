package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.ADDRESS;

import dev.frugal.cuda.CublasException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;
import dev.frugal.cuda.internal.NativeCalls;
import dev.frugal.cuda.internal.NativeStrings;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Names {@code cublasStatus_t} values and turns failures into {@link CublasException}s. cuBLAS
 * and cuBLASLt share the status enum but each names it through its own library
 * ({@code cublasGetStatusName} / {@code cublasLtGetStatusName}), so each has one of these. It
 * also runs the calls whose shape the two libraries share (create a handle, destroy an object), so
 * that both do them the same way.
 */
final class CublasStatus {
  private final String library;
  private final MethodHandle getName;
  private final MethodHandle getString;

  /**
   * @param library {@code "cuBLAS"} or {@code "cuBLASLt"}, for messages
   * @param getName {@code const char* (*)(cublasStatus_t)} naming a status
   * @param getString {@code const char* (*)(cublasStatus_t)} describing a status
   */
  CublasStatus(String library, MethodHandle getName, MethodHandle getString) {
    this.library = library;
    this.getName = getName;
    this.getString = getString;
  }

  /** The library's name for {@code status}, or {@code CUBLAS_STATUS_<n>} if it cannot say. */
  String name(int status) {
    String fallback = "CUBLAS_STATUS_" + status;
    String name = read(getName, status);
    return name == null ? fallback : name;
  }

  /** Throws a {@link CublasException} naming the call and the status unless it is success. */
  void check(String call, int status, String context) {
    if (status != 0) {
      String description = read(getString, status);
      String detail = description == null ? context : context == null ? description : description + " [" + context + "]";
      throw new CublasException(library, call, status, name(status), detail);
    }
  }

  /**
   * Creates a library handle through {@code cublasStatus_t create(handle_t* out)} and returns it. A
   * failure says why no handle could be made ({@link #whyHandleFailed()}): creation is the first
   * call that needs a GPU, so its bare status would hide the usual cause.
   *
   * @param create the bound create function, {@code (MemorySegment) -> int}
   */
  MemorySegment createHandle(String call, MethodHandle create) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      int status = (int) create.invokeExact(out);
      check(call, status, status == 0 ? null : whyHandleFailed());
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * Destroys a handle, descriptor, layout or preference through {@code cublasStatus_t destroy(void*)}.
   *
   * @param destroy the bound destroy function, {@code (MemorySegment) -> int}
   */
  void destroy(String call, MethodHandle destroy, MemorySegment object) {
    try {
      check(call, (int) destroy.invokeExact(object), null);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * Context for a failed handle creation, the first cuBLAS call that needs a GPU: the driver's
   * reason when there is no usable driver, otherwise what a handle needs.
   */
  static String whyHandleFailed() {
    LoadedLibrary driver = LibraryLoader.system().load(CudaLibrary.DRIVER);
    return driver.isLoaded()
        ? "a handle needs a GPU the CUDA driver can use (see frugal devices)"
        : "no usable CUDA driver: " + driver.problem();
  }

  /** The string a status function returns, or null when the library is missing or returns NULL. */
  private static String read(MethodHandle function, int status) {
    try {
      return NativeStrings.read((MemorySegment) function.invokeExact(status), null);
    } catch (Throwable t) {
      return null;
    }
  }
}
