package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.CublasException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.internal.Binder;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.internal.NativeCalls;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * cuBLAS ({@code libcublas.so.13} / {@code .12}) through FFM: handles, streams, workspace, math
 * modes and the two GEMMs training needs. Binds the {@code _v2} names: the plain ones are either
 * macros or the handle-less legacy API. Matrices are column-major device pointers ({@code long});
 * alpha and beta are host values. Every status is checked and a failure throws
 * {@link CublasException} named by {@code cublasGetStatusName}. Needs a current CUDA context on
 * the calling thread for everything but {@link #version()} and {@link #statusName(int)}. Shapes
 * and leading dimensions are checked in Java first, so bad input fails with a message naming the
 * argument instead of a bare {@code CUBLAS_STATUS_INVALID_VALUE}.
 */
public final class Cublas {
  /** {@code CUBLAS_GEMM_DEFAULT}: let cuBLAS choose the algorithm. */
  public static final int GEMM_DEFAULT = -1;
  /** {@code CUBLAS_POINTER_MODE_HOST}: alpha/beta are read from host memory at call time. */
  public static final int POINTER_MODE_HOST = 0;
  /** {@code CUBLAS_POINTER_MODE_DEVICE}: alpha/beta are device pointers, read when the GEMM runs. */
  public static final int POINTER_MODE_DEVICE = 1;

  private Cublas() {}

  private static final class Api {
    static final Binder B = new Binder(LibraryLoader.system().load(CudaLibrary.CUBLAS));
    static final Linker.Option CRITICAL = Linker.Option.critical(false);

    static final MethodHandle GET_STATUS_NAME = B.bind("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle GET_STATUS_STRING = B.bind("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final CublasStatus STATUS = new CublasStatus("cuBLAS", GET_STATUS_NAME, GET_STATUS_STRING);
    static final MethodHandle GET_PROPERTY = B.bind("cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle CREATE = B.bind("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DESTROY = B.bind("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle SET_STREAM = B.bind("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), CRITICAL);
    static final MethodHandle SET_WORKSPACE = B.bind("cublasSetWorkspace_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    static final MethodHandle SET_MATH_MODE = B.bind("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CRITICAL);
    static final MethodHandle GET_MATH_MODE = B.bind("cublasGetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), CRITICAL);
    static final MethodHandle SET_POINTER_MODE = B.bind("cublasSetPointerMode_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CRITICAL);
    static final MethodHandle GEMM_EX = B.bind("cublasGemmEx", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
        ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
        ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GEMM_STRIDED_BATCHED_EX = B.bind("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
        ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
        ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
  }

  /** Which cuBLAS symbols resolved (for diagnostics and tests). */
  public static BindingReport bindingReport() {
    return Api.B.report();
  }

  /** The loaded cuBLAS version as {@code {major, minor, patch}}; needs no GPU. */
  public static int[] version() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      int[] version = new int[3];
      for (int property = 0; property < 3; property++) {
        check("cublasGetProperty", (int) Api.GET_PROPERTY.invokeExact(property, out));
        version[property] = out.get(JAVA_INT, 0);
      }
      return version;
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** Creates a handle in the current context ({@code cublasCreate_v2}); one per thread or stream. */
  public static CublasHandle create() {
    return new CublasHandle(Api.STATUS.createHandle("cublasCreate_v2", Api.CREATE));
  }

  static void destroy(MemorySegment handle) {
    Api.STATUS.destroy("cublasDestroy_v2", Api.DESTROY, handle);
  }

  static void setStream(MemorySegment handle, CudaStream stream) {
    try {
      check("cublasSetStream_v2", (int) Api.SET_STREAM.invokeExact(handle, streamHandle(stream)));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void setWorkspace(MemorySegment handle, long devicePointer, long bytes) {
    if (bytes < 0 || (bytes > 0 && devicePointer == 0)) {
      throw new IllegalArgumentException("cublasSetWorkspace_v2: workspace of " + bytes + " bytes at 0x"
          + Long.toHexString(devicePointer) + "; expected a device pointer and a size >= 0 (0 with a null pointer"
          + " returns to cuBLAS's own workspace pool)");
    }
    try {
      check("cublasSetWorkspace_v2",
          (int) Api.SET_WORKSPACE.invokeExact(handle, MemorySegment.ofAddress(devicePointer), bytes));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void setMathMode(MemorySegment handle, int mode) {
    try {
      check("cublasSetMathMode", (int) Api.SET_MATH_MODE.invokeExact(handle, mode));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static int mathMode(MemorySegment handle) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT);
      check("cublasGetMathMode", (int) Api.GET_MATH_MODE.invokeExact(handle, out));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void setPointerMode(MemorySegment handle, int mode) {
    try {
      check("cublasSetPointerMode_v2", (int) Api.SET_POINTER_MODE.invokeExact(handle, mode));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * {@code C = alpha * op(A) * op(B) + beta * C} with mixed types ({@code cublasGemmEx}).
   *
   * @param alpha pointer to the scale in the compute type's scale precision (host or device per pointer mode)
   * @param beta likewise
   * @param algorithm {@link #GEMM_DEFAULT} unless benchmarking says otherwise
   */
  public static void gemmEx(CublasHandle handle, Operation transa, Operation transb, int m, int n, int k,
      MemorySegment alpha, long a, CudaDataType aType, int lda, long b, CudaDataType bType, int ldb,
      MemorySegment beta, long c, CudaDataType cType, int ldc, ComputeType computeType, int algorithm) {
    requireGemmShape("cublasGemmEx", transa, transb, m, n, k, lda, ldb, ldc);
    try {
      check("cublasGemmEx", (int) Api.GEMM_EX.invokeExact(handle.handle(), transa.value(), transb.value(), m, n, k,
          alpha, MemorySegment.ofAddress(a), aType.value(), lda, MemorySegment.ofAddress(b), bType.value(), ldb,
          beta, MemorySegment.ofAddress(c), cType.value(), ldc, computeType.value(), algorithm),
          "m=" + m + " n=" + n + " k=" + k + " " + aType + "/" + bType + "->" + cType + " " + computeType);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** {@link #gemmEx} with float alpha/beta, for the fp32-scaled compute types (handle in host pointer mode). */
  public static void gemmEx(CublasHandle handle, Operation transa, Operation transb, int m, int n, int k,
      float alpha, long a, CudaDataType aType, int lda, long b, CudaDataType bType, int ldb,
      float beta, long c, CudaDataType cType, int ldc, ComputeType computeType) {
    requireFloatScale(computeType);
    try (Arena arena = Arena.ofConfined()) {
      gemmEx(handle, transa, transb, m, n, k, arena.allocateFrom(JAVA_FLOAT, alpha), a, aType, lda, b, bType, ldb,
          arena.allocateFrom(JAVA_FLOAT, beta), c, cType, ldc, computeType, GEMM_DEFAULT);
    }
  }

  /**
   * A batch of GEMMs whose operands are equally spaced in memory ({@code cublasGemmStridedBatchedEx});
   * strides are in elements.
   */
  public static void gemmStridedBatchedEx(CublasHandle handle, Operation transa, Operation transb,
      int m, int n, int k, MemorySegment alpha,
      long a, CudaDataType aType, int lda, long strideA, long b, CudaDataType bType, int ldb, long strideB,
      MemorySegment beta, long c, CudaDataType cType, int ldc, long strideC, int batchCount,
      ComputeType computeType, int algorithm) {
    requireGemmShape("cublasGemmStridedBatchedEx", transa, transb, m, n, k, lda, ldb, ldc);
    if (batchCount < 0) {
      throw new IllegalArgumentException("cublasGemmStridedBatchedEx: batchCount = " + batchCount + "; expected >= 0");
    }
    try {
      check("cublasGemmStridedBatchedEx", (int) Api.GEMM_STRIDED_BATCHED_EX.invokeExact(handle.handle(),
          transa.value(), transb.value(), m, n, k, alpha,
          MemorySegment.ofAddress(a), aType.value(), lda, strideA, MemorySegment.ofAddress(b), bType.value(), ldb,
          strideB, beta, MemorySegment.ofAddress(c), cType.value(), ldc, strideC, batchCount, computeType.value(),
          algorithm), "m=" + m + " n=" + n + " k=" + k + " batch=" + batchCount + " " + computeType);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** {@link #gemmStridedBatchedEx} with float alpha/beta, for the fp32-scaled compute types. */
  public static void gemmStridedBatchedEx(CublasHandle handle, Operation transa, Operation transb,
      int m, int n, int k, float alpha,
      long a, CudaDataType aType, int lda, long strideA, long b, CudaDataType bType, int ldb, long strideB,
      float beta, long c, CudaDataType cType, int ldc, long strideC, int batchCount, ComputeType computeType) {
    requireFloatScale(computeType);
    try (Arena arena = Arena.ofConfined()) {
      gemmStridedBatchedEx(handle, transa, transb, m, n, k, arena.allocateFrom(JAVA_FLOAT, alpha),
          a, aType, lda, strideA, b, bType, ldb, strideB, arena.allocateFrom(JAVA_FLOAT, beta),
          c, cType, ldc, strideC, batchCount, computeType, GEMM_DEFAULT);
    }
  }

  /**
   * Checks a column-major GEMM's sizes as cuBLAS would, but with a message naming the argument:
   * {@code op(A)} is m x k, {@code op(B)} is k x n, C is m x n.
   */
  static void requireGemmShape(String call, Operation transa, Operation transb, int m, int n, int k,
      int lda, int ldb, int ldc) {
    if (m < 0 || n < 0 || k < 0) {
      throw new IllegalArgumentException(call + ": m = " + m + ", n = " + n + ", k = " + k + "; expected sizes >= 0");
    }
    requireLeadingDimension(call, "lda", lda, transa == Operation.N ? m : k, "op(A) = " + transa
        + (transa == Operation.N ? " stores A as m x k, so lda >= max(1, m)" : " stores A as k x m, so lda >= max(1, k)"));
    requireLeadingDimension(call, "ldb", ldb, transb == Operation.N ? k : n, "op(B) = " + transb
        + (transb == Operation.N ? " stores B as k x n, so ldb >= max(1, k)" : " stores B as n x k, so ldb >= max(1, n)"));
    requireLeadingDimension(call, "ldc", ldc, m, "C is m x n, so ldc >= max(1, m)");
  }

  private static void requireLeadingDimension(String call, String name, int value, int rows, String why) {
    if (value < Math.max(1, rows)) {
      throw new IllegalArgumentException(call + ": " + name + " = " + value + " is too small: " + why + " = "
          + Math.max(1, rows));
    }
  }

  /** The {@code cudaStream_t} to pass: null means the legacy default stream. */
  static MemorySegment streamHandle(CudaStream stream) {
    return stream == null ? MemorySegment.NULL : stream.handle();
  }

  private static void requireFloatScale(ComputeType computeType) {
    if (!computeType.hasFloatScale()) {
      throw new IllegalArgumentException(computeType + " takes alpha/beta in its own precision, not float;"
          + " use the MemorySegment overload");
    }
  }

  /** cuBLAS's name for a status, e.g. {@code CUBLAS_STATUS_INVALID_VALUE}; needs no GPU. */
  public static String statusName(int status) {
    return Api.STATUS.name(status);
  }

  static void check(String call, int status) {
    check(call, status, null);
  }

  static void check(String call, int status, String context) {
    Api.STATUS.check(call, status, context);
  }
}
