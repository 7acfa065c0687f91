package dev.frugal.cuda.cublas;

/**
 * {@code cublasLtEpilogue_t}: work cuBLASLt fuses after the matmul. Bias vectors have D's row
 * count and are broadcast over columns; AUX variants store what the backward pass needs.
 */
public enum Epilogue {
  /** No epilogue. */
  DEFAULT(1),
  /** max(0, x). */
  RELU(2),
  /** ReLU, storing a bit mask in the AUX buffer (AUX_LD divisible by 128). */
  RELU_AUX(130),
  /** Add a bias. */
  BIAS(4),
  /** Bias then ReLU. */
  RELU_BIAS(6),
  /** Bias then ReLU, storing the mask. */
  RELU_AUX_BIAS(134),
  /** ReLU gradient from the AUX mask. */
  DRELU(136),
  /** ReLU gradient and bias gradient. */
  DRELU_BGRAD(152),
  /** GELU (tanh approximation). */
  GELU(32),
  /** GELU, storing the pre-activation in AUX (AUX_LD divisible by 8). */
  GELU_AUX(160),
  /** Bias then GELU. */
  GELU_BIAS(36),
  /** Bias then GELU, storing the pre-activation. */
  GELU_AUX_BIAS(164),
  /** GELU gradient from AUX. */
  DGELU(192),
  /** GELU gradient and bias gradient. */
  DGELU_BGRAD(208),
  /** Bias gradient reduced over A's k dimension. */
  BGRADA(256),
  /** Bias gradient reduced over B's k dimension. */
  BGRADB(512);

  private final int value;

  Epilogue(int value) {
    this.value = value;
  }

  /** The C enum value. */
  public int value() {
    return value;
  }
}
