package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A cuBLASLt matmul description ({@code cublasLtMatmulDesc_t}): compute and scale types,
 * transposes and the fused epilogue. Needs no GPU to build. Set the epilogue before its bias and
 * AUX buffers: they are checked against it, so a missing or misplaced buffer fails here with a
 * clear message rather than as {@code CUBLAS_STATUS_INVALID_VALUE} at matmul time. Close to
 * destroy.
 */
public final class MatmulDescriptor implements AutoCloseable {
  private final MemorySegment handle;
  private final ComputeType computeType;
  private final CudaDataType scaleType;
  private Epilogue epilogue = Epilogue.DEFAULT;
  private boolean biasSet;
  private boolean auxSet;
  private boolean closed;

  private MatmulDescriptor(MemorySegment handle, ComputeType computeType, CudaDataType scaleType) {
    this.handle = handle;
    this.computeType = computeType;
    this.scaleType = scaleType;
  }

  /**
   * A descriptor computing in {@code computeType} with alpha/beta of {@code scaleType}
   * ({@code cublasLtMatmulDescCreate}); e.g. {@link ComputeType#COMPUTE_32F} with
   * {@link CudaDataType#R_32F} for fp32 accumulation of fp32, fp16 or bf16 inputs.
   */
  public static MatmulDescriptor create(ComputeType computeType, CudaDataType scaleType) {
    return new MatmulDescriptor(CublasLt.descCreate(computeType, scaleType), computeType, scaleType);
  }

  /** The {@code cublasLtMatmulDesc_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** The compute type it was created with. */
  public ComputeType computeType() {
    return computeType;
  }

  /** The type of alpha and beta. */
  public CudaDataType scaleType() {
    return scaleType;
  }

  /** The epilogue set last ({@link Epilogue#DEFAULT} until one is set). */
  public Epilogue epilogue() {
    return epilogue;
  }

  /** Sets how A and B are used. */
  public MatmulDescriptor setTranspose(Operation a, Operation b) {
    setInt(MatmulDescAttribute.TRANSA, a.value());
    return setInt(MatmulDescAttribute.TRANSB, b.value());
  }

  /** Sets the fused epilogue; set it before {@link #setBias} and {@link #setAux}. */
  public MatmulDescriptor setEpilogue(Epilogue newEpilogue) {
    setInt(MatmulDescAttribute.EPILOGUE, newEpilogue.value());
    epilogue = newEpilogue;
    return this;
  }

  /**
   * Sets the device bias vector, or the bias-gradient output for the BGRAD epilogues.
   *
   * @throws IllegalArgumentException if the epilogue uses no bias, or the pointer is null
   */
  public MatmulDescriptor setBias(long devicePointer) {
    if (!epilogue.usesBias()) {
      throw new IllegalArgumentException("bias pointer set, but epilogue " + epilogue + " neither reads a bias nor"
          + " writes a bias gradient; set a *_BIAS, *_BGRAD or BGRAD* epilogue first");
    }
    requireDevicePointer("bias", devicePointer);
    setPointer(MatmulDescAttribute.BIAS_POINTER, devicePointer);
    biasSet = true;
    return this;
  }

  /** Sets the bias (or bias-gradient) element type when it differs from D's. */
  public MatmulDescriptor setBiasDataType(CudaDataType type) {
    return setInt(MatmulDescAttribute.BIAS_DATA_TYPE, type.value());
  }

  /**
   * Sets the AUX buffer and its leading dimension, for the *_AUX epilogues and their gradients.
   *
   * @param leadingDimension in elements (bits for the ReLU mask); at least D's rows and a multiple
   *     of {@link Epilogue#auxLeadingDimensionMultiple()}
   * @throws IllegalArgumentException if the epilogue uses no AUX buffer or the leading dimension is
   *     not such a multiple
   */
  public MatmulDescriptor setAux(long devicePointer, long leadingDimension) {
    if (!epilogue.usesAux()) {
      throw new IllegalArgumentException("AUX buffer set, but epilogue " + epilogue + " does not use one; set"
          + " RELU_AUX*, GELU_AUX*, DRELU* or DGELU* first");
    }
    int multiple = epilogue.auxLeadingDimensionMultiple();
    if (leadingDimension <= 0 || leadingDimension % multiple != 0) {
      throw new IllegalArgumentException("AUX leading dimension " + leadingDimension + " for epilogue " + epilogue
          + "; expected a positive multiple of " + multiple + " that is at least D's rows");
    }
    requireDevicePointer("AUX", devicePointer);
    setPointer(MatmulDescAttribute.EPILOGUE_AUX_POINTER, devicePointer);
    setLong(MatmulDescAttribute.EPILOGUE_AUX_LD, leadingDimension);
    auxSet = true;
    return this;
  }

  /**
   * Checks that the buffers the epilogue reads or writes were given, so a forgotten one fails
   * with its name instead of {@code CUBLAS_STATUS_INVALID_VALUE} (or a write through NULL).
   *
   * @param call the cuBLASLt function about to run, for the message
   */
  void requireEpilogueBuffers(String call) {
    if (epilogue.usesBias() && !biasSet) {
      throw new IllegalArgumentException(call + ": epilogue " + epilogue + " needs a bias vector (setBias) first");
    }
    if (epilogue.usesAux() && !auxSet) {
      throw new IllegalArgumentException(call + ": epilogue " + epilogue + " needs an AUX buffer (setAux) first");
    }
  }

  /** Sets the AUX element type when it differs from D's (GELU epilogues). */
  public MatmulDescriptor setAuxDataType(CudaDataType type) {
    return setInt(MatmulDescAttribute.EPILOGUE_AUX_DATA_TYPE, type.value());
  }

  /** Sets a 32-bit attribute ({@link MatmulDescAttribute}). */
  public MatmulDescriptor setInt(int attribute, int value) {
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.descSetAttribute(handle, attribute, arena.allocateFrom(JAVA_INT, value));
    }
    return this;
  }

  /** Sets a 64-bit attribute ({@link MatmulDescAttribute}). */
  public MatmulDescriptor setLong(int attribute, long value) {
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.descSetAttribute(handle, attribute, arena.allocateFrom(JAVA_LONG, value));
    }
    return this;
  }

  /** Sets a pointer attribute (8 bytes on every supported platform). */
  public MatmulDescriptor setPointer(int attribute, long devicePointer) {
    return setLong(attribute, devicePointer);
  }

  private static void requireDevicePointer(String what, long devicePointer) {
    if (devicePointer == 0) {
      throw new IllegalArgumentException(what + " pointer is null; expected device memory");
    }
  }

  /** Destroys the descriptor; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CublasLt.descDestroy(handle);
    }
  }
}
