package dev.frugal.cuda.cudnn;

/** {@code cudnnConvolutionBwdFilterAlgo_t}: the legacy algorithms for the gradient of a convolution with respect to its filter. */
public enum BackwardFilterAlgorithm implements CudnnEnum {
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0}: atomic adds, non-deterministic. */
  ALGO_0(0),
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1}: implicit GEMM, deterministic. */
  ALGO_1(1),
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT}. */
  FFT(2),
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3}: like ALGO_0 with precomputed indices, non-deterministic. */
  ALGO_3(3),
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD} (not implemented by cuDNN; listed because the value exists). */
  WINOGRAD(4),
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED}. */
  WINOGRAD_NONFUSED(5),
  /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING}. */
  FFT_TILING(6);

  private final int value;

  BackwardFilterAlgorithm(int value) {
    this.value = value;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for an unknown value */
  public static BackwardFilterAlgorithm of(int value) {
    return CudnnEnum.of(BackwardFilterAlgorithm.class, value, "cudnnConvolutionBwdFilterAlgo_t");
  }
}
