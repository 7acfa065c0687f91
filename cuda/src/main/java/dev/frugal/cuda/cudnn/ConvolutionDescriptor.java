package dev.frugal.cuda.cudnn;

import java.lang.foreign.MemorySegment;

/**
 * A 2-d cuDNN convolution descriptor ({@code cudnnConvolutionDescriptor_t}): padding, stride,
 * dilation, mode, compute type, group count and math type. Host-only; close to destroy it.
 */
public final class ConvolutionDescriptor extends Descriptor {
  private ConvolutionDescriptor(MemorySegment handle, String description) {
    super(handle, Cudnn::destroyConvolution, description);
  }

  /**
   * A cross-correlation (what frameworks call convolution) with symmetric padding, stride and
   * dilation per axis ({@code cudnnSetConvolution2dDescriptor}).
   *
   * @param computeType accumulation type: {@link CudnnDataType#FLOAT} for fp32, fp16 and bf16 data
   */
  public static ConvolutionDescriptor crossCorrelation(int padH, int padW, int strideH, int strideW,
      int dilationH, int dilationW, CudnnDataType computeType) {
    return of(padH, padW, strideH, strideW, dilationH, dilationW, ConvolutionMode.CROSS_CORRELATION, computeType);
  }

  /** A 2-d convolution in {@code mode} ({@code cudnnSetConvolution2dDescriptor}). */
  public static ConvolutionDescriptor of(int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
      ConvolutionMode mode, CudnnDataType computeType) {
    MemorySegment handle = initialised(Cudnn.createConvolution(),
        created -> Cudnn.setConvolution2d(created, padH, padW, strideH, strideW, dilationH, dilationW, mode,
            computeType), Cudnn::destroyConvolution);
    return new ConvolutionDescriptor(handle, "conv pad " + padH + "," + padW + " stride " + strideH + "," + strideW
        + " dilation " + dilationH + "," + dilationW + " " + mode + " " + computeType);
  }

  /**
   * Splits channels into {@code groups} independent convolutions ({@code cudnnSetConvolutionGroupCount});
   * {@code groups} equal to the input channels makes a depthwise convolution.
   *
   * @return this descriptor
   */
  public ConvolutionDescriptor groupCount(int groups) {
    Cudnn.setGroupCount(handle(), groups);
    return this;
  }

  /** The group count cuDNN holds ({@code cudnnGetConvolutionGroupCount}). */
  public int groupCount() {
    return Cudnn.groupCount(handle());
  }

  /**
   * Whether tensor cores may be used ({@code cudnnSetConvolutionMathType}); set it to the
   * {@link AlgorithmPerf#mathType()} of the algorithm chosen before running that algorithm.
   *
   * @return this descriptor
   */
  public ConvolutionDescriptor mathType(CudnnMathType mathType) {
    Cudnn.setMathType(handle(), mathType);
    return this;
  }

  /** The math type cuDNN holds ({@code cudnnGetConvolutionMathType}). */
  public CudnnMathType mathType() {
    return CudnnMathType.of(Cudnn.mathType(handle()));
  }

  /**
   * {@code {padH, padW, strideH, strideW, dilationH, dilationW}} as cuDNN holds them
   * ({@code cudnnGetConvolution2dDescriptor}).
   */
  public int[] geometry() {
    int[] all = Cudnn.convolution2d(handle());
    return new int[] {all[0], all[1], all[2], all[3], all[4], all[5]};
  }

  /** The mode cuDNN holds. */
  public ConvolutionMode mode() {
    return ConvolutionMode.of(Cudnn.convolution2d(handle())[6]);
  }

  /** The compute type cuDNN holds. */
  public CudnnDataType computeType() {
    return CudnnDataType.of(Cudnn.convolution2d(handle())[7]);
  }

  /**
   * {@code {n, c, h, w}} of this convolution's output for {@code input} and {@code filter}
   * ({@code cudnnGetConvolution2dForwardOutputDim}); fails with a {@link dev.frugal.cuda.CudnnException}
   * when the shapes do not fit (e.g. filter channels times groups differ from the input's channels).
   */
  public int[] outputDimensions(TensorDescriptor input, FilterDescriptor filter) {
    return Cudnn.forwardOutputDim(handle(), input.handle(), filter.handle());
  }
}
