package dev.frugal.cuda.cudnn;

/** {@code cudnnTensorFormat_t}: the memory order of a 4-d tensor or filter. */
public enum TensorFormat implements CudnnEnum {
  /** {@code CUDNN_TENSOR_NCHW}: row-major N, C, H, W (PyTorch's default). */
  NCHW(0),
  /** {@code CUDNN_TENSOR_NHWC}: channels innermost (the tensor-core friendly order). */
  NHWC(1);

  private final int value;

  TensorFormat(int value) {
    this.value = value;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for a value not listed here */
  public static TensorFormat of(int value) {
    return CudnnEnum.of(TensorFormat.class, value, "cudnnTensorFormat_t");
  }
}
