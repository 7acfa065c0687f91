package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.internal.Binder;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.internal.NativeCalls;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * cuBLASLt ({@code libcublasLt.so.13} / {@code .12}) through FFM: matmuls with fused epilogues
 * (bias, ReLU, GELU and their gradients), chosen by cuBLASLt's heuristic. The flow is: a
 * {@link MatmulDescriptor} (types, transposes, epilogue), four {@link MatrixLayout}s, a
 * {@link MatmulPreference} (workspace limit), {@link #heuristic} once per shape, then
 * {@link #matmul} every step with the chosen algorithm. Every status is checked and a failure
 * throws {@link dev.frugal.cuda.CublasException} named by {@code cublasLtGetStatusName}.
 * Descriptors, layouts and preferences need no GPU; handles, the heuristic and matmuls need a
 * current CUDA context.
 */
public final class CublasLt {
  /** {@code cublasLtMatmulHeuristicResult_t}: 96 bytes (algo[64], workspaceSize, state, wavesCount, reserved[4]). */
  static final StructLayout HEURISTIC_RESULT = MemoryLayout.structLayout(
      MemoryLayout.sequenceLayout(8, JAVA_LONG).withName("algo"),
      JAVA_LONG.withName("workspaceSize"),
      JAVA_INT.withName("state"),
      JAVA_FLOAT.withName("wavesCount"),
      MemoryLayout.sequenceLayout(4, JAVA_INT).withName("reserved"));
  /** {@code cublasLtMatmulAlgo_t}: 8 uint64s. */
  static final long ALGO_BYTES = 64;
  private static final long WORKSPACE_SIZE_OFFSET = HEURISTIC_RESULT.byteOffset(
      MemoryLayout.PathElement.groupElement("workspaceSize"));
  private static final long STATE_OFFSET = HEURISTIC_RESULT.byteOffset(MemoryLayout.PathElement.groupElement("state"));
  private static final long WAVES_COUNT_OFFSET = HEURISTIC_RESULT.byteOffset(
      MemoryLayout.PathElement.groupElement("wavesCount"));

  private CublasLt() {}

  private static final class Api {
    static final Binder B = new Binder(LibraryLoader.system().load(CudaLibrary.CUBLAS_LT));
    static final Linker.Option CRITICAL = Linker.Option.critical(false);

    static final MethodHandle GET_STATUS_NAME = B.bind("cublasLtGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle GET_STATUS_STRING = B.bind("cublasLtGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final CublasStatus STATUS = new CublasStatus("cuBLASLt", GET_STATUS_NAME, GET_STATUS_STRING);
    static final MethodHandle GET_VERSION = B.bind("cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
    static final MethodHandle CREATE = B.bind("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DESTROY = B.bind("cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DESC_CREATE = B.bind("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle DESC_SET_ATTRIBUTE = B.bind("cublasLtMatmulDescSetAttribute",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG), CRITICAL);
    static final MethodHandle DESC_DESTROY = B.bind("cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle LAYOUT_CREATE = B.bind("cublasLtMatrixLayoutCreate",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MethodHandle LAYOUT_SET_ATTRIBUTE = B.bind("cublasLtMatrixLayoutSetAttribute",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG), CRITICAL);
    static final MethodHandle LAYOUT_DESTROY = B.bind("cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle PREFERENCE_CREATE = B.bind("cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle PREFERENCE_SET_ATTRIBUTE = B.bind("cublasLtMatmulPreferenceSetAttribute",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG), CRITICAL);
    static final MethodHandle PREFERENCE_DESTROY = B.bind("cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle ALGO_GET_HEURISTIC = B.bind("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle MATMUL = B.bind("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
        ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
  }

  /** Which cuBLASLt symbols resolved (for diagnostics and tests). */
  public static BindingReport bindingReport() {
    return Api.B.report();
  }

  /** The loaded cuBLASLt version, encoded as 10000 * major + 100 * minor + patch; needs no GPU. */
  public static long version() {
    try {
      return (long) Api.GET_VERSION.invokeExact();
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** Creates a handle ({@code cublasLtCreate}); close to destroy. */
  public static CublasLtHandle create() {
    return new CublasLtHandle(Api.STATUS.createHandle("cublasLtCreate", Api.CREATE));
  }

  static void destroy(MemorySegment handle) {
    Api.STATUS.destroy("cublasLtDestroy", Api.DESTROY, handle);
  }

  static MemorySegment descCreate(ComputeType computeType, CudaDataType scaleType) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cublasLtMatmulDescCreate", (int) Api.DESC_CREATE.invokeExact(out, computeType.value(), scaleType.value()));
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void descSetAttribute(MemorySegment desc, int attribute, MemorySegment value) {
    try {
      check("cublasLtMatmulDescSetAttribute",
          (int) Api.DESC_SET_ATTRIBUTE.invokeExact(desc, attribute, value, value.byteSize()), "attribute " + attribute);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void descDestroy(MemorySegment desc) {
    Api.STATUS.destroy("cublasLtMatmulDescDestroy", Api.DESC_DESTROY, desc);
  }

  static MemorySegment layoutCreate(CudaDataType type, long rows, long cols, long ld) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cublasLtMatrixLayoutCreate", (int) Api.LAYOUT_CREATE.invokeExact(out, type.value(), rows, cols, ld),
          type + " " + rows + "x" + cols + " ld " + ld);
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void layoutSetAttribute(MemorySegment layout, int attribute, MemorySegment value) {
    try {
      check("cublasLtMatrixLayoutSetAttribute",
          (int) Api.LAYOUT_SET_ATTRIBUTE.invokeExact(layout, attribute, value, value.byteSize()), "attribute " + attribute);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void layoutDestroy(MemorySegment layout) {
    Api.STATUS.destroy("cublasLtMatrixLayoutDestroy", Api.LAYOUT_DESTROY, layout);
  }

  static MemorySegment preferenceCreate() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("cublasLtMatmulPreferenceCreate", (int) Api.PREFERENCE_CREATE.invokeExact(out));
      return out.get(ADDRESS, 0);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void preferenceSetAttribute(MemorySegment preference, int attribute, MemorySegment value) {
    try {
      check("cublasLtMatmulPreferenceSetAttribute", (int) Api.PREFERENCE_SET_ATTRIBUTE.invokeExact(preference,
          attribute, value, value.byteSize()), "attribute " + attribute);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  static void preferenceDestroy(MemorySegment preference) {
    Api.STATUS.destroy("cublasLtMatmulPreferenceDestroy", Api.PREFERENCE_DESTROY, preference);
  }

  /**
   * Asks cuBLASLt for up to {@code requested} algorithms for this matmul, best first
   * ({@code cublasLtMatmulAlgoGetHeuristic}). Set the descriptor's pointers (bias, AUX) first:
   * their alignment is part of the decision. Cache the answer per shape.
   *
   * @return the usable results (state == success), possibly empty
   */
  public static List<MatmulAlgorithm> heuristic(CublasLtHandle handle, MatmulDescriptor desc, MatrixLayout a,
      MatrixLayout b, MatrixLayout c, MatrixLayout d, MatmulPreference preference, int requested) {
    desc.requireEpilogueBuffers("cublasLtMatmulAlgoGetHeuristic");
    if (requested < 1) {
      throw new IllegalArgumentException("cublasLtMatmulAlgoGetHeuristic: requested " + requested
          + " algorithms; expected >= 1");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment results = arena.allocate(HEURISTIC_RESULT, requested);
      MemorySegment count = arena.allocate(JAVA_INT);
      check("cublasLtMatmulAlgoGetHeuristic", (int) Api.ALGO_GET_HEURISTIC.invokeExact(handle.handle(), desc.handle(),
          a.handle(), b.handle(), c.handle(), d.handle(), preference.handle(), requested, results, count));
      List<MatmulAlgorithm> algorithms = new ArrayList<>();
      for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
        MemorySegment result = results.asSlice(i * HEURISTIC_RESULT.byteSize(), HEURISTIC_RESULT.byteSize());
        if (result.get(JAVA_INT, STATE_OFFSET) == 0) {
          algorithms.add(new MatmulAlgorithm(result.asSlice(0, ALGO_BYTES).toArray(JAVA_LONG),
              result.get(JAVA_LONG, WORKSPACE_SIZE_OFFSET), result.get(JAVA_FLOAT, WAVES_COUNT_OFFSET)));
        }
      }
      return algorithms;
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * {@code D = epilogue(alpha * op(A) op(B) + beta * C)} ({@code cublasLtMatmul}).
   *
   * @param alpha host (or device, per the descriptor's pointer mode) scale in the scale type
   * @param algorithm from {@link #heuristic}, or null to let cuBLASLt pick internally
   * @param workspace device workspace of at least the algorithm's {@link MatmulAlgorithm#workspaceBytes()}
   * @param stream where to queue it; null for the legacy default stream
   */
  public static void matmul(CublasLtHandle handle, MatmulDescriptor desc, MemorySegment alpha,
      long a, MatrixLayout aLayout, long b, MatrixLayout bLayout, MemorySegment beta,
      long c, MatrixLayout cLayout, long d, MatrixLayout dLayout, MatmulAlgorithm algorithm,
      long workspace, long workspaceBytes, CudaStream stream) {
    desc.requireEpilogueBuffers("cublasLtMatmul");
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment algo = MemorySegment.NULL;
      if (algorithm != null) {
        algo = arena.allocate(ALGO_BYTES, 8);
        MemorySegment.copy(algorithm.opaque(), 0, algo, JAVA_LONG, 0, 8);
      }
      check("cublasLtMatmul", (int) Api.MATMUL.invokeExact(handle.handle(), desc.handle(), alpha,
          MemorySegment.ofAddress(a), aLayout.handle(), MemorySegment.ofAddress(b), bLayout.handle(), beta,
          MemorySegment.ofAddress(c), cLayout.handle(), MemorySegment.ofAddress(d), dLayout.handle(), algo,
          MemorySegment.ofAddress(workspace), workspaceBytes, Cublas.streamHandle(stream)));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * {@link #matmul} with float alpha and beta, for descriptors whose scale type is
   * {@link CudaDataType#R_32F} (fp32 accumulation of fp32, fp16 or bf16 inputs).
   *
   * @throws IllegalArgumentException if the descriptor's scale type is not fp32
   */
  public static void matmul(CublasLtHandle handle, MatmulDescriptor desc, float alpha,
      long a, MatrixLayout aLayout, long b, MatrixLayout bLayout, float beta,
      long c, MatrixLayout cLayout, long d, MatrixLayout dLayout, MatmulAlgorithm algorithm,
      long workspace, long workspaceBytes, CudaStream stream) {
    if (desc.scaleType() != CudaDataType.R_32F) {
      throw new IllegalArgumentException("float alpha/beta given, but the descriptor's scale type is "
          + desc.scaleType() + "; use the MemorySegment overload with values of that type");
    }
    try (Arena arena = Arena.ofConfined()) {
      matmul(handle, desc, arena.allocateFrom(JAVA_FLOAT, alpha), a, aLayout, b, bLayout,
          arena.allocateFrom(JAVA_FLOAT, beta), c, cLayout, d, dLayout, algorithm, workspace, workspaceBytes, stream);
    }
  }

  /** cuBLASLt's name for a status, e.g. {@code CUBLAS_STATUS_NOT_SUPPORTED}; needs no GPU. */
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
