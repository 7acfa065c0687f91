package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.cudnn.AlgorithmPerf;
import dev.frugal.cuda.cudnn.BackwardDataAlgorithm;
import dev.frugal.cuda.cudnn.BackwardFilterAlgorithm;
import dev.frugal.cuda.cudnn.ConvolutionDescriptor;
import dev.frugal.cuda.cudnn.Cudnn;
import dev.frugal.cuda.cudnn.CudnnDataType;
import dev.frugal.cuda.cudnn.CudnnHandle;
import dev.frugal.cuda.cudnn.CudnnMathType;
import dev.frugal.cuda.cudnn.FilterDescriptor;
import dev.frugal.cuda.cudnn.ForwardAlgorithm;
import dev.frugal.cuda.cudnn.TensorDescriptor;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.nativetests.support.CpuReference;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.NumericAssert;
import dev.frugal.nativetests.support.Precision;
import dev.frugal.nativetests.support.RandomArrays;
import dev.frugal.nativetests.support.Tolerance;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * cuDNN's legacy convolution (forward, backward-data, backward-filter) against the CPU backend's
 * {@code conv2d} and the gradients autodiff derives for it, with groups and depthwise, stride,
 * padding and dilation, in fp32, fp16 and bf16. The forward algorithm comes from a timed search
 * ({@code cudnnFindConvolutionForwardAlgorithmEx}), the backward ones from the heuristics, so both
 * search paths run. fp32 asks for plain FMA math, so the fp32 tolerance applies to direct and
 * GEMM-based algorithms; TF32's applies when cuDNN picks a tensor-core or FFT/Winograd algorithm
 * (named in any failure). Error scales are the same
 * convolutions of absolute values, computed on the CPU.
 */
@GpuTest(requires = {CudaLibrary.CUBLAS_LT, CudaLibrary.NVRTC, CudaLibrary.CUDNN})
class CudnnConvolutionTest {
  private static final int N = 2;
  private static final int C = 6;
  private static final int H = 11;
  private static final int W = 9;
  private static final int R = 3;
  private static final long WORKSPACE_LIMIT = 256L << 20;

  @ParameterizedTest(name = "{0} k={1} groups={2} stride={3} pad={4} dilation={5}")
  @CsvSource({
      "FP32, 8, 1, 1, 1, 1",
      "FP32, 8, 2, 2, 2, 2",
      "FP32, 12, 6, 1, 1, 1",
      "FP16, 8, 1, 1, 1, 1",
      "FP16, 6, 6, 2, 1, 1",
      "BF16, 8, 1, 1, 0, 1",
      "BF16, 12, 6, 1, 1, 1"})
  void convolutionAndGradientsMatchCpu(Precision precision, int k, int groups, int stride, int pad, int dilation,
      GpuDevice gpu) {
    gpu.assumeBf16MatrixMath(precision);
    OpAttrs.Conv2d geometry = new OpAttrs.Conv2d(stride, stride, pad, pad, dilation, dilation, groups);
    Shape xShape = Shape.of(N, C, H, W);
    Shape wShape = Shape.of(k, C / groups, R, R);
    Shape yShape = Ops.conv2dOutput(xShape, wShape, geometry);
    float[] x = precision.round(RandomArrays.uniform(81, (int) xShape.numel()));
    float[] w = precision.round(RandomArrays.uniform(82, (int) wShape.numel()));
    float[] dy = precision.round(RandomArrays.uniform(83, (int) yShape.numel()));

    Graph graph = new Graph("conv_reference");
    Value vx = graph.input("x", xShape, precision.dtype());
    Value vw = graph.input("w", wShape, precision.dtype());
    Value vdy = graph.input("dy", yShape, precision.dtype());
    Value y = Ops.conv2d(vx, vw, geometry);
    List<Value> grads = Autodiff.vjp(List.of(y), List.of(vdy), List.of(vx, vw));
    List<float[]> expected = CpuReference.run(List.of(y, grads.get(0), grads.get(1)), Map.of(vx, x, vw, w, vdy, dy));
    List<float[]> scales = errorScales(geometry, xShape, wShape, yShape, x, w, dy);

    CudnnDataType type = precision.cudnnType();
    String what = precision.label() + " " + geometry + " x=" + xShape + " w=" + wShape + " on " + gpu;
    try (CudnnHandle handle = Cudnn.create();
         TensorDescriptor xDesc = TensorDescriptor.nchw(type, N, C, H, W);
         FilterDescriptor wDesc = FilterDescriptor.kcrs(type, k, C / groups, R, R);
         TensorDescriptor yDesc = TensorDescriptor.nchw(type, yShape.dim(0), yShape.dim(1), yShape.dim(2), yShape.dim(3));
         ConvolutionDescriptor conv = ConvolutionDescriptor.crossCorrelation(pad, pad, stride, stride, dilation, dilation,
             CudnnDataType.FLOAT).groupCount(groups);
         DeviceArray dx = DeviceArray.of(precision, x);
         DeviceArray dw = DeviceArray.of(precision, w);
         DeviceArray ddy = DeviceArray.of(precision, dy);
         DeviceArray dyOut = DeviceArray.zeros(precision, (int) yShape.numel());
         DeviceArray dxOut = DeviceArray.zeros(precision, (int) xShape.numel());
         DeviceArray dwOut = DeviceArray.zeros(precision, (int) wShape.numel());
         DeviceArray workspace = DeviceArray.allocate(WORKSPACE_LIMIT)) {
      handle.setStream(gpu.stream());
      assertEquals(groups, conv.groupCount(), "cudnnGetConvolutionGroupCount");
      assertArrayEquals(yShape.dims(), conv.outputDimensions(xDesc, wDesc), "cuDNN and the runtime agree on y's shape");
      if (precision == Precision.FP32) {
        conv.mathType(CudnnMathType.FMA);
      }

      List<AlgorithmPerf<ForwardAlgorithm>> timed = Cudnn.findForwardAlgorithms(handle, xDesc, dx.pointer(), wDesc,
          dw.pointer(), conv, yDesc, dyOut.pointer(), workspace.pointer(), WORKSPACE_LIMIT);
      AlgorithmPerf<ForwardAlgorithm> forward = choose(timed, precision, "forward " + what);
      assertTrue(forward.timeMillis() >= 0, "a timed search reports a time: " + forward);
      conv.mathType(forward.mathType());
      Cudnn.convolutionForward(handle, 1f, xDesc, dx.pointer(), wDesc, dw.pointer(), conv, forward.algorithm(),
          workspace.pointer(), WORKSPACE_LIMIT, 0f, yDesc, dyOut.pointer());

      AlgorithmPerf<BackwardDataAlgorithm> backwardData = choose(
          Cudnn.backwardDataAlgorithmHeuristics(handle, wDesc, yDesc, conv, xDesc), precision, "backward data " + what);
      conv.mathType(backwardData.mathType());
      Cudnn.convolutionBackwardData(handle, 1f, wDesc, dw.pointer(), yDesc, ddy.pointer(), conv,
          backwardData.algorithm(), workspace.pointer(), WORKSPACE_LIMIT, 0f, xDesc, dxOut.pointer());

      AlgorithmPerf<BackwardFilterAlgorithm> backwardFilter = choose(
          Cudnn.backwardFilterAlgorithmHeuristics(handle, xDesc, yDesc, conv, wDesc), precision,
          "backward filter " + what);
      conv.mathType(backwardFilter.mathType());
      Cudnn.convolutionBackwardFilter(handle, 1f, xDesc, dx.pointer(), yDesc, ddy.pointer(), conv,
          backwardFilter.algorithm(), workspace.pointer(), WORKSPACE_LIMIT, 0f, wDesc, dwOut.pointer());
      gpu.stream().synchronize();

      NumericAssert.assertClose("cudnnConvolutionForward " + forward.algorithm() + " " + what, expected.get(0),
          dyOut.read(precision, (int) yShape.numel()), scales.get(0), tolerance(precision, forward, gpu));
      NumericAssert.assertClose("cudnnConvolutionBackwardData " + backwardData.algorithm() + " " + what,
          expected.get(1), dxOut.read(precision, (int) xShape.numel()), scales.get(1),
          tolerance(precision, backwardData, gpu));
      NumericAssert.assertClose("cudnnConvolutionBackwardFilter " + backwardFilter.algorithm() + " " + what,
          expected.get(2), dwOut.read(precision, (int) wShape.numel()), scales.get(2),
          tolerance(precision, backwardFilter, gpu));
    }
  }

  /**
   * The best usable algorithm within the workspace; for fp32 the best plain-FMA one when there is
   * one, so that the strict fp32 tolerance can apply.
   */
  private static <A extends Enum<A>> AlgorithmPerf<A> choose(List<AlgorithmPerf<A>> ranked, Precision precision,
      String what) {
    Optional<AlgorithmPerf<A>> best = Optional.empty();
    if (precision == Precision.FP32) {
      best = AlgorithmPerf.best(ranked.stream().filter(p -> p.mathType() == CudnnMathType.FMA
          || p.mathType() == CudnnMathType.DEFAULT).toList(), WORKSPACE_LIMIT, false);
    }
    if (best.isEmpty()) {
      best = AlgorithmPerf.best(ranked, WORKSPACE_LIMIT, false);
    }
    return best.orElseThrow(() -> new AssertionError("cuDNN offers no usable algorithm within "
        + (WORKSPACE_LIMIT >> 20) + " MiB for " + what + "; candidates: " + ranked));
  }

  /**
   * The tolerance for {@code chosen}'s result. 16-bit data keeps its dtype's. fp32 gets the TF32
   * tolerance when the algorithm may run on TF32 tensor cores (anything but FMA math on sm_80+) or
   * transforms its operands (FFT and Winograd amplify rounding error by their transform's
   * condition number, tens of ulps, more than a direct sum of 54 terms); otherwise fp32's.
   */
  private static Tolerance tolerance(Precision precision, AlgorithmPerf<?> chosen, GpuDevice gpu) {
    if (precision != Precision.FP32) {
      return precision.tolerance();
    }
    boolean mayUseTf32 = chosen.mathType() != CudnnMathType.FMA && gpu.computeCapability() >= 80;
    String name = chosen.algorithm().name();
    boolean transformed = name.contains("FFT") || name.contains("WINOGRAD");
    return mayUseTf32 || transformed ? Tolerance.TF32 : Tolerance.FP32;
  }

  /** conv(|x|,|w|), its input gradient for |dy|, and its filter gradient: each output's sum of |terms|. */
  private static List<float[]> errorScales(OpAttrs.Conv2d geometry, Shape xShape, Shape wShape, Shape yShape,
      float[] x, float[] w, float[] dy) {
    Graph graph = new Graph("conv_error_scale");
    Value ax = graph.input("abs_x", xShape, DType.F32);
    Value aw = graph.input("abs_w", wShape, DType.F32);
    Value ady = graph.input("abs_dy", yShape, DType.F32);
    return CpuReference.run(List.of(Ops.conv2d(ax, aw, geometry), Ops.conv2dGradInput(ady, aw, geometry, xShape),
        Ops.conv2dGradWeight(ax, ady, geometry, wShape)),
        Map.of(ax, RandomArrays.abs(x), aw, RandomArrays.abs(w), ady, RandomArrays.abs(dy)));
  }
}
