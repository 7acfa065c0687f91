package dev.frugal.nativetests.support;

import dev.frugal.cuda.cublas.CudaDataType;
import dev.frugal.cuda.cudnn.CudnnDataType;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;

/**
 * The three floating-point storage types the GPU tests cover, with everything a test needs to move
 * values between Java, the CPU backend and a GPU library: the runtime's {@link DType}, the cuBLAS
 * {@link CudaDataType} and cuDNN {@link CudnnDataType}, the element size, the tolerance results are held to, and the rounding
 * (through the runtime's own {@link Float16}/{@link BFloat16}, so a GPU test also checks that the
 * CPU's round-to-nearest-even agrees with the hardware's).
 */
public enum Precision {
  /** IEEE binary32. */
  FP32(DType.F32, CudaDataType.R_32F, CudnnDataType.FLOAT, Tolerance.FP32),
  /** IEEE binary16. */
  FP16(DType.F16, CudaDataType.R_16F, CudnnDataType.HALF, Tolerance.FP16),
  /** bfloat16. */
  BF16(DType.BF16, CudaDataType.R_16BF, CudnnDataType.BFLOAT16, Tolerance.BF16);

  private final DType dtype;
  private final CudaDataType cudaType;
  private final CudnnDataType cudnnType;
  private final Tolerance tolerance;

  Precision(DType dtype, CudaDataType cudaType, CudnnDataType cudnnType, Tolerance tolerance) {
    this.dtype = dtype;
    this.cudaType = cudaType;
    this.cudnnType = cudnnType;
    this.tolerance = tolerance;
  }

  /** The runtime's dtype, for CPU reference graphs. */
  public DType dtype() {
    return dtype;
  }

  /** The cuBLAS/cuBLASLt element type. */
  public CudaDataType cudaType() {
    return cudaType;
  }

  /** The cuDNN tensor and filter element type. */
  public CudnnDataType cudnnType() {
    return cudnnType;
  }

  /** The tolerance a result stored in this type is held to against the CPU reference. */
  public Tolerance tolerance() {
    return tolerance;
  }

  /** Bytes per element. */
  public int bytes() {
    return dtype.byteSize();
  }

  /** The nearest value of this type, widened back to float (the identity for {@link #FP32}). */
  public float round(float value) {
    return switch (this) {
      case FP32 -> value;
      case FP16 -> Float16.round(value);
      case BF16 -> BFloat16.round(value);
    };
  }

  /** {@link #round} applied to every element (a new array). */
  public float[] round(float[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = round(values[i]);
    }
    return out;
  }

  /** The 16-bit pattern of the nearest value; only for {@link #FP16} and {@link #BF16}. */
  public short toBits(float value) {
    return switch (this) {
      case FP32 -> throw new UnsupportedOperationException("fp32 has no 16-bit pattern");
      case FP16 -> Float16.fromFloat(value);
      case BF16 -> BFloat16.fromFloat(value);
    };
  }

  /** The float value of a 16-bit pattern; only for {@link #FP16} and {@link #BF16}. */
  public float fromBits(short bits) {
    return switch (this) {
      case FP32 -> throw new UnsupportedOperationException("fp32 has no 16-bit pattern");
      case FP16 -> Float16.toFloat(bits);
      case BF16 -> BFloat16.toFloat(bits);
    };
  }

  /** Whether a 16-bit pattern of this type is a NaN (any payload). */
  public boolean isNaNBits(int bits) {
    return switch (this) {
      case FP32 -> throw new UnsupportedOperationException("fp32 has no 16-bit pattern");
      case FP16 -> (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
      case BF16 -> (bits & 0x7f80) == 0x7f80 && (bits & 0x007f) != 0;
    };
  }

  /** A pattern as {@code 0x3c00 (1.0)}, for failure messages. */
  public String describeBits(int bits) {
    return String.format(java.util.Locale.ROOT, "0x%04x (%s)", bits & 0xffff, fromBits((short) bits));
  }

  /** The C type a CUDA kernel uses for this storage type. */
  public String cudaCType() {
    return switch (this) {
      case FP32 -> "float";
      case FP16 -> "__half";
      case BF16 -> "__nv_bfloat16";
    };
  }

  /** Lower-case name for messages and kernel names: {@code fp32}, {@code fp16}, {@code bf16}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
