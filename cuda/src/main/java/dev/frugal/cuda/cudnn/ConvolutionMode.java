package dev.frugal.cuda.cudnn;

/** {@code cudnnConvolutionMode_t}. */
public enum ConvolutionMode implements CudnnEnum {
  /** {@code CUDNN_CONVOLUTION}: the filter is flipped, as in the mathematical definition. */
  CONVOLUTION(0),
  /** {@code CUDNN_CROSS_CORRELATION}: no flip; what deep-learning frameworks call convolution. */
  CROSS_CORRELATION(1);

  private final int value;

  ConvolutionMode(int value) {
    this.value = value;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for a value not listed here */
  public static ConvolutionMode of(int value) {
    return CudnnEnum.of(ConvolutionMode.class, value, "cudnnConvolutionMode_t");
  }
}
