package dev.frugal.cuda.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.CudnnException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.internal.Binder;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.internal.NativeCalls;
import dev.frugal.cuda.internal.NativeStrings;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * cuDNN 9 ({@code libcudnn.so.9}) through FFM: handles, 4-d tensor, filter and convolution
 * descriptors, and the legacy convolution API (forward, backward-data, backward-filter, algorithm
 * search and workspace queries). Binds through the {@code libcudnn.so.9} shim, which loads its
 * sub-libraries itself; {@link LibraryLoader} loads cuBLASLt and NVRTC first so that cuDNN's own
 * {@code dlopen}s of them find the same files. Every status is checked and a failure throws
 * {@link CudnnException} named by {@code cudnnGetErrorString}, with cuDNN's last error message as
 * detail. Descriptor calls run on the host and need no GPU; handles and everything that takes one
 * need a current CUDA context on the calling thread. Device pointers are {@code long}s. No call is
 * linked {@code critical}: none is on a per-element hot path, and cuDNN may log to a file inside
 * any of them.
 */
public final class Cudnn {
  /** {@code CUDNN_STATUS_SUCCESS}. */
  static final int SUCCESS = 0;
  /** {@code CUDNN_STATUS_NOT_INITIALIZED}: what {@code cudnnCreate} returns when CUDA finds no usable GPU. */
  static final int NOT_INITIALIZED = 1001;

  /** {@code cudnnConvolution*AlgoPerf_t}: identical 48-byte layout for forward, backward-data and backward-filter. */
  static final StructLayout ALGO_PERF = MemoryLayout.structLayout(
      JAVA_INT.withName("algo"), JAVA_INT.withName("status"), JAVA_FLOAT.withName("time"),
      MemoryLayout.paddingLayout(4), JAVA_LONG.withName("memory"), JAVA_INT.withName("determinism"),
      JAVA_INT.withName("mathType"), MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"),
      MemoryLayout.paddingLayout(4));
  private static final long PERF_ALGO = offset("algo");
  private static final long PERF_STATUS = offset("status");
  private static final long PERF_TIME = offset("time");
  private static final long PERF_MEMORY = offset("memory");
  private static final long PERF_DETERMINISM = offset("determinism");
  private static final long PERF_MATH_TYPE = offset("mathType");
  /** Bytes read from {@code cudnnGetLastErrorString}. */
  private static final int LAST_ERROR_BYTES = 1024;

  private Cudnn() {}

  private static long offset(String field) {
    return ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement(field));
  }

  /** Handles, resolved when first needed so that loading this class never touches cuDNN. */
  private static final class Api {
    static final Binder B = new Binder(LibraryLoader.system().load(CudaLibrary.CUDNN));
    /** Each bound symbol's C signature as linked, in binding order, for the check against the headers. */
    static final Map<String, FunctionDescriptor> SIGNATURES = new LinkedHashMap<>();

    static MethodHandle bind(String symbol, FunctionDescriptor descriptor) {
      SIGNATURES.put(symbol, descriptor);
      return B.bind(symbol, descriptor);
    }

    static final MethodHandle GET_VERSION = bind("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
    static final MethodHandle GET_CUDART_VERSION = bind("cudnnGetCudartVersion", FunctionDescriptor.of(JAVA_LONG));
    static final MethodHandle GET_ERROR_STRING = bind("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle GET_LAST_ERROR_STRING = bind("cudnnGetLastErrorString", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
    static final MethodHandle CREATE = bind("cudnnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle DESTROY = bind("cudnnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle SET_STREAM = bind("cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_STREAM = bind("cudnnGetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    static final MethodHandle CREATE_TENSOR = bind("cudnnCreateTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle SET_TENSOR_4D = bind("cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle SET_TENSOR_4D_EX = bind("cudnnSetTensor4dDescriptorEx", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GET_TENSOR_4D = bind("cudnnGetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle GET_TENSOR_SIZE = bind("cudnnGetTensorSizeInBytes", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle DESTROY_TENSOR = bind("cudnnDestroyTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    static final MethodHandle CREATE_FILTER = bind("cudnnCreateFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle SET_FILTER_4D = bind("cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GET_FILTER_4D = bind("cudnnGetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle DESTROY_FILTER = bind("cudnnDestroyFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    static final MethodHandle CREATE_CONVOLUTION = bind("cudnnCreateConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle SET_CONVOLUTION_2D = bind("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GET_CONVOLUTION_2D = bind("cudnnGetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle SET_GROUP_COUNT = bind("cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle GET_GROUP_COUNT = bind("cudnnGetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle SET_MATH_TYPE = bind("cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle GET_MATH_TYPE = bind("cudnnGetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_OUTPUT_DIM = bind("cudnnGetConvolution2dForwardOutputDim", FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    static final MethodHandle DESTROY_CONVOLUTION = bind("cudnnDestroyConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    static final MethodHandle FWD_MAX_COUNT = bind("cudnnGetConvolutionForwardAlgorithmMaxCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle BWD_DATA_MAX_COUNT = bind("cudnnGetConvolutionBackwardDataAlgorithmMaxCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle BWD_FILTER_MAX_COUNT = bind("cudnnGetConvolutionBackwardFilterAlgorithmMaxCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    // (handle, four descriptors, requested, returned*, results*)
    static final FunctionDescriptor HEURISTIC = FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    static final MethodHandle FWD_HEURISTIC = bind("cudnnGetConvolutionForwardAlgorithm_v7", HEURISTIC);
    static final MethodHandle BWD_DATA_HEURISTIC = bind("cudnnGetConvolutionBackwardDataAlgorithm_v7", HEURISTIC);
    static final MethodHandle BWD_FILTER_HEURISTIC = bind("cudnnGetConvolutionBackwardFilterAlgorithm_v7", HEURISTIC);
    // (handle, desc, ptr, desc, ptr, conv, desc, ptr, requested, returned*, results*, workspace, workspaceBytes)
    static final FunctionDescriptor FIND = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
        ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
    static final MethodHandle FWD_FIND = bind("cudnnFindConvolutionForwardAlgorithmEx", FIND);
    static final MethodHandle BWD_DATA_FIND = bind("cudnnFindConvolutionBackwardDataAlgorithmEx", FIND);
    static final MethodHandle BWD_FILTER_FIND = bind("cudnnFindConvolutionBackwardFilterAlgorithmEx", FIND);
    // (handle, four descriptors, algo, size_t*)
    static final FunctionDescriptor WORKSPACE = FunctionDescriptor.of(JAVA_INT,
        ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
    static final MethodHandle FWD_WORKSPACE = bind("cudnnGetConvolutionForwardWorkspaceSize", WORKSPACE);
    static final MethodHandle BWD_DATA_WORKSPACE = bind("cudnnGetConvolutionBackwardDataWorkspaceSize", WORKSPACE);
    static final MethodHandle BWD_FILTER_WORKSPACE = bind("cudnnGetConvolutionBackwardFilterWorkspaceSize", WORKSPACE);
    // (handle, alpha, desc, ptr, desc, ptr, conv, algo, workspace, workspaceBytes, beta, desc, ptr)
    static final FunctionDescriptor RUN = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
        ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
    static final MethodHandle FORWARD = bind("cudnnConvolutionForward", RUN);
    static final MethodHandle BACKWARD_DATA = bind("cudnnConvolutionBackwardData", RUN);
    static final MethodHandle BACKWARD_FILTER = bind("cudnnConvolutionBackwardFilter", RUN);
  }

  /** Which cuDNN symbols resolved (for diagnostics and tests). */
  public static BindingReport bindingReport() {
    return Api.B.report();
  }

  /** Every bound symbol with the C signature it is linked with, in binding order. */
  static Map<String, FunctionDescriptor> signatures() {
    return Collections.unmodifiableMap(Api.SIGNATURES);
  }

  // ------------------------------------------------------------------------------ library

  /** The loaded cuDNN's version as {@code major * 10000 + minor * 100 + patch}, e.g. 92400; needs no GPU. */
  public static long version() {
    try {
      return (long) Api.GET_VERSION.invokeExact();
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** The CUDA runtime version cuDNN was built against, e.g. 13000 (13.0); needs no GPU. */
  public static long cudartVersion() {
    try {
      return (long) Api.GET_CUDART_VERSION.invokeExact();
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /**
   * cuDNN's name for a status ({@code cudnnGetErrorString}), e.g. {@code CUDNN_STATUS_BAD_PARAM};
   * {@code CUDNN_STATUS_<n>} if cuDNN is missing or has no name for it.
   */
  public static String errorString(int status) {
    try {
      return NativeStrings.read((MemorySegment) Api.GET_ERROR_STRING.invokeExact(status), "CUDNN_STATUS_" + status);
    } catch (Throwable t) {
      return "CUDNN_STATUS_" + status;
    }
  }

  /** cuDNN's message for the most recent error on this thread ({@code cudnnGetLastErrorString}), or null. */
  static String lastErrorMessage() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(LAST_ERROR_BYTES);
      Api.GET_LAST_ERROR_STRING.invokeExact(buffer, (long) LAST_ERROR_BYTES);
      String message = buffer.getString(0).strip();
      return message.isEmpty() ? null : message;
    } catch (Throwable t) {
      return null;
    }
  }

  // ------------------------------------------------------------------------------ handles

  /** Creates a handle in the current context ({@code cudnnCreate}); one per thread or stream. Needs a GPU. */
  public static CudnnHandle create() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      int status = (int) Api.CREATE.invokeExact(out);
      check("cudnnCreate", status, status == NOT_INITIALIZED ? noGpuHint() : null);
      return new CudnnHandle(out.get(ADDRESS, 0));
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  private static String noGpuHint() {
    LoadedLibrary driver = LibraryLoader.system().load(CudaLibrary.DRIVER);
    return driver.isLoaded()
        ? "cuDNN found no usable GPU: check nvidia-smi and CUDA_VISIBLE_DEVICES, and make a context current on this"
            + " thread (CudaContext.makeCurrent) before creating the handle"
        : "cuDNN needs a GPU and the NVIDIA driver, and none is usable: " + driver.problem();
  }

  static void destroy(MemorySegment handle) {
    call("cudnnDestroy", null, () -> (int) Api.DESTROY.invokeExact(handle));
  }

  static void setStream(MemorySegment handle, CudaStream stream) {
    call("cudnnSetStream", stream.toString(), () -> (int) Api.SET_STREAM.invokeExact(handle, stream.handle()));
  }

  static long stream(MemorySegment handle) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      call("cudnnGetStream", null, () -> (int) Api.GET_STREAM.invokeExact(handle, out));
      return out.get(ADDRESS, 0).address();
    }
  }

  // ------------------------------------------------------------------------------ descriptors

  /** A call that returns a {@code cudnnStatus_t}. */
  @FunctionalInterface
  private interface StatusCall {
    int run() throws Throwable;
  }

  /** A call that writes into {@code out} and returns a {@code cudnnStatus_t}. */
  @FunctionalInterface
  private interface OutCall {
    int run(MemorySegment out) throws Throwable;
  }

  /** Runs a native call and checks its status; {@code context} (or null) goes into the error message. */
  private static void call(String name, String context, StatusCall function) {
    try {
      check(name, function.run(), context);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** Runs a getter that writes {@code count} consecutive ints (one or several {@code int*} arguments) and returns them. */
  private static int[] ints(String name, int count, OutCall getter) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_INT, count);
      call(name, null, () -> getter.run(out));
      return out.toArray(JAVA_INT);
    }
  }

  /** Runs a {@code cudnnCreate*Descriptor(&out)} call and returns the new descriptor. */
  private static MemorySegment createDescriptor(String name, MethodHandle create) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      call(name, null, () -> (int) create.invokeExact(out));
      return out.get(ADDRESS, 0);
    }
  }

  static MemorySegment createTensor() {
    return createDescriptor("cudnnCreateTensorDescriptor", Api.CREATE_TENSOR);
  }

  static void destroyTensor(MemorySegment descriptor) {
    call("cudnnDestroyTensorDescriptor", null, () -> (int) Api.DESTROY_TENSOR.invokeExact(descriptor));
  }

  static void setTensor4d(MemorySegment descriptor, TensorFormat format, CudnnDataType type, int n, int c, int h, int w) {
    call("cudnnSetTensor4dDescriptor", format + " " + type + " " + n + "x" + c + "x" + h + "x" + w,
        () -> (int) Api.SET_TENSOR_4D.invokeExact(descriptor, format.value(), type.value(), n, c, h, w));
  }

  static void setTensor4dStrided(MemorySegment descriptor, CudnnDataType type, int n, int c, int h, int w,
      int nStride, int cStride, int hStride, int wStride) {
    call("cudnnSetTensor4dDescriptorEx", type + " " + n + "x" + c + "x" + h + "x" + w + " strides " + nStride + ","
        + cStride + "," + hStride + "," + wStride, () -> (int) Api.SET_TENSOR_4D_EX.invokeExact(descriptor,
            type.value(), n, c, h, w, nStride, cStride, hStride, wStride));
  }

  /** {@code {dataType, n, c, h, w, nStride, cStride, hStride, wStride}}. */
  static int[] tensor4d(MemorySegment descriptor) {
    return ints("cudnnGetTensor4dDescriptor", 9, out -> (int) Api.GET_TENSOR_4D.invokeExact(descriptor, out,
        out.asSlice(4), out.asSlice(8), out.asSlice(12), out.asSlice(16), out.asSlice(20), out.asSlice(24),
        out.asSlice(28), out.asSlice(32)));
  }

  static long tensorSizeInBytes(MemorySegment descriptor) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_LONG);
      call("cudnnGetTensorSizeInBytes", null, () -> (int) Api.GET_TENSOR_SIZE.invokeExact(descriptor, out));
      return out.get(JAVA_LONG, 0);
    }
  }

  static MemorySegment createFilter() {
    return createDescriptor("cudnnCreateFilterDescriptor", Api.CREATE_FILTER);
  }

  static void destroyFilter(MemorySegment descriptor) {
    call("cudnnDestroyFilterDescriptor", null, () -> (int) Api.DESTROY_FILTER.invokeExact(descriptor));
  }

  static void setFilter4d(MemorySegment descriptor, CudnnDataType type, TensorFormat format, int k, int c, int h, int w) {
    call("cudnnSetFilter4dDescriptor", format + " " + type + " " + k + "x" + c + "x" + h + "x" + w,
        () -> (int) Api.SET_FILTER_4D.invokeExact(descriptor, type.value(), format.value(), k, c, h, w));
  }

  /** {@code {dataType, format, k, c, h, w}}. */
  static int[] filter4d(MemorySegment descriptor) {
    return ints("cudnnGetFilter4dDescriptor", 6, out -> (int) Api.GET_FILTER_4D.invokeExact(descriptor, out,
        out.asSlice(4), out.asSlice(8), out.asSlice(12), out.asSlice(16), out.asSlice(20)));
  }

  static MemorySegment createConvolution() {
    return createDescriptor("cudnnCreateConvolutionDescriptor", Api.CREATE_CONVOLUTION);
  }

  static void destroyConvolution(MemorySegment descriptor) {
    call("cudnnDestroyConvolutionDescriptor", null, () -> (int) Api.DESTROY_CONVOLUTION.invokeExact(descriptor));
  }

  static void setConvolution2d(MemorySegment descriptor, int padH, int padW, int strideH, int strideW,
      int dilationH, int dilationW, ConvolutionMode mode, CudnnDataType computeType) {
    call("cudnnSetConvolution2dDescriptor", "pad " + padH + "," + padW + " stride " + strideH + "," + strideW
        + " dilation " + dilationH + "," + dilationW + " " + mode + " " + computeType,
        () -> (int) Api.SET_CONVOLUTION_2D.invokeExact(descriptor, padH, padW, strideH, strideW, dilationH, dilationW,
            mode.value(), computeType.value()));
  }

  /** {@code {padH, padW, strideH, strideW, dilationH, dilationW, mode, computeType}}. */
  static int[] convolution2d(MemorySegment descriptor) {
    return ints("cudnnGetConvolution2dDescriptor", 8, out -> (int) Api.GET_CONVOLUTION_2D.invokeExact(descriptor, out,
        out.asSlice(4), out.asSlice(8), out.asSlice(12), out.asSlice(16), out.asSlice(20), out.asSlice(24),
        out.asSlice(28)));
  }

  static void setGroupCount(MemorySegment descriptor, int groups) {
    call("cudnnSetConvolutionGroupCount", "groups " + groups,
        () -> (int) Api.SET_GROUP_COUNT.invokeExact(descriptor, groups));
  }

  static int groupCount(MemorySegment descriptor) {
    return ints("cudnnGetConvolutionGroupCount", 1, out -> (int) Api.GET_GROUP_COUNT.invokeExact(descriptor, out))[0];
  }

  static void setMathType(MemorySegment descriptor, CudnnMathType mathType) {
    call("cudnnSetConvolutionMathType", mathType.toString(),
        () -> (int) Api.SET_MATH_TYPE.invokeExact(descriptor, mathType.value()));
  }

  static int mathType(MemorySegment descriptor) {
    return ints("cudnnGetConvolutionMathType", 1, out -> (int) Api.GET_MATH_TYPE.invokeExact(descriptor, out))[0];
  }

  /** {@code {n, c, h, w}} of the output of a forward convolution. */
  static int[] forwardOutputDim(MemorySegment convolution, MemorySegment input, MemorySegment filter) {
    return ints("cudnnGetConvolution2dForwardOutputDim", 4, out -> (int) Api.GET_OUTPUT_DIM.invokeExact(convolution,
        input, filter, out, out.asSlice(4), out.asSlice(8), out.asSlice(12)));
  }

  // ------------------------------------------------------------------------------ algorithm choice

  /**
   * cuDNN's heuristic ranking of forward algorithms ({@code cudnnGetConvolutionForwardAlgorithm_v7}),
   * best first; runs nothing on the GPU but needs a handle. Results with a non-success status are kept
   * so callers see why an algorithm is unavailable.
   */
  public static List<AlgorithmPerf<ForwardAlgorithm>> forwardAlgorithmHeuristics(CudnnHandle handle,
      TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor convolution, TensorDescriptor y) {
    return search(handle, Search.FORWARD, "cudnnGetConvolutionForwardAlgorithm_v7", ForwardAlgorithm::of,
        shapes(x, w, convolution, y), (requested, count, results) -> (int) Api.FWD_HEURISTIC.invokeExact(
            handle.handle(), x.handle(), w.handle(), convolution.handle(), y.handle(), requested, count, results));
  }

  /** Heuristic ranking of backward-data algorithms ({@code cudnnGetConvolutionBackwardDataAlgorithm_v7}), best first. */
  public static List<AlgorithmPerf<BackwardDataAlgorithm>> backwardDataAlgorithmHeuristics(CudnnHandle handle,
      FilterDescriptor w, TensorDescriptor dy, ConvolutionDescriptor convolution, TensorDescriptor dx) {
    return search(handle, Search.BACKWARD_DATA, "cudnnGetConvolutionBackwardDataAlgorithm_v7",
        BackwardDataAlgorithm::of, shapes(dx, w, convolution, dy), (requested, count, results) ->
            (int) Api.BWD_DATA_HEURISTIC.invokeExact(handle.handle(), w.handle(), dy.handle(), convolution.handle(),
                dx.handle(), requested, count, results));
  }

  /** Heuristic ranking of backward-filter algorithms ({@code cudnnGetConvolutionBackwardFilterAlgorithm_v7}), best first. */
  public static List<AlgorithmPerf<BackwardFilterAlgorithm>> backwardFilterAlgorithmHeuristics(CudnnHandle handle,
      TensorDescriptor x, TensorDescriptor dy, ConvolutionDescriptor convolution, FilterDescriptor dw) {
    return search(handle, Search.BACKWARD_FILTER, "cudnnGetConvolutionBackwardFilterAlgorithm_v7",
        BackwardFilterAlgorithm::of, shapes(x, dw, convolution, dy), (requested, count, results) ->
            (int) Api.BWD_FILTER_HEURISTIC.invokeExact(handle.handle(), x.handle(), dy.handle(), convolution.handle(),
                dw.handle(), requested, count, results));
  }

  /**
   * Times every forward algorithm on real buffers ({@code cudnnFindConvolutionForwardAlgorithmEx}),
   * fastest first. Blocks until the trials finish and overwrites {@code y}. Algorithms needing more
   * than {@code workspaceBytes} come back with a non-success status.
   *
   * @param workspace a device buffer of {@code workspaceBytes}, or 0 with 0 bytes
   */
  public static List<AlgorithmPerf<ForwardAlgorithm>> findForwardAlgorithms(CudnnHandle handle,
      TensorDescriptor x, long xPointer, FilterDescriptor w, long wPointer, ConvolutionDescriptor convolution,
      TensorDescriptor y, long yPointer, long workspace, long workspaceBytes) {
    return search(handle, Search.FORWARD, "cudnnFindConvolutionForwardAlgorithmEx", ForwardAlgorithm::of,
        shapes(x, w, convolution, y), (requested, count, results) -> (int) Api.FWD_FIND.invokeExact(handle.handle(),
            x.handle(), MemorySegment.ofAddress(xPointer), w.handle(), MemorySegment.ofAddress(wPointer),
            convolution.handle(), y.handle(), MemorySegment.ofAddress(yPointer), requested, count, results,
            MemorySegment.ofAddress(workspace), workspaceBytes));
  }

  /**
   * Times every backward-data algorithm ({@code cudnnFindConvolutionBackwardDataAlgorithmEx}), fastest
   * first; overwrites {@code dx}.
   */
  public static List<AlgorithmPerf<BackwardDataAlgorithm>> findBackwardDataAlgorithms(CudnnHandle handle,
      FilterDescriptor w, long wPointer, TensorDescriptor dy, long dyPointer, ConvolutionDescriptor convolution,
      TensorDescriptor dx, long dxPointer, long workspace, long workspaceBytes) {
    return search(handle, Search.BACKWARD_DATA, "cudnnFindConvolutionBackwardDataAlgorithmEx",
        BackwardDataAlgorithm::of, shapes(dx, w, convolution, dy), (requested, count, results) ->
            (int) Api.BWD_DATA_FIND.invokeExact(handle.handle(), w.handle(), MemorySegment.ofAddress(wPointer),
                dy.handle(), MemorySegment.ofAddress(dyPointer), convolution.handle(), dx.handle(),
                MemorySegment.ofAddress(dxPointer), requested, count, results, MemorySegment.ofAddress(workspace),
                workspaceBytes));
  }

  /**
   * Times every backward-filter algorithm ({@code cudnnFindConvolutionBackwardFilterAlgorithmEx}),
   * fastest first; overwrites {@code dw}.
   */
  public static List<AlgorithmPerf<BackwardFilterAlgorithm>> findBackwardFilterAlgorithms(CudnnHandle handle,
      TensorDescriptor x, long xPointer, TensorDescriptor dy, long dyPointer, ConvolutionDescriptor convolution,
      FilterDescriptor dw, long dwPointer, long workspace, long workspaceBytes) {
    return search(handle, Search.BACKWARD_FILTER, "cudnnFindConvolutionBackwardFilterAlgorithmEx",
        BackwardFilterAlgorithm::of, shapes(x, dw, convolution, dy), (requested, count, results) ->
            (int) Api.BWD_FILTER_FIND.invokeExact(handle.handle(), x.handle(), MemorySegment.ofAddress(xPointer),
                dy.handle(), MemorySegment.ofAddress(dyPointer), convolution.handle(), dw.handle(),
                MemorySegment.ofAddress(dwPointer), requested, count, results, MemorySegment.ofAddress(workspace),
                workspaceBytes));
  }

  /** The three searches, each with the query for how many algorithms it can return. */
  private enum Search {
    FORWARD("cudnnGetConvolutionForwardAlgorithmMaxCount"),
    BACKWARD_DATA("cudnnGetConvolutionBackwardDataAlgorithmMaxCount"),
    BACKWARD_FILTER("cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");

    final String maxCountCall;

    Search(String maxCountCall) {
      this.maxCountCall = maxCountCall;
    }

    MethodHandle maxCount() {
      return switch (this) {
        case FORWARD -> Api.FWD_MAX_COUNT;
        case BACKWARD_DATA -> Api.BWD_DATA_MAX_COUNT;
        case BACKWARD_FILTER -> Api.BWD_FILTER_MAX_COUNT;
      };
    }
  }

  /** One heuristic or Find call: fills up to {@code requested} perf structs and their count. */
  @FunctionalInterface
  private interface PerfQuery {
    int run(int requested, MemorySegment count, MemorySegment results) throws Throwable;
  }

  /** Asks how many algorithms {@code search} can return, runs {@code query} for that many and decodes them. */
  private static <A extends Enum<A>> List<AlgorithmPerf<A>> search(CudnnHandle handle, Search search, String call,
      IntFunction<A> algorithm, String context, PerfQuery query) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment count = arena.allocate(JAVA_INT);
      check(search.maxCountCall, (int) search.maxCount().invokeExact(handle.handle(), count));
      int requested = Math.max(1, count.get(JAVA_INT, 0));
      MemorySegment results = arena.allocate(ALGO_PERF, requested);
      check(call, query.run(requested, count, results), context);
      return readPerf(results, count.get(JAVA_INT, 0), algorithm);
    } catch (Throwable t) {
      throw NativeCalls.rethrow(t);
    }
  }

  /** Decodes {@code count} {@code cudnnConvolution*AlgoPerf_t} structs. */
  static <A extends Enum<A>> List<AlgorithmPerf<A>> readPerf(MemorySegment results, int count,
      IntFunction<A> algorithm) {
    List<AlgorithmPerf<A>> perf = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      MemorySegment one = results.asSlice(i * ALGO_PERF.byteSize(), ALGO_PERF.byteSize());
      int status = one.get(JAVA_INT, PERF_STATUS);
      perf.add(new AlgorithmPerf<>(algorithm.apply(one.get(JAVA_INT, PERF_ALGO)), status,
          status == SUCCESS ? "CUDNN_STATUS_SUCCESS" : errorString(status), one.get(JAVA_FLOAT, PERF_TIME),
          one.get(JAVA_LONG, PERF_MEMORY), one.get(JAVA_INT, PERF_DETERMINISM) == 1,
          CudnnMathType.of(one.get(JAVA_INT, PERF_MATH_TYPE))));
    }
    return List.copyOf(perf);
  }

  // ------------------------------------------------------------------------------ workspace sizes

  /** Workspace bytes {@code algorithm} needs for this forward convolution ({@code cudnnGetConvolutionForwardWorkspaceSize}). */
  public static long forwardWorkspaceSize(CudnnHandle handle, TensorDescriptor x, FilterDescriptor w,
      ConvolutionDescriptor convolution, TensorDescriptor y, ForwardAlgorithm algorithm) {
    return workspaceSize("cudnnGetConvolutionForwardWorkspaceSize", Api.FWD_WORKSPACE, handle, x.handle(),
        w.handle(), convolution.handle(), y.handle(), algorithm.value(), algorithm + " " + shapes(x, w, convolution, y));
  }

  /** Workspace bytes for a backward-data convolution ({@code cudnnGetConvolutionBackwardDataWorkspaceSize}). */
  public static long backwardDataWorkspaceSize(CudnnHandle handle, FilterDescriptor w, TensorDescriptor dy,
      ConvolutionDescriptor convolution, TensorDescriptor dx, BackwardDataAlgorithm algorithm) {
    return workspaceSize("cudnnGetConvolutionBackwardDataWorkspaceSize", Api.BWD_DATA_WORKSPACE, handle, w.handle(),
        dy.handle(), convolution.handle(), dx.handle(), algorithm.value(),
        algorithm + " " + shapes(dx, w, convolution, dy));
  }

  /** Workspace bytes for a backward-filter convolution ({@code cudnnGetConvolutionBackwardFilterWorkspaceSize}). */
  public static long backwardFilterWorkspaceSize(CudnnHandle handle, TensorDescriptor x, TensorDescriptor dy,
      ConvolutionDescriptor convolution, FilterDescriptor dw, BackwardFilterAlgorithm algorithm) {
    return workspaceSize("cudnnGetConvolutionBackwardFilterWorkspaceSize", Api.BWD_FILTER_WORKSPACE, handle,
        x.handle(), dy.handle(), convolution.handle(), dw.handle(), algorithm.value(),
        algorithm + " " + shapes(x, dw, convolution, dy));
  }

  private static long workspaceSize(String name, MethodHandle query, CudnnHandle handle, MemorySegment first,
      MemorySegment second, MemorySegment convolution, MemorySegment fourth, int algorithm, String context) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(JAVA_LONG);
      call(name, context, () -> (int) query.invokeExact(handle.handle(), first, second, convolution, fourth, algorithm,
          out));
      return out.get(JAVA_LONG, 0);
    }
  }

  // ------------------------------------------------------------------------------ convolutions

  /**
   * {@code y = alpha * conv(x, w) + beta * y} ({@code cudnnConvolutionForward}), queued on the
   * handle's stream. Set the convolution's math type to the chosen {@link AlgorithmPerf#mathType()}
   * first.
   *
   * @param alpha host pointer to the scale: a float for fp32/fp16/bf16 data, a double for fp64
   * @param beta likewise
   * @param workspace device buffer of at least {@link #forwardWorkspaceSize} bytes, or 0
   */
  public static void convolutionForward(CudnnHandle handle, MemorySegment alpha, TensorDescriptor x, long xPointer,
      FilterDescriptor w, long wPointer, ConvolutionDescriptor convolution, ForwardAlgorithm algorithm,
      long workspace, long workspaceBytes, MemorySegment beta, TensorDescriptor y, long yPointer) {
    run("cudnnConvolutionForward", Api.FORWARD, handle, alpha, x.handle(), xPointer, w.handle(), wPointer,
        convolution, algorithm.value(), workspace, workspaceBytes, beta, y.handle(), yPointer,
        algorithm + " " + shapes(x, w, convolution, y));
  }

  /** {@link #convolutionForward} with float scales, for fp32, fp16 and bf16 data. */
  public static void convolutionForward(CudnnHandle handle, float alpha, TensorDescriptor x, long xPointer,
      FilterDescriptor w, long wPointer, ConvolutionDescriptor convolution, ForwardAlgorithm algorithm,
      long workspace, long workspaceBytes, float beta, TensorDescriptor y, long yPointer) {
    try (Arena arena = Arena.ofConfined()) {
      convolutionForward(handle, arena.allocateFrom(JAVA_FLOAT, alpha), x, xPointer, w, wPointer, convolution,
          algorithm, workspace, workspaceBytes, arena.allocateFrom(JAVA_FLOAT, beta), y, yPointer);
    }
  }

  /**
   * {@code dx = alpha * convBackwardData(w, dy) + beta * dx} ({@code cudnnConvolutionBackwardData}),
   * the gradient with respect to the convolution's input.
   */
  public static void convolutionBackwardData(CudnnHandle handle, MemorySegment alpha, FilterDescriptor w,
      long wPointer, TensorDescriptor dy, long dyPointer, ConvolutionDescriptor convolution,
      BackwardDataAlgorithm algorithm, long workspace, long workspaceBytes, MemorySegment beta, TensorDescriptor dx,
      long dxPointer) {
    run("cudnnConvolutionBackwardData", Api.BACKWARD_DATA, handle, alpha, w.handle(), wPointer, dy.handle(),
        dyPointer, convolution, algorithm.value(), workspace, workspaceBytes, beta, dx.handle(), dxPointer,
        algorithm + " " + shapes(dx, w, convolution, dy));
  }

  /** {@link #convolutionBackwardData} with float scales, for fp32, fp16 and bf16 data. */
  public static void convolutionBackwardData(CudnnHandle handle, float alpha, FilterDescriptor w, long wPointer,
      TensorDescriptor dy, long dyPointer, ConvolutionDescriptor convolution, BackwardDataAlgorithm algorithm,
      long workspace, long workspaceBytes, float beta, TensorDescriptor dx, long dxPointer) {
    try (Arena arena = Arena.ofConfined()) {
      convolutionBackwardData(handle, arena.allocateFrom(JAVA_FLOAT, alpha), w, wPointer, dy, dyPointer,
          convolution, algorithm, workspace, workspaceBytes, arena.allocateFrom(JAVA_FLOAT, beta), dx, dxPointer);
    }
  }

  /**
   * {@code dw = alpha * convBackwardFilter(x, dy) + beta * dw} ({@code cudnnConvolutionBackwardFilter}),
   * the gradient with respect to the filter; {@code beta = 1} accumulates.
   */
  public static void convolutionBackwardFilter(CudnnHandle handle, MemorySegment alpha, TensorDescriptor x,
      long xPointer, TensorDescriptor dy, long dyPointer, ConvolutionDescriptor convolution,
      BackwardFilterAlgorithm algorithm, long workspace, long workspaceBytes, MemorySegment beta, FilterDescriptor dw,
      long dwPointer) {
    run("cudnnConvolutionBackwardFilter", Api.BACKWARD_FILTER, handle, alpha, x.handle(), xPointer, dy.handle(),
        dyPointer, convolution, algorithm.value(), workspace, workspaceBytes, beta, dw.handle(), dwPointer,
        algorithm + " " + shapes(x, dw, convolution, dy));
  }

  /** {@link #convolutionBackwardFilter} with float scales, for fp32, fp16 and bf16 data. */
  public static void convolutionBackwardFilter(CudnnHandle handle, float alpha, TensorDescriptor x, long xPointer,
      TensorDescriptor dy, long dyPointer, ConvolutionDescriptor convolution, BackwardFilterAlgorithm algorithm,
      long workspace, long workspaceBytes, float beta, FilterDescriptor dw, long dwPointer) {
    try (Arena arena = Arena.ofConfined()) {
      convolutionBackwardFilter(handle, arena.allocateFrom(JAVA_FLOAT, alpha), x, xPointer, dy, dyPointer,
          convolution, algorithm, workspace, workspaceBytes, arena.allocateFrom(JAVA_FLOAT, beta), dw, dwPointer);
    }
  }

  private static void run(String name, MethodHandle function, CudnnHandle handle, MemorySegment alpha,
      MemorySegment firstDescriptor, long first, MemorySegment secondDescriptor, long second,
      ConvolutionDescriptor convolution, int algorithm, long workspace, long workspaceBytes, MemorySegment beta,
      MemorySegment outputDescriptor, long output, String context) {
    call(name, context, () -> (int) function.invokeExact(handle.handle(), alpha, firstDescriptor,
        MemorySegment.ofAddress(first), secondDescriptor, MemorySegment.ofAddress(second), convolution.handle(),
        algorithm, MemorySegment.ofAddress(workspace), workspaceBytes, beta, outputDescriptor,
        MemorySegment.ofAddress(output)));
  }

  /** {@code "x=... w=... conv=... y=..."}, for error messages. */
  private static String shapes(TensorDescriptor x, FilterDescriptor w, ConvolutionDescriptor convolution,
      TensorDescriptor y) {
    return "x=" + x + " w=" + w + " " + convolution + " y=" + y;
  }

  // ------------------------------------------------------------------------------ status

  static void check(String call, int status) {
    check(call, status, null);
  }

  static void check(String call, int status, String context) {
    if (status != SUCCESS) {
      String message = lastErrorMessage();
      throw new CudnnException("cuDNN", call, status, errorString(status),
          message == null ? context : context == null ? message : message + " [" + context + "]");
    }
  }
}
