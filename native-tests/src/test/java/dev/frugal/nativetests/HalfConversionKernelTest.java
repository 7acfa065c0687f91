package dev.frugal.nativetests;

import dev.frugal.cuda.driver.CudaFunction;
import dev.frugal.cuda.driver.CudaModule;
import dev.frugal.cuda.driver.Dim3;
import dev.frugal.cuda.driver.KernelArguments;
import dev.frugal.cuda.nvrtc.HalfHeaders;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.NumericAssert;
import dev.frugal.nativetests.support.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * float to fp16/bf16 conversion on the GPU, bit for bit against the runtime's
 * {@code Float16}/{@code BFloat16}: the CPU backend emulates mixed precision with those, so they
 * must round exactly as the hardware does. Run with both header sources NVRTC kernels can use
 * (the toolkit's {@code cuda_fp16.h} when installed, and Frugal's built-in prelude, whose
 * hand-written sm_75 bf16 rounding is the riskiest code here). Inputs cover ties, subnormals,
 * overflow, infinities, NaN and random bit patterns.
 */
@GpuTest
class HalfConversionKernelTest {
  static final String SOURCE = """
      #include <cuda_fp16.h>
      #include <cuda_bf16.h>
      extern "C" __global__ void to_fp16(int n, const float* x, unsigned short* out) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) out[i] = __half_as_ushort(__float2half_rn(x[i]));
      }
      extern "C" __global__ void to_bf16(int n, const float* x, unsigned short* out) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) out[i] = __bfloat16_as_ushort(__float2bfloat16_rn(x[i]));
      }
      """;

  @ParameterizedTest
  @EnumSource(value = HalfHeaders.class, names = {"AUTO", "BUILTIN"})
  void gpuRoundsLikeTheRuntime(HalfHeaders headers, GpuDevice gpu) {
    float[] inputs = inputs();
    byte[] cubin = new KernelCompiler(null, headers).compile("half_conversion", SOURCE, gpu.arch(), List.of()).cubin();
    try (CudaModule module = CudaModule.load(cubin); DeviceArray x = DeviceArray.of(inputs)) {
      for (Precision precision : List.of(Precision.FP16, Precision.BF16)) {
        CudaFunction convert = module.function("to_" + precision.label());
        try (DeviceArray out = DeviceArray.allocate(2L * inputs.length);
             KernelArguments arguments = new KernelArguments().i32(inputs.length).pointer(x.pointer()).pointer(out.pointer())) {
          convert.launch(Dim3.of((inputs.length + 255) / 256), Dim3.of(256), 0, gpu.stream(), arguments);
          gpu.stream().synchronize();
          short[] expected = new short[inputs.length];
          for (int i = 0; i < inputs.length; i++) {
            expected[i] = precision.toBits(inputs[i]);
          }
          NumericAssert.assertBitsEqual("float -> " + precision.label() + " with " + headers + " headers on " + gpu,
              inputs, expected, out.shorts(inputs.length), precision::isNaNBits, precision::describeBits);
        }
      }
    }
  }

  private static float[] inputs() {
    List<Float> values = new ArrayList<>(List.of(0f, -0f, 1f, -1f, 65504f, 65519.996f, 65520f, 1e9f, -1e9f,
        Float.MAX_VALUE, Float.MIN_VALUE, Float.MIN_NORMAL, 6.1035156e-5f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f,
        1e-10f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7fc00001),
        Float.intBitsToFloat(0xff800001)));
    // Exact ties and neighbours of ties for both formats (13 and 16 dropped mantissa bits).
    for (int base : new int[] {0x3f800000, 0x40490fdb, 0x3a800000, 0x477fe000, 0x00800000}) {
      for (int dropped : new int[] {0x1000, 0x0fff, 0x1001, 0x3000, 0x8000, 0x7fff, 0x8001, 0x18000}) {
        values.add(Float.intBitsToFloat(base + dropped));
        values.add(-Float.intBitsToFloat(base + dropped));
      }
    }
    SplittableRandom random = new SplittableRandom(41);
    for (int i = 0; i < 100_000; i++) {
      values.add(Float.intBitsToFloat(random.nextInt()));
    }
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }
}
