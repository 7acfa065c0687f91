package dev.frugal.cuda.cublas;

/** {@code cublasComputeType_t}: the precision GEMMs accumulate in (same values in cuBLAS 12 and 13). */
public enum ComputeType {
  /** fp16 accumulation; alpha/beta are fp16. */
  COMPUTE_16F(64, false),
  /** fp32 accumulation; alpha/beta are fp32. */
  COMPUTE_32F(68, true),
  /** fp32 without any reduced-precision shortcuts. */
  COMPUTE_32F_PEDANTIC(69, true),
  /** fp64 accumulation; alpha/beta are fp64. */
  COMPUTE_64F(70, false),
  /** int32 accumulation. */
  COMPUTE_32I(72, false),
  /** fp32 inputs computed with fp16 tensor cores. */
  COMPUTE_32F_FAST_16F(74, true),
  /** fp32 inputs computed with bf16 tensor cores. */
  COMPUTE_32F_FAST_16BF(75, true),
  /** fp32 inputs computed with TF32 tensor cores (Ampere and newer). */
  COMPUTE_32F_FAST_TF32(77, true);

  private final int value;
  private final boolean floatScale;

  ComputeType(int value, boolean floatScale) {
    this.value = value;
    this.floatScale = floatScale;
  }

  /** The C enum value. */
  public int value() {
    return value;
  }

  /** Whether alpha and beta are {@code float}s for this compute type. */
  public boolean hasFloatScale() {
    return floatScale;
  }
}
