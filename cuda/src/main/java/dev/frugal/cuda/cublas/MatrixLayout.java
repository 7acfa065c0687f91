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

  /**
   * A column-major {@code rows x cols} matrix with leading dimension {@code ld} (the distance
   * between columns, in elements).
   *
   * @throws IllegalArgumentException if a size is negative or {@code ld < max(1, rows)}
   */
  public static MatrixLayout create(CudaDataType type, long rows, long cols, long ld) {
    requireShape(type, rows, cols, ld, rows, "column-major: ld >= max(1, rows)");
    return new MatrixLayout(CublasLt.layoutCreate(type, rows, cols, ld));
  }

  /**
   * A row-major {@code rows x cols} matrix with leading dimension {@code ld} (the distance
   * between rows, in elements).
   *
   * @throws IllegalArgumentException if a size is negative or {@code ld < max(1, cols)}
   */
  public static MatrixLayout createRowMajor(CudaDataType type, long rows, long cols, long ld) {
    requireShape(type, rows, cols, ld, cols, "row-major: ld >= max(1, cols)");
    MatrixLayout layout = new MatrixLayout(CublasLt.layoutCreate(type, rows, cols, ld));
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.layoutSetAttribute(layout.handle, ORDER, arena.allocateFrom(JAVA_INT, ORDER_ROW));
    } catch (RuntimeException e) {
      layout.close();
      throw e;
    }
    return layout;
  }

  private static void requireShape(CudaDataType type, long rows, long cols, long ld, long minimum, String rule) {
    if (rows < 0 || cols < 0 || ld < Math.max(1, minimum)) {
      throw new IllegalArgumentException("matrix layout " + type + " " + rows + " x " + cols + " with ld " + ld
          + "; expected sizes >= 0 and, " + rule);
    }
  }

  /** The {@code cublasLtMatrixLayout_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /**
   * Declares {@code count} matrices spaced {@code strideElements} apart (0 repeats one matrix,
   * e.g. a shared weight).
   */
  public MatrixLayout setBatch(int count, long strideElements) {
    if (count < 1) {
      throw new IllegalArgumentException("batch count " + count + "; expected >= 1");
    }
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
