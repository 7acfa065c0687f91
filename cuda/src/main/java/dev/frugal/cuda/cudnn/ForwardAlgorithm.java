package dev.frugal.cuda.cudnn;

/** {@code cudnnConvolutionFwdAlgo_t}: the legacy forward-convolution algorithms. */
public enum ForwardAlgorithm implements CudnnEnum {
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM}: no workspace. */
  IMPLICIT_GEMM(0),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM}: precomputed indices, small workspace. */
  IMPLICIT_PRECOMP_GEMM(1),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_GEMM}: explicit im2col matrix, large workspace. */
  GEMM(2),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_DIRECT}. */
  DIRECT(3),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_FFT}: large workspace. */
  FFT(4),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING}. */
  FFT_TILING(5),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD}. */
  WINOGRAD(6),
  /** {@code CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED}. */
  WINOGRAD_NONFUSED(7);

  private final int value;

  ForwardAlgorithm(int value) {
    this.value = value;
  }

  /** The C enum value. */
  @Override
  public int value() {
    return value;
  }

  /** The constant whose C value is {@code value}. @throws IllegalArgumentException for an unknown value */
  public static ForwardAlgorithm of(int value) {
    return CudnnEnum.of(ForwardAlgorithm.class, value, "cudnnConvolutionFwdAlgo_t");
  }
}
