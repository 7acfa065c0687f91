package dev.frugal.cuda.cudnn;

/** {@code cudnnConvolutionBwdDataAlgo_t}: the legacy algorithms for the gradient of a convolution with respect to its input. */
public enum BackwardDataAlgorithm implements CudnnEnum {
  /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_0}: atomic adds, non-deterministic. */
  ALGO_0(0),
  /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_1}: implicit GEMM, deterministic. */
  ALGO_1(1),
  /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT}. */
  FFT(2),
  /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING}. */
  FFT_TILING(3),
  /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD}. */
  WINOGRAD(4),
  /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED}. */
  WINOGRAD_NONFUSED(5);

  private final int value;

  BackwardDataAlgorithm(int value) {
    this.value = value;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for an unknown value */
  public static BackwardDataAlgorithm of(int value) {
    return CudnnEnum.of(BackwardDataAlgorithm.class, value, "cudnnConvolutionBwdDataAlgo_t");
  }
}
