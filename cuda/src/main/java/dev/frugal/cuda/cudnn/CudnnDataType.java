package dev.frugal.cuda.cudnn;

/** {@code cudnnDataType_t}: element types of cuDNN tensors and filters, and convolution compute types. */
public enum CudnnDataType implements CudnnEnum {
  /** {@code CUDNN_DATA_FLOAT}: fp32. */
  FLOAT(0, 4),
  /** {@code CUDNN_DATA_DOUBLE}: fp64. */
  DOUBLE(1, 8),
  /** {@code CUDNN_DATA_HALF}: fp16. */
  HALF(2, 2),
  /** {@code CUDNN_DATA_INT8}. */
  INT8(3, 1),
  /** {@code CUDNN_DATA_INT32}. */
  INT32(4, 4),
  /** {@code CUDNN_DATA_BFLOAT16}: bf16. */
  BFLOAT16(9, 2);

  private final int value;
  private final int bytes;

  CudnnDataType(int value, int bytes) {
    this.value = value;
    this.bytes = bytes;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The size of one element in bytes. */
  public int bytes() {
    return bytes;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for a value not listed here */
  public static CudnnDataType of(int value) {
    return CudnnEnum.of(CudnnDataType.class, value, "cudnnDataType_t");
  }
}
