package dev.frugal.cuda.nvrtc;

/** CUDA C kernels the compiler tests build: fp32, fp16 and bf16, elementwise and reductions. */
final class TestKernels {
  private TestKernels() {}

  static final String AXPY_F32 = """
      extern "C" __global__ void axpy_f32(int n, float a, const float* x, float* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
          y[i] = a * x[i] + y[i];
        }
      }
      """;

  static final String SUM_F32 = """
      extern "C" __global__ void sum_f32(int n, const float* x, float* out) {
        __shared__ float partial[32];
        float value = 0.0f;
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
          value += x[i];
        }
        for (int offset = 16; offset > 0; offset /= 2) {
          value += __shfl_down_sync(0xffffffffu, value, offset);
        }
        int lane = threadIdx.x % 32;
        int warp = threadIdx.x / 32;
        if (lane == 0) partial[warp] = value;
        __syncthreads();
        if (warp == 0) {
          value = lane < blockDim.x / 32 ? partial[lane] : 0.0f;
          for (int offset = 16; offset > 0; offset /= 2) {
            value += __shfl_down_sync(0xffffffffu, value, offset);
          }
          if (lane == 0) atomicAdd(out, value);
        }
      }
      """;

  static final String AXPY_HALF2 = """
      #include <cuda_fp16.h>
      extern "C" __global__ void axpy_half2(int pairs, float a, const __half2* x, __half2* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < pairs) {
          __half2 scale = __float2half2_rn(a);
          y[i] = __hfma2(scale, x[i], y[i]);
        }
      }
      extern "C" __global__ void half_to_float(int n, const __half* x, float* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
          __half doubled = __hadd(x[i], x[i]);
          y[i] = __half2float(doubled);
        }
      }
      """;

  static final String SUM_BF16 = """
      #include <cuda_bf16.h>
      extern "C" __global__ void sum_bf16(int n, const __nv_bfloat16* x, float* out) {
        float value = 0.0f;
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
          value += __bfloat162float(x[i]);
        }
        for (int offset = 16; offset > 0; offset /= 2) {
          value += __shfl_down_sync(0xffffffffu, value, offset);
        }
        if (threadIdx.x % 32 == 0) atomicAdd(out, value);
      }
      extern "C" __global__ void scale_bf16(int n, float a, const __nv_bfloat16* x, __nv_bfloat16* y) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i < n) {
          y[i] = __float2bfloat16(a * __bfloat162float(x[i]));
        }
      }
      """;
}
