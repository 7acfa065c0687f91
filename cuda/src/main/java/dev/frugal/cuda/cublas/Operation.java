package dev.frugal.cuda.cublas;

/** {@code cublasOperation_t}: whether a GEMM operand is used as stored or transposed. */
public enum Operation {
  /** As stored (column-major). */
  N(0),
  /** Transposed. */
  T(1),
  /** Conjugate-transposed (same as T for real types). */
  C(2);

  private final int value;

  Operation(int value) {
    this.value = value;
  }

  /** The C enum value. */
  public int value() {
    return value;
  }
}
