package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Limits for cuBLASLt's algorithm search ({@code cublasLtMatmulPreference_t}). Close to destroy. */
public final class MatmulPreference implements AutoCloseable {
  /** {@code CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES} (uint64). */
  private static final int MAX_WORKSPACE_BYTES = 1;

  private final MemorySegment handle;
  private boolean closed;

  private MatmulPreference(MemorySegment handle) {
    this.handle = handle;
  }

  /** A preference allowing at most {@code maxWorkspaceBytes} of workspace. */
  public static MatmulPreference create(long maxWorkspaceBytes) {
    MatmulPreference preference = new MatmulPreference(CublasLt.preferenceCreate());
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.preferenceSetAttribute(preference.handle, MAX_WORKSPACE_BYTES,
          arena.allocateFrom(JAVA_LONG, maxWorkspaceBytes));
    } catch (RuntimeException e) {
      preference.close();
      throw e;
    }
    return preference;
  }

  /** The {@code cublasLtMatmulPreference_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** Destroys the preference; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CublasLt.preferenceDestroy(handle);
    }
  }
}
