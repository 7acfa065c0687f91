package dev.frugal.cuda.cublas;

/** {@code cudaDataType} from {@code library_types.h}: element types of cuBLAS/cuBLASLt matrices. */
public enum CudaDataType {
  /** fp32. */
  R_32F(0),
  /** fp64. */
  R_64F(1),
  /** fp16. */
  R_16F(2),
  /** int8. */
  R_8I(3),
  /** int32. */
  R_32I(10),
  /** bf16. */
  R_16BF(14),
  /** fp8 e4m3. */
  R_8F_E4M3(28),
  /** fp8 e5m2. */
  R_8F_E5M2(29);

  private final int value;

  CudaDataType(int value) {
    this.value = value;
  }

  /** The C enum value. */
  public int value() {
    return value;
  }
}
