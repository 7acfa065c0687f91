package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The shape of one cuBLASLt operand ({@code cublasLtMatrixLayout_t}): type, rows, columns,
 * leading dimension, order and batching. Needs no GPU to build. Close to destroy.
 */
public final class MatrixLayout implements AutoCloseable {
  /** {@code CUBLASLT_MATRIX_LAYOUT_ORDER}. */
  private static final int ORDER = 1;
  /** {@code CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT}. */
  private static final int BATCH_COUNT = 5;
  /** {@code CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET}. */
  private static final int STRIDED_BATCH_OFFSET = 6;
  /** {@code CUBLASLT_ORDER_ROW}. */
  private static final int ORDER_ROW = 1;

  private final MemorySegment handle;
  private boolean closed;

  private MatrixLayout(MemorySegment handle) {
    this.handle = handle;
  }

  /** A column-major {@code rows x cols} matrix with leading dimension {@code ld}. */
  public static MatrixLayout create(CudaDataType type, long rows, long cols, long ld) {
    return new MatrixLayout(CublasLt.layoutCreate(type, rows, cols, ld));
  }

  /** The {@code cublasLtMatrixLayout_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** Declares the matrix row-major instead of column-major. */
  public MatrixLayout setRowMajor() {
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.layoutSetAttribute(handle, ORDER, arena.allocateFrom(JAVA_INT, ORDER_ROW));
    }
    return this;
  }

  /** Declares {@code count} matrices spaced {@code strideElements} apart. */
  public MatrixLayout setBatch(int count, long strideElements) {
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.layoutSetAttribute(handle, BATCH_COUNT, arena.allocateFrom(JAVA_INT, count));
      CublasLt.layoutSetAttribute(handle, STRIDED_BATCH_OFFSET, arena.allocateFrom(JAVA_LONG, strideElements));
    }
    return this;
  }

  /** Destroys the layout; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CublasLt.layoutDestroy(handle);
    }
  }
}
