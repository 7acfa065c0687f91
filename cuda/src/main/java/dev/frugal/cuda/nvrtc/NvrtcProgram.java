package dev.frugal.cuda.nvrtc;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** One NVRTC program ({@code nvrtcProgram}): compile it, then read its log, CUBIN or PTX. Close to destroy. */
public final class NvrtcProgram implements AutoCloseable {
  private final MemorySegment handle;
  private final String name;
  private boolean closed;

  NvrtcProgram(MemorySegment handle, String name) {
    this.handle = handle;
    this.name = name;
  }

  /** The file name given at creation. */
  public String name() {
    return name;
  }

  /**
   * Registers a name expression (e.g. {@code "my_kernel<float>"}) before compiling, so its
   * mangled name can be read with {@link #loweredName} afterwards.
   */
  public void addNameExpression(String expression) {
    Nvrtc.addNameExpression(handle, expression);
  }

  /**
   * Compiles with {@code options} ({@code --gpu-architecture=sm_80}, {@code -I...}, ...).
   *
   * @return true on success, false on source errors (then read {@link #log()})
   * @throws dev.frugal.cuda.NvrtcException for any other failure (bad option, missing builtins)
   */
  public boolean compile(List<String> options) {
    return Nvrtc.compileProgram(handle, options) == Nvrtc.SUCCESS;
  }

  /** The compiler's messages (errors and warnings with {@code name(line)} positions). */
  public String log() {
    return Nvrtc.programLog(handle);
  }

  /** The CUBIN; empty when compiled for a virtual {@code compute_XX} architecture. */
  public byte[] cubin() {
    return Nvrtc.cubin(handle);
  }

  /** The PTX text, including its trailing NUL. */
  public byte[] ptx() {
    return Nvrtc.ptx(handle);
  }

  /** The mangled name of an expression registered with {@link #addNameExpression}. */
  public String loweredName(String expression) {
    return Nvrtc.loweredName(handle, expression);
  }

  /** Destroys the program; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Nvrtc.destroyProgram(handle);
    }
  }
}
