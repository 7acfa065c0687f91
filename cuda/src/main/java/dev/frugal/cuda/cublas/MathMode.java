package dev.frugal.cuda.cublas;

/** {@code cublasMath_t} values for {@link CublasHandle#setMathMode}. */
public final class MathMode {
  /** Default: tensor cores where the compute type allows. */
  public static final int DEFAULT = 0;
  /** Never use reduced precision, for reference results. */
  public static final int PEDANTIC = 2;
  /** Allow TF32 tensor cores for fp32 GEMMs. */
  public static final int TF32_TENSOR_OP = 3;
  /** Flag: forbid reduced-precision reductions in fp16 GEMMs (OR it with a mode). */
  public static final int DISALLOW_REDUCED_PRECISION_REDUCTION = 16;

  private MathMode() {}
}
