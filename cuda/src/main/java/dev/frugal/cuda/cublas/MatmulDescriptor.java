package dev.frugal.cuda.cublas;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A cuBLASLt matmul description ({@code cublasLtMatmulDesc_t}): compute and scale types,
 * transposes and the fused epilogue. Needs no GPU to build. Close to destroy.
 */
public final class MatmulDescriptor implements AutoCloseable {
  private final MemorySegment handle;
  private boolean closed;

  private MatmulDescriptor(MemorySegment handle) {
    this.handle = handle;
  }

  /** A descriptor computing in {@code computeType} with alpha/beta of {@code scaleType}. */
  public static MatmulDescriptor create(ComputeType computeType, CudaDataType scaleType) {
    return new MatmulDescriptor(CublasLt.descCreate(computeType, scaleType));
  }

  /** The {@code cublasLtMatmulDesc_t}. */
  public MemorySegment handle() {
    return handle;
  }

  /** Sets how A and B are used. */
  public MatmulDescriptor setTranspose(Operation a, Operation b) {
    setInt(MatmulDescAttribute.TRANSA, a.value());
    return setInt(MatmulDescAttribute.TRANSB, b.value());
  }

  /** Sets the fused epilogue. */
  public MatmulDescriptor setEpilogue(Epilogue epilogue) {
    return setInt(MatmulDescAttribute.EPILOGUE, epilogue.value());
  }

  /** Sets the device bias vector (or bias-gradient output for the BGRAD epilogues). */
  public MatmulDescriptor setBias(long devicePointer) {
    return setPointer(MatmulDescAttribute.BIAS_POINTER, devicePointer);
  }

  /** Sets the AUX buffer and its leading dimension (for the *_AUX epilogues and their gradients). */
  public MatmulDescriptor setAux(long devicePointer, long leadingDimension) {
    setPointer(MatmulDescAttribute.EPILOGUE_AUX_POINTER, devicePointer);
    return setLong(MatmulDescAttribute.EPILOGUE_AUX_LD, leadingDimension);
  }

  /** Sets a 32-bit attribute ({@link MatmulDescAttribute}). */
  public MatmulDescriptor setInt(int attribute, int value) {
    try (Arena arena = Arena.ofConfined()) {
      CublasLt.descSetAttribute(handle, attribute, arena.allocateFrom(JAVA_INT, value));
    }
    return this;
  }

  /** Sets a 64-bit attribute. */
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

  /** Destroys the descriptor; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CublasLt.descDestroy(handle);
    }
  }
}
