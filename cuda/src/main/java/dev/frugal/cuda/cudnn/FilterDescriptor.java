package dev.frugal.cuda.cudnn;

import java.lang.foreign.MemorySegment;

/**
 * A 4-d cuDNN filter descriptor ({@code cudnnFilterDescriptor_t}): K output channels, C input
 * channels per group, kernel height and width. For a grouped convolution C is the input channels
 * divided by the group count, so a depthwise filter is {@code [channels * multiplier, 1, kh, kw]}.
 * Host-only; close to destroy it.
 */
public final class FilterDescriptor extends Descriptor {
  private FilterDescriptor(MemorySegment handle, String description) {
    super(handle, Cudnn::destroyFilter, description);
  }

  /** A KCRS (NCHW-ordered) filter ({@code cudnnSetFilter4dDescriptor}). */
  public static FilterDescriptor kcrs(CudnnDataType type, int k, int c, int h, int w) {
    return of(type, TensorFormat.NCHW, k, c, h, w);
  }

  /** A filter in {@code format} ({@code cudnnSetFilter4dDescriptor}). */
  public static FilterDescriptor of(CudnnDataType type, TensorFormat format, int k, int c, int h, int w) {
    MemorySegment handle = initialised(Cudnn.createFilter(),
        created -> Cudnn.setFilter4d(created, type, format, k, c, h, w), Cudnn::destroyFilter);
    return new FilterDescriptor(handle, "filter " + type + "[" + k + "," + c + "," + h + "," + w + "] " + format);
  }

  /** The data type cuDNN holds ({@code cudnnGetFilter4dDescriptor}). */
  public CudnnDataType dataType() {
    return CudnnDataType.of(Cudnn.filter4d(handle())[0]);
  }

  /** The memory format cuDNN holds. */
  public TensorFormat format() {
    return TensorFormat.of(Cudnn.filter4d(handle())[1]);
  }

  /** {@code {k, c, h, w}} as cuDNN holds them. */
  public int[] dimensions() {
    int[] all = Cudnn.filter4d(handle());
    return new int[] {all[2], all[3], all[4], all[5]};
  }
}
