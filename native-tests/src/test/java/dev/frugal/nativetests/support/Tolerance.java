package dev.frugal.nativetests.support;

/**
 * The per-dtype tolerances GPU results are held to against the CPU reference (ARCHITECTURE.md,
 * "Testing and proving"). The bound is relative to a per-element scale (see
 * {@link NumericAssert#assertClose}): for a dot product that scale is {@code sum |a_i * b_i|},
 * because rounding error grows with the terms summed, not with their (possibly cancelling) sum.
 */
public enum Tolerance {
  /** Full fp32 arithmetic, only the summation order differs. */
  FP32(1e-5),
  /** fp32 data through TF32 tensor cores (10-bit mantissa inputs). */
  TF32(1e-3),
  /** fp16 data or output, fp32 accumulation. */
  FP16(1e-2),
  /** bf16 data or output, fp32 accumulation. */
  BF16(1e-2);

  private final double relative;

  Tolerance(double relative) {
    this.relative = relative;
  }

  /** The relative bound. */
  public double relative() {
    return relative;
  }
}
