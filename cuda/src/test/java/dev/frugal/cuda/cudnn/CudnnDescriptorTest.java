package dev.frugal.cuda.cudnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.CudnnException;
import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.internal.BindingReport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** cuDNN's library-level and descriptor calls against the real libcudnn.so.9; none of them needs a GPU. */
class CudnnDescriptorTest {

  @BeforeAll
  static void requireCudnn() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUDNN);
  }

  @Test
  void everyBoundSymbolResolves() {
    BindingReport report = Cudnn.bindingReport();
    assertTrue(report.loaded(), "cuDNN must be loaded: " + report);
    assertEquals(java.util.List.of(), report.missing(), "symbols missing from " + report.path());
    assertTrue(report.bound().contains("cudnnFindConvolutionForwardAlgorithmEx"), report.bound().toString());
    assertTrue(report.bound().size() >= 40, "all bindings counted: " + report.bound().size());
  }

  @Test
  void versionIsNine() {
    long version = Cudnn.version();
    assertEquals(9, version / 10000, "cudnnGetVersion() = " + version);
    long cudart = Cudnn.cudartVersion();
    assertTrue(cudart / 1000 == 12 || cudart / 1000 == 13, "cudnnGetCudartVersion() = " + cudart);
  }

  @Test
  void errorStringNamesStatuses() {
    assertEquals("CUDNN_STATUS_SUCCESS", Cudnn.errorString(0));
    assertEquals("CUDNN_STATUS_BAD_PARAM", Cudnn.errorString(2000));
    assertEquals("CUDNN_STATUS_NOT_SUPPORTED", Cudnn.errorString(3000));
  }

  @ParameterizedTest
  @EnumSource(value = CudnnDataType.class, names = {"FLOAT", "HALF", "BFLOAT16"})
  void tensorDescriptorRoundTrips(CudnnDataType type) {
    try (TensorDescriptor x = TensorDescriptor.nchw(type, 8, 3, 32, 24)) {
      assertEquals(type, x.dataType());
      assertArrayEquals(new int[] {8, 3, 32, 24}, x.dimensions());
      assertArrayEquals(new int[] {3 * 32 * 24, 32 * 24, 24, 1}, x.strides(), "packed NCHW strides");
      assertEquals(8L * 3 * 32 * 24 * type.bytes(), x.sizeInBytes());
    }
  }

  @Test
  void nhwcAndStridedTensors() {
    try (TensorDescriptor nhwc = TensorDescriptor.of(TensorFormat.NHWC, CudnnDataType.HALF, 2, 16, 5, 7);
        TensorDescriptor view = TensorDescriptor.strided(CudnnDataType.FLOAT, 2, 3, 4, 5, 200, 40, 10, 2)) {
      assertArrayEquals(new int[] {5 * 7 * 16, 1, 7 * 16, 16}, nhwc.strides(), "NHWC: channels innermost");
      assertArrayEquals(new int[] {200, 40, 10, 2}, view.strides());
      assertArrayEquals(new int[] {2, 3, 4, 5}, view.dimensions());
    }
  }

  @Test
  void filterDescriptorRoundTrips() {
    try (FilterDescriptor w = FilterDescriptor.kcrs(CudnnDataType.BFLOAT16, 64, 32, 3, 5)) {
      assertEquals(CudnnDataType.BFLOAT16, w.dataType());
      assertEquals(TensorFormat.NCHW, w.format());
      assertArrayEquals(new int[] {64, 32, 3, 5}, w.dimensions());
    }
  }

  @Test
  void convolutionDescriptorHoldsEverySetting() {
    try (ConvolutionDescriptor conv = ConvolutionDescriptor.crossCorrelation(1, 2, 2, 1, 1, 3, CudnnDataType.FLOAT)) {
      assertArrayEquals(new int[] {1, 2, 2, 1, 1, 3}, conv.geometry());
      assertEquals(ConvolutionMode.CROSS_CORRELATION, conv.mode());
      assertEquals(CudnnDataType.FLOAT, conv.computeType());
      assertEquals(1, conv.groupCount(), "default group count");
      assertEquals(CudnnMathType.DEFAULT, conv.mathType(), "default math type");
      conv.groupCount(4).mathType(CudnnMathType.TENSOR_OP);
      assertEquals(4, conv.groupCount());
      assertEquals(CudnnMathType.TENSOR_OP, conv.mathType());
      conv.mathType(CudnnMathType.FMA);
      assertEquals(CudnnMathType.FMA, conv.mathType());
    }
  }

  @ParameterizedTest(name = "{0}: {1}x{1} input, {2}x{2} filter, pad {3}, stride {4}, dilation {5} -> {6}x{6}")
  @CsvSource({
    // floor((in + 2 * pad - dilation * (k - 1) - 1) / stride) + 1
    "FLOAT, 17, 3, 1, 2, 1, 9",
    "HALF, 10, 3, 0, 1, 2, 6",
    "BFLOAT16, 32, 5, 2, 1, 1, 32",
    "FLOAT, 224, 7, 3, 2, 1, 112",
  })
  void outputShapeFollowsPaddingStrideAndDilation(CudnnDataType type, int size, int kernel, int pad, int stride,
      int dilation, int expected) {
    try (TensorDescriptor x = TensorDescriptor.nchw(type, 4, 3, size, size);
        FilterDescriptor w = FilterDescriptor.kcrs(type, 8, 3, kernel, kernel);
        ConvolutionDescriptor conv = ConvolutionDescriptor.crossCorrelation(pad, pad, stride, stride, dilation,
            dilation, CudnnDataType.FLOAT)) {
      assertArrayEquals(new int[] {4, 8, expected, expected}, conv.outputDimensions(x, w));
    }
  }

  @Test
  void depthwiseConvolutionUsesOneInputChannelPerGroup() {
    int channels = 32;
    try (TensorDescriptor x = TensorDescriptor.nchw(CudnnDataType.FLOAT, 2, channels, 14, 14);
        FilterDescriptor depthwise = FilterDescriptor.kcrs(CudnnDataType.FLOAT, channels * 2, 1, 3, 3);
        ConvolutionDescriptor conv = ConvolutionDescriptor.crossCorrelation(1, 1, 1, 1, 1, 1, CudnnDataType.FLOAT)) {
      CudnnException ungrouped = assertThrows(CudnnException.class, () -> conv.outputDimensions(x, depthwise),
          "a [64,1,3,3] filter does not fit 32 input channels without groups");
      assertEquals("cudnnGetConvolution2dForwardOutputDim", ungrouped.call());
      conv.groupCount(channels);
      assertArrayEquals(new int[] {2, channels * 2, 14, 14}, conv.outputDimensions(x, depthwise));
    }
  }

  @Test
  void rejectedShapeThrowsCudnnExceptionNamingCallAndStatus() {
    CudnnException e = assertThrows(CudnnException.class,
        () -> TensorDescriptor.nchw(CudnnDataType.FLOAT, 0, 3, 8, 8));
    assertEquals("cuDNN", e.library());
    assertEquals("cudnnSetTensor4dDescriptor", e.call());
    assertEquals(2000, e.status(), e.getMessage());
    assertEquals("CUDNN_STATUS_BAD_PARAM", e.statusName());
    assertTrue(e.getMessage().startsWith("cuDNN: cudnnSetTensor4dDescriptor failed with CUDNN_STATUS_BAD_PARAM (2000)"),
        e.getMessage());
    assertTrue(e.getMessage().contains("0x3x8x8"), "the message names the rejected shape: " + e.getMessage());
  }

  @Test
  void closedDescriptorRefusesUseAndClosesOnce() {
    TensorDescriptor x = TensorDescriptor.nchw(CudnnDataType.FLOAT, 1, 1, 1, 1);
    assertFalse(x.isClosed());
    x.close();
    x.close();
    assertTrue(x.isClosed());
    IllegalStateException e = assertThrows(IllegalStateException.class, x::dimensions);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }
}
