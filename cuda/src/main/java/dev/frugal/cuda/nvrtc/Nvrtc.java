package dev.frugal.cuda.nvrtc;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.NvrtcException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.internal.Binder;
import dev.frugal.cuda.internal.BindingReport;
import dev.frugal.cuda.internal.NativeStrings;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;

/**
 * NVRTC ({@code libnvrtc.so.13} / {@code .12}) through FFM: runtime compilation of CUDA C to
 * CUBIN or PTX. Needs no GPU. Most code should use {@link KernelCompiler}, which adds the cache,
 * the fp16/bf16 headers and readable compile errors; this class is the thin binding.
 */
public final class Nvrtc {
  /** {@code NVRTC_SUCCESS}. */
  static final int SUCCESS = 0;
  /** {@code NVRTC_ERROR_COMPILATION}: the source has errors; the program log says which. */
  public static final int ERROR_COMPILATION = 6;

  private Nvrtc() {}

  private static final class Api {
    static final Binder B = new Binder(LibraryLoader.system().load(CudaLibrary.NVRTC));

    static final MethodHandle GET_ERROR_STRING = B.bind("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    static final MethodHandle VERSION = B.bind("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_NUM_SUPPORTED_ARCHS = B.bind("nvrtcGetNumSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle GET_SUPPORTED_ARCHS = B.bind("nvrtcGetSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle CREATE_PROGRAM = B.bind("nvrtcCreateProgram",
        FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle DESTROY_PROGRAM = B.bind("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle COMPILE_PROGRAM = B.bind("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    static final MethodHandle GET_PROGRAM_LOG_SIZE = B.bind("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_PROGRAM_LOG = B.bind("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_CUBIN_SIZE = B.bind("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_CUBIN = B.bind("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_PTX_SIZE = B.bind("nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_PTX = B.bind("nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle ADD_NAME_EXPRESSION = B.bind("nvrtcAddNameExpression", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GET_LOWERED_NAME = B.bind("nvrtcGetLoweredName", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
  }

  /** Which NVRTC symbols resolved (for diagnostics and tests). */
  public static BindingReport bindingReport() {
    return Api.B.report();
  }

  /** The loaded NVRTC's version as {@code {major, minor}}. */
  public static int[] version() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment major = arena.allocate(JAVA_INT);
      MemorySegment minor = arena.allocate(JAVA_INT);
      check("nvrtcVersion", (int) Api.VERSION.invokeExact(major, minor), null);
      return new int[] {major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0)};
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The loaded NVRTC's version as {@code "major.minor"}, e.g. {@code "13.0"}. */
  public static String versionString() {
    int[] version = version();
    return version[0] + "." + version[1];
  }

  /** The {@code sm_} numbers this NVRTC can compile for, ascending (e.g. 75, 80, 86, ...). */
  public static int[] supportedArchs() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment count = arena.allocate(JAVA_INT);
      check("nvrtcGetNumSupportedArchs", (int) Api.GET_NUM_SUPPORTED_ARCHS.invokeExact(count), null);
      int n = count.get(JAVA_INT, 0);
      MemorySegment archs = arena.allocate(JAVA_INT, Math.max(1, n));
      check("nvrtcGetSupportedArchs", (int) Api.GET_SUPPORTED_ARCHS.invokeExact(archs), null);
      return archs.asSlice(0, 4L * n).toArray(JAVA_INT);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Creates a program ({@code nvrtcCreateProgram}).
   *
   * @param source the CUDA C source
   * @param name the file name used in diagnostics, e.g. {@code "axpy.cu"}
   * @param headers in-memory headers by include name; searched before any {@code -I} folder
   */
  public static NvrtcProgram createProgram(String source, String name, Map<String, String> headers) {
    try (Arena arena = Arena.ofConfined()) {
      List<Map.Entry<String, String>> entries = List.copyOf(headers.entrySet());
      MemorySegment contents = arena.allocate(ADDRESS, Math.max(1, entries.size()));
      MemorySegment names = arena.allocate(ADDRESS, Math.max(1, entries.size()));
      for (int i = 0; i < entries.size(); i++) {
        contents.setAtIndex(ADDRESS, i, arena.allocateFrom(entries.get(i).getValue()));
        names.setAtIndex(ADDRESS, i, arena.allocateFrom(entries.get(i).getKey()));
      }
      MemorySegment headerContents = entries.isEmpty() ? MemorySegment.NULL : contents;
      MemorySegment headerNames = entries.isEmpty() ? MemorySegment.NULL : names;
      MemorySegment out = arena.allocate(ADDRESS);
      check("nvrtcCreateProgram", (int) Api.CREATE_PROGRAM.invokeExact(out, arena.allocateFrom(source),
          arena.allocateFrom(name), entries.size(), headerContents, headerNames), name);
      return new NvrtcProgram(out.get(ADDRESS, 0), name);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void destroyProgram(MemorySegment program) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment slot = arena.allocate(ADDRESS);
      slot.set(ADDRESS, 0, program);
      check("nvrtcDestroyProgram", (int) Api.DESTROY_PROGRAM.invokeExact(slot), null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Compiles; returns the raw result so a compilation error can be reported with the log. */
  static int compileProgram(MemorySegment program, List<String> options) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment array = arena.allocate(ADDRESS, Math.max(1, options.size()));
      for (int i = 0; i < options.size(); i++) {
        array.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
      }
      int status = (int) Api.COMPILE_PROGRAM.invokeExact(program, options.size(), array);
      if (status != SUCCESS && status != ERROR_COMPILATION) {
        check("nvrtcCompileProgram", status, "options " + options);
      }
      return status;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static String programLog(MemorySegment program) {
    byte[] bytes = readSized(program, Api.GET_PROGRAM_LOG_SIZE, Api.GET_PROGRAM_LOG, "nvrtcGetProgramLog");
    int end = bytes.length;
    while (end > 0 && bytes[end - 1] == 0) {
      end--;
    }
    return new String(bytes, 0, end, java.nio.charset.StandardCharsets.UTF_8);
  }

  static byte[] cubin(MemorySegment program) {
    return readSized(program, Api.GET_CUBIN_SIZE, Api.GET_CUBIN, "nvrtcGetCUBIN");
  }

  static byte[] ptx(MemorySegment program) {
    return readSized(program, Api.GET_PTX_SIZE, Api.GET_PTX, "nvrtcGetPTX");
  }

  static void addNameExpression(MemorySegment program, String expression) {
    try (Arena arena = Arena.ofConfined()) {
      check("nvrtcAddNameExpression",
          (int) Api.ADD_NAME_EXPRESSION.invokeExact(program, arena.allocateFrom(expression)), expression);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static String loweredName(MemorySegment program, String expression) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check("nvrtcGetLoweredName",
          (int) Api.GET_LOWERED_NAME.invokeExact(program, arena.allocateFrom(expression), out), expression);
      return NativeStrings.read(out.get(ADDRESS, 0), null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static byte[] readSized(MemorySegment program, MethodHandle sizeCall, MethodHandle readCall, String call) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment size = arena.allocate(JAVA_LONG);
      check(call + "Size", (int) sizeCall.invokeExact(program, size), null);
      long bytes = size.get(JAVA_LONG, 0);
      if (bytes == 0) {
        return new byte[0];
      }
      MemorySegment buffer = arena.allocate(bytes);
      check(call, (int) readCall.invokeExact(program, buffer), null);
      return buffer.toArray(JAVA_BYTE);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** NVRTC's text for a result code, e.g. {@code NVRTC_ERROR_COMPILATION}. */
  public static String errorString(int status) {
    try {
      return NativeStrings.read((MemorySegment) Api.GET_ERROR_STRING.invokeExact(status), "NVRTC_ERROR_" + status);
    } catch (Throwable t) {
      return "NVRTC_ERROR_" + status;
    }
  }

  static void check(String call, int status, String detail) {
    if (status != SUCCESS) {
      String hint = status == 7 ? "NVRTC could not load libnvrtc-builtins; "
          + CudaLibrary.NVRTC_BUILTINS.installHint() : null;
      throw new NvrtcException("NVRTC", call, status, errorString(status),
          hint == null ? detail : detail == null ? hint : detail + "; " + hint);
    }
  }

  static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException runtime) {
      throw runtime;
    }
    if (t instanceof Error error) {
      throw error;
    }
    throw new CudaException("unexpected checked exception from NVRTC: " + t, t);
  }
}
