package dev.frugal.cuda.cublas;

/**
 * {@code cublasLtEpilogue_t}: work cuBLASLt fuses after the matmul (values from {@code cublasLt.h},
 * identical in cuBLASLt 12 and 13). Bias vectors have D's row count and are broadcast over
 * columns; AUX variants store what the backward pass needs (a ReLU bit mask, or GELU's input),
 * and the gradient variants read it back and write the bias gradient to the bias pointer.
 */
public enum Epilogue {
  /** No epilogue. */
  DEFAULT(1, 0, false),
  /** max(0, x). */
  RELU(2, 0, false),
  /** ReLU, storing a bit mask in the AUX buffer (AUX leading dimension divisible by 128). */
  RELU_AUX(130, 128, false),
  /** Add a bias. */
  BIAS(4, 0, true),
  /** Bias then ReLU. */
  RELU_BIAS(6, 0, true),
  /** Bias then ReLU, storing the mask. */
  RELU_AUX_BIAS(134, 128, true),
  /** ReLU gradient from the AUX mask. */
  DRELU(136, 128, false),
  /** ReLU gradient from the AUX mask, and the bias gradient (written to the bias pointer). */
  DRELU_BGRAD(152, 128, true),
  /** GELU (tanh approximation). */
  GELU(32, 0, false),
  /** GELU, storing the pre-activation in AUX (AUX leading dimension divisible by 8). */
  GELU_AUX(160, 8, false),
  /** Bias then GELU. */
  GELU_BIAS(36, 0, true),
  /** Bias then GELU, storing the pre-activation. */
  GELU_AUX_BIAS(164, 8, true),
  /** GELU gradient from the pre-activation in AUX. */
  DGELU(192, 8, false),
  /** GELU gradient from AUX, and the bias gradient (written to the bias pointer). */
  DGELU_BGRAD(208, 8, true),
  /** Bias gradient reduced over A's k dimension (length: D's rows). */
  BGRADA(256, 0, true),
  /** Bias gradient reduced over B's k dimension (length: D's columns). */
  BGRADB(512, 0, true);

  private final int value;
  private final int auxAlignment;
  private final boolean bias;

  Epilogue(int value, int auxAlignment, boolean bias) {
    this.value = value;
    this.auxAlignment = auxAlignment;
    this.bias = bias;
  }

  /** The C enum value. */
  public int value() {
    return value;
  }

  /** Whether this epilogue writes or reads an AUX buffer. */
  public boolean usesAux() {
    return auxAlignment != 0;
  }

  /**
   * What the AUX leading dimension must be a multiple of: 128 for the ReLU bit mask (counted in
   * bits), 8 for GELU's input; 0 when there is no AUX buffer.
   */
  public int auxLeadingDimensionMultiple() {
    return auxAlignment;
  }

  /** Whether this epilogue reads a bias vector or writes a bias gradient through the bias pointer. */
  public boolean usesBias() {
    return bias;
  }
}
