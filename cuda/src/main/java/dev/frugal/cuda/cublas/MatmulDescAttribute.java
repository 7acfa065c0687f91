package dev.frugal.cuda.cublas;

/** {@code cublasLtMatmulDescAttributes_t} values (identical in cuBLASLt 12 and 13). */
public final class MatmulDescAttribute {
  /** int32 {@link ComputeType}. */
  public static final int COMPUTE_TYPE = 0;
  /** int32 {@link CudaDataType} of alpha/beta. */
  public static final int SCALE_TYPE = 1;
  /** int32 pointer mode. */
  public static final int POINTER_MODE = 2;
  /** int32 {@link Operation} of A. */
  public static final int TRANSA = 3;
  /** int32 {@link Operation} of B. */
  public static final int TRANSB = 4;
  /** uint32 {@link Epilogue}. */
  public static final int EPILOGUE = 7;
  /** void* device bias vector. */
  public static final int BIAS_POINTER = 8;
  /** int64 bias stride between batches. */
  public static final int BIAS_BATCH_STRIDE = 10;
  /** void* device AUX buffer. */
  public static final int EPILOGUE_AUX_POINTER = 11;
  /** int64 leading dimension of AUX. */
  public static final int EPILOGUE_AUX_LD = 12;
  /** int64 AUX stride between batches. */
  public static final int EPILOGUE_AUX_BATCH_STRIDE = 13;
  /** int32 AUX data type, -1 for D's type. */
  public static final int EPILOGUE_AUX_DATA_TYPE = 22;
  /** int32 bias data type, -1 for D's type. */
  public static final int BIAS_DATA_TYPE = 26;

  private MatmulDescAttribute() {}
}
