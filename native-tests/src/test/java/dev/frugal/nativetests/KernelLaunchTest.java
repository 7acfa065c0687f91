package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaFunction;
import dev.frugal.cuda.driver.CudaModule;
import dev.frugal.cuda.driver.DeviceAttribute;
import dev.frugal.cuda.driver.Dim3;
import dev.frugal.cuda.driver.KernelArguments;
import dev.frugal.cuda.nvrtc.CompiledKernel;
import dev.frugal.nativetests.support.DeviceArray;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.Precision;
import dev.frugal.nativetests.support.RandomArrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The path every generated kernel takes: NVRTC compiles CUDA C to a CUBIN for the device's exact
 * architecture, the driver loads it ({@code cuModuleLoadData}), finds the kernel and launches it
 * with arguments packed by {@link KernelArguments}. The kernel is an axpy stored in fp32, fp16 or
 * bf16 and computed with one fused multiply-add in fp32, so the expected result is exact:
 * {@code round(fma(a, x, y))} with Java's {@link Math#fma} and the runtime's round-to-nearest-even.
 * Any wrong argument, wrong element size or wrong rounding changes bits. A second kernel opts in
 * to more than 48 KiB of dynamic shared memory.
 */
@GpuTest
class KernelLaunchTest {
  static final String SOURCE = """
      #include <cuda_fp16.h>
      #include <cuda_bf16.h>
      extern "C" __global__ void axpy_fp32(int n, float a, const float* x, float* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) y[i] = fmaf(a, x[i], y[i]);
      }
      extern "C" __global__ void axpy_fp16(int n, float a, const __half* x, __half* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) y[i] = __float2half_rn(fmaf(a, __half2float(x[i]), __half2float(y[i])));
      }
      extern "C" __global__ void axpy_bf16(int n, float a, const __nv_bfloat16* x, __nv_bfloat16* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) y[i] = __float2bfloat16_rn(fmaf(a, __bfloat162float(x[i]), __bfloat162float(y[i])));
      }
      """;

  /** Not a multiple of the block size, so the bounds check in the kernel matters. */
  private static final int COUNT = 1_000_003;
  private static final int BLOCK = 256;

  @ParameterizedTest
  @EnumSource(Precision.class)
  void axpyMatchesFusedMultiplyAddRoundedOnce(Precision precision, GpuDevice gpu) {
    CompiledKernel compiled = gpu.compile("axpy", SOURCE);
    assertEquals(gpu.arch(), compiled.arch(), "compiled for the device's architecture");
    assertFalse(compiled.fromCache(), "the test compiler has no cache, so NVRTC itself ran");
    float a = -1.75f;
    float[] x = RandomArrays.uniform(31, COUNT, -4, 4);
    float[] y = RandomArrays.uniform(32, COUNT, -4, 4);
    float[] expected = new float[COUNT];
    for (int i = 0; i < COUNT; i++) {
      expected[i] = precision.round(Math.fma(a, precision.round(x[i]), precision.round(y[i])));
    }
    try (CudaModule module = CudaModule.load(compiled.cubin());
         DeviceArray dx = DeviceArray.of(precision, x);
         DeviceArray dy = DeviceArray.of(precision, y);
         KernelArguments arguments = new KernelArguments().i32(COUNT).f32(a).pointer(dx.pointer()).pointer(dy.pointer())) {
      CudaFunction axpy = module.function("axpy_" + precision.label());
      assertEquals(4, arguments.size());
      axpy.launch(Dim3.of((COUNT + BLOCK - 1) / BLOCK), Dim3.of(BLOCK), 0, gpu.stream(), arguments);
      gpu.stream().synchronize();
      float[] actual = dy.read(precision, COUNT);
      assertArrayEquals(expected, actual, "axpy_" + precision.label() + " on " + gpu + ": first difference shown");
    }
  }

  /**
   * A launch with more dynamic shared memory than the 48 KiB every kernel gets, after opting in
   * with {@code cuFuncSetAttribute}; as flash-attention-style kernels will. Each block stages its
   * slice of x through 64 KiB of shared memory, reversed, so wrong sizes or offsets change values.
   */
  @Test
  void dynamicSharedMemoryAbove48KiBAfterOptIn(GpuDevice gpu) {
    int sharedBytes = 64 * 1024;
    int optIn = CudaDriver.deviceAttribute(gpu.device(), DeviceAttribute.MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    assertTrue(optIn >= sharedBytes, gpu + " allows only " + optIn + " bytes of opt-in shared memory");
    int perBlock = sharedBytes / Float.BYTES;
    int blocks = 3;
    float[] x = RandomArrays.uniform(33, perBlock * blocks);
    try (CudaModule module = gpu.load("reverse_shared", REVERSE_SOURCE);
         DeviceArray dx = DeviceArray.of(x);
         DeviceArray dy = DeviceArray.zeros(Precision.FP32, x.length);
         KernelArguments arguments = new KernelArguments().i32(perBlock).pointer(dx.pointer()).pointer(dy.pointer())) {
      CudaFunction reverse = module.function("reverse_blocks");
      reverse.setMaxDynamicSharedMemory(sharedBytes);
      reverse.launch(Dim3.of(blocks), Dim3.of(256), sharedBytes, gpu.stream(), arguments);
      gpu.stream().synchronize();
      float[] expected = new float[x.length];
      for (int b = 0; b < blocks; b++) {
        for (int i = 0; i < perBlock; i++) {
          expected[b * perBlock + i] = x[b * perBlock + perBlock - 1 - i];
        }
      }
      assertArrayEquals(expected, dy.floats(x.length), "each block reversed through 64 KiB of shared memory");
    }
  }

  static final String REVERSE_SOURCE = """
      extern "C" __global__ void reverse_blocks(int per_block, const float* x, float* y) {
        extern __shared__ float staged[];
        const float* in = x + (size_t) blockIdx.x * per_block;
        float* out = y + (size_t) blockIdx.x * per_block;
        for (int i = threadIdx.x; i < per_block; i += blockDim.x) staged[i] = in[i];
        __syncthreads();
        for (int i = threadIdx.x; i < per_block; i += blockDim.x) out[i] = staged[per_block - 1 - i];
      }
      """;
}
