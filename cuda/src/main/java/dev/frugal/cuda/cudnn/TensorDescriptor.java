package dev.frugal.cuda.cudnn;

import java.lang.foreign.MemorySegment;

/**
 * A 4-d cuDNN tensor descriptor ({@code cudnnTensorDescriptor_t}): data type, N, C, H, W and
 * strides. Host-only: creating and reading one needs no GPU. Close to destroy it.
 */
public final class TensorDescriptor extends Descriptor {
  private TensorDescriptor(MemorySegment handle, String description) {
    super(handle, Cudnn::destroyTensor, description);
  }

  /** A packed NCHW tensor ({@code cudnnSetTensor4dDescriptor}). */
  public static TensorDescriptor nchw(CudnnDataType type, int n, int c, int h, int w) {
    return of(TensorFormat.NCHW, type, n, c, h, w);
  }

  /** A packed tensor in {@code format} ({@code cudnnSetTensor4dDescriptor}). */
  public static TensorDescriptor of(TensorFormat format, CudnnDataType type, int n, int c, int h, int w) {
    MemorySegment handle = initialised(Cudnn.createTensor(),
        created -> Cudnn.setTensor4d(created, format, type, n, c, h, w), Cudnn::destroyTensor);
    return new TensorDescriptor(handle, "tensor " + type + "[" + n + "," + c + "," + h + "," + w + "] " + format);
  }

  /** A tensor with explicit element strides ({@code cudnnSetTensor4dDescriptorEx}), e.g. a view of a larger one. */
  public static TensorDescriptor strided(CudnnDataType type, int n, int c, int h, int w,
      int nStride, int cStride, int hStride, int wStride) {
    MemorySegment handle = initialised(Cudnn.createTensor(),
        created -> Cudnn.setTensor4dStrided(created, type, n, c, h, w, nStride, cStride, hStride, wStride),
        Cudnn::destroyTensor);
    return new TensorDescriptor(handle, "tensor " + type + "[" + n + "," + c + "," + h + "," + w + "] strides ["
        + nStride + "," + cStride + "," + hStride + "," + wStride + "]");
  }

  /** The data type cuDNN holds for this descriptor ({@code cudnnGetTensor4dDescriptor}). */
  public CudnnDataType dataType() {
    return CudnnDataType.of(Cudnn.tensor4d(handle())[0]);
  }

  /** {@code {n, c, h, w}} as cuDNN holds them. */
  public int[] dimensions() {
    int[] all = Cudnn.tensor4d(handle());
    return new int[] {all[1], all[2], all[3], all[4]};
  }

  /** {@code {nStride, cStride, hStride, wStride}} in elements, as cuDNN holds them. */
  public int[] strides() {
    int[] all = Cudnn.tensor4d(handle());
    return new int[] {all[5], all[6], all[7], all[8]};
  }

  /** The bytes a buffer for this tensor must hold ({@code cudnnGetTensorSizeInBytes}). */
  public long sizeInBytes() {
    return Cudnn.tensorSizeInBytes(handle());
  }
}
