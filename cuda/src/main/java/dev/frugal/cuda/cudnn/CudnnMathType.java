package dev.frugal.cuda.cudnn;

/** {@code cudnnMathType_t}: whether a convolution may use tensor cores. */
public enum CudnnMathType implements CudnnEnum {
  /** {@code CUDNN_DEFAULT_MATH}: tensor cores only where the data types ask for them (fp16/bf16). */
  DEFAULT(0),
  /** {@code CUDNN_TENSOR_OP_MATH}: tensor cores allowed. */
  TENSOR_OP(1),
  /** {@code CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION}: tensor cores allowed, converting fp32 data down (TF32 and the like). */
  TENSOR_OP_ALLOW_CONVERSION(2),
  /** {@code CUDNN_FMA_MATH}: no tensor cores, plain FMA only (reference results). */
  FMA(3);

  private final int value;

  CudnnMathType(int value) {
    this.value = value;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for a value not listed here */
  public static CudnnMathType of(int value) {
    return CudnnEnum.of(CudnnMathType.class, value, "cudnnMathType_t");
  }
}
