package dev.frugal.cuda.nvrtc;

import java.util.Map;

/**
 * Minimal stand-ins for {@code cuda_fp16.h} and {@code cuda_bf16.h}, given to NVRTC as in-memory
 * headers under those names when the toolkit's own headers for the loaded NVRTC version are not
 * installed (NVRTC 13.0 does not bundle them). Kernels then {@code #include <cuda_fp16.h>} the
 * same way in both cases. The approach is PyTorch's and CuPy's: the types are 16-bit structs,
 * conversions and fp16 arithmetic are single inline PTX instructions (every target NVRTC 12/13
 * supports is sm_53 or newer, so native f16 math exists). bf16 arithmetic goes through float,
 * rounding once to bf16; only the subset Frugal's kernels use is provided.
 */
public final class HalfPrecisionPrelude {
  /** The fp16 part; standalone. */
  public static final String CUDA_FP16_H = """
      // Frugal's minimal cuda_fp16.h (used when the toolkit headers matching NVRTC are absent).
      #ifndef FRUGAL_MINIMAL_CUDA_FP16_H
      #define FRUGAL_MINIMAL_CUDA_FP16_H
      #define FRUGAL_MINIMAL_FP16 1
      struct alignas(2) __half {
        unsigned short __x;
        __half() = default;
        __device__ __half(float f) { asm("cvt.rn.f16.f32 %0, %1;" : "=h"(__x) : "f"(f)); }
        __device__ operator float() const { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(__x)); return f; }
      };
      struct alignas(4) __half2 {
        __half x;
        __half y;
        __half2() = default;
        __device__ __half2(__half a, __half b) : x(a), y(b) {}
      };
      typedef __half half;
      typedef __half2 half2;

      static __device__ __forceinline__ unsigned int __frugal_h2_bits(const __half2 h) {
        return (unsigned int)h.x.__x | ((unsigned int)h.y.__x << 16);
      }
      static __device__ __forceinline__ __half2 __frugal_h2_from_bits(const unsigned int u) {
        __half2 r; r.x.__x = (unsigned short)(u & 0xffffu); r.y.__x = (unsigned short)(u >> 16); return r;
      }
      static __device__ __forceinline__ __half __float2half(const float f) { return __half(f); }
      static __device__ __forceinline__ __half __float2half_rn(const float f) { return __half(f); }
      static __device__ __forceinline__ float __half2float(const __half h) { return float(h); }
      static __device__ __forceinline__ __half __ushort_as_half(const unsigned short u) { __half h; h.__x = u; return h; }
      static __device__ __forceinline__ unsigned short __half_as_ushort(const __half h) { return h.__x; }
      static __device__ __forceinline__ __half __hadd(const __half a, const __half b) {
        __half r; asm("add.rn.f16 %0, %1, %2;" : "=h"(r.__x) : "h"(a.__x), "h"(b.__x)); return r; }
      static __device__ __forceinline__ __half __hsub(const __half a, const __half b) {
        __half r; asm("sub.rn.f16 %0, %1, %2;" : "=h"(r.__x) : "h"(a.__x), "h"(b.__x)); return r; }
      static __device__ __forceinline__ __half __hmul(const __half a, const __half b) {
        __half r; asm("mul.rn.f16 %0, %1, %2;" : "=h"(r.__x) : "h"(a.__x), "h"(b.__x)); return r; }
      static __device__ __forceinline__ __half __hfma(const __half a, const __half b, const __half c) {
        __half r; asm("fma.rn.f16 %0, %1, %2, %3;" : "=h"(r.__x) : "h"(a.__x), "h"(b.__x), "h"(c.__x)); return r; }
      static __device__ __forceinline__ __half __hdiv(const __half a, const __half b) { return __half(float(a) / float(b)); }
      static __device__ __forceinline__ __half __hneg(const __half a) { return __ushort_as_half(a.__x ^ 0x8000u); }
      static __device__ __forceinline__ __half __habs(const __half a) { return __ushort_as_half(a.__x & 0x7fffu); }
      static __device__ __forceinline__ __half __hmax(const __half a, const __half b) { return float(a) > float(b) ? a : b; }
      static __device__ __forceinline__ __half __hmin(const __half a, const __half b) { return float(a) < float(b) ? a : b; }
      static __device__ __forceinline__ bool __heq(const __half a, const __half b) { return float(a) == float(b); }
      static __device__ __forceinline__ bool __hlt(const __half a, const __half b) { return float(a) < float(b); }
      static __device__ __forceinline__ bool __hgt(const __half a, const __half b) { return float(a) > float(b); }
      static __device__ __forceinline__ bool __hisnan(const __half a) { return (a.__x & 0x7fffu) > 0x7c00u; }
      static __device__ __forceinline__ bool __hisinf(const __half a) { return (a.__x & 0x7fffu) == 0x7c00u; }
      static __device__ __forceinline__ __half operator+(const __half a, const __half b) { return __hadd(a, b); }
      static __device__ __forceinline__ __half operator-(const __half a, const __half b) { return __hsub(a, b); }
      static __device__ __forceinline__ __half operator*(const __half a, const __half b) { return __hmul(a, b); }
      static __device__ __forceinline__ __half operator/(const __half a, const __half b) { return __hdiv(a, b); }
      static __device__ __forceinline__ __half operator-(const __half a) { return __hneg(a); }
      static __device__ __forceinline__ __half& operator+=(__half& a, const __half b) { a = __hadd(a, b); return a; }
      static __device__ __forceinline__ __half& operator*=(__half& a, const __half b) { a = __hmul(a, b); return a; }
      static __device__ __forceinline__ bool operator==(const __half a, const __half b) { return __heq(a, b); }
      static __device__ __forceinline__ bool operator!=(const __half a, const __half b) { return !__heq(a, b); }
      static __device__ __forceinline__ bool operator<(const __half a, const __half b) { return __hlt(a, b); }
      static __device__ __forceinline__ bool operator>(const __half a, const __half b) { return __hgt(a, b); }

      static __device__ __forceinline__ __half2 __halves2half2(const __half a, const __half b) { return __half2(a, b); }
      static __device__ __forceinline__ __half2 __floats2half2_rn(const float a, const float b) { return __half2(__half(a), __half(b)); }
      static __device__ __forceinline__ __half2 __float2half2_rn(const float a) { return __half2(__half(a), __half(a)); }
      static __device__ __forceinline__ float2 __half22float2(const __half2 h) { return make_float2(float(h.x), float(h.y)); }
      static __device__ __forceinline__ __half __low2half(const __half2 h) { return h.x; }
      static __device__ __forceinline__ __half __high2half(const __half2 h) { return h.y; }
      static __device__ __forceinline__ float __low2float(const __half2 h) { return float(h.x); }
      static __device__ __forceinline__ float __high2float(const __half2 h) { return float(h.y); }
      static __device__ __forceinline__ __half2 __hadd2(const __half2 a, const __half2 b) {
        unsigned int r; asm("add.rn.f16x2 %0, %1, %2;" : "=r"(r) : "r"(__frugal_h2_bits(a)), "r"(__frugal_h2_bits(b)));
        return __frugal_h2_from_bits(r); }
      static __device__ __forceinline__ __half2 __hsub2(const __half2 a, const __half2 b) {
        unsigned int r; asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(r) : "r"(__frugal_h2_bits(a)), "r"(__frugal_h2_bits(b)));
        return __frugal_h2_from_bits(r); }
      static __device__ __forceinline__ __half2 __hmul2(const __half2 a, const __half2 b) {
        unsigned int r; asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(r) : "r"(__frugal_h2_bits(a)), "r"(__frugal_h2_bits(b)));
        return __frugal_h2_from_bits(r); }
      static __device__ __forceinline__ __half2 __hfma2(const __half2 a, const __half2 b, const __half2 c) {
        unsigned int r;
        asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(r) : "r"(__frugal_h2_bits(a)), "r"(__frugal_h2_bits(b)), "r"(__frugal_h2_bits(c)));
        return __frugal_h2_from_bits(r); }
      static __device__ __forceinline__ __half2 operator+(const __half2 a, const __half2 b) { return __hadd2(a, b); }
      static __device__ __forceinline__ __half2 operator-(const __half2 a, const __half2 b) { return __hsub2(a, b); }
      static __device__ __forceinline__ __half2 operator*(const __half2 a, const __half2 b) { return __hmul2(a, b); }
      #endif
      """;

  /** The bf16 part; includes the fp16 part as the real header does. */
  public static final String CUDA_BF16_H = """
      // Frugal's minimal cuda_bf16.h (used when the toolkit headers matching NVRTC are absent).
      #ifndef FRUGAL_MINIMAL_CUDA_BF16_H
      #define FRUGAL_MINIMAL_CUDA_BF16_H
      #include "cuda_fp16.h"
      static __device__ __forceinline__ unsigned short __frugal_float_to_bf16_bits(const float f) {
      #if __CUDA_ARCH__ >= 800
        unsigned short r; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(f)); return r;
      #else
        // sm_75 has no bf16 conversion instruction: round to nearest even on the bits, keep NaN a NaN.
        unsigned int u = __float_as_uint(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) { return (unsigned short)((u >> 16) | 0x40u); }
        u += 0x7fffu + ((u >> 16) & 1u);
        return (unsigned short)(u >> 16);
      #endif
      }
      struct alignas(2) __nv_bfloat16 {
        unsigned short __x;
        __nv_bfloat16() = default;
        __device__ __nv_bfloat16(float f) : __x(__frugal_float_to_bf16_bits(f)) {}
        __device__ operator float() const { return __uint_as_float(((unsigned int)__x) << 16); }
      };
      struct alignas(4) __nv_bfloat162 {
        __nv_bfloat16 x;
        __nv_bfloat16 y;
        __nv_bfloat162() = default;
        __device__ __nv_bfloat162(__nv_bfloat16 a, __nv_bfloat16 b) : x(a), y(b) {}
      };
      typedef __nv_bfloat16 nv_bfloat16;
      typedef __nv_bfloat162 nv_bfloat162;

      static __device__ __forceinline__ __nv_bfloat16 __float2bfloat16(const float f) { return __nv_bfloat16(f); }
      static __device__ __forceinline__ __nv_bfloat16 __float2bfloat16_rn(const float f) { return __nv_bfloat16(f); }
      static __device__ __forceinline__ float __bfloat162float(const __nv_bfloat16 h) { return float(h); }
      static __device__ __forceinline__ __nv_bfloat16 __ushort_as_bfloat16(const unsigned short u) { __nv_bfloat16 h; h.__x = u; return h; }
      static __device__ __forceinline__ unsigned short __bfloat16_as_ushort(const __nv_bfloat16 h) { return h.__x; }
      static __device__ __forceinline__ __nv_bfloat16 __hadd(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __nv_bfloat16(float(a) + float(b)); }
      static __device__ __forceinline__ __nv_bfloat16 __hsub(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __nv_bfloat16(float(a) - float(b)); }
      static __device__ __forceinline__ __nv_bfloat16 __hmul(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __nv_bfloat16(float(a) * float(b)); }
      static __device__ __forceinline__ __nv_bfloat16 __hdiv(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __nv_bfloat16(float(a) / float(b)); }
      static __device__ __forceinline__ __nv_bfloat16 __hfma(const __nv_bfloat16 a, const __nv_bfloat16 b, const __nv_bfloat16 c) {
        return __nv_bfloat16(fmaf(float(a), float(b), float(c))); }
      static __device__ __forceinline__ __nv_bfloat16 __hneg(const __nv_bfloat16 a) { return __ushort_as_bfloat16(a.__x ^ 0x8000u); }
      static __device__ __forceinline__ __nv_bfloat16 __hmax(const __nv_bfloat16 a, const __nv_bfloat16 b) { return float(a) > float(b) ? a : b; }
      static __device__ __forceinline__ __nv_bfloat16 __hmin(const __nv_bfloat16 a, const __nv_bfloat16 b) { return float(a) < float(b) ? a : b; }
      static __device__ __forceinline__ bool __hisnan(const __nv_bfloat16 a) { return (a.__x & 0x7fffu) > 0x7f80u; }
      static __device__ __forceinline__ __nv_bfloat16 operator+(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __hadd(a, b); }
      static __device__ __forceinline__ __nv_bfloat16 operator-(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __hsub(a, b); }
      static __device__ __forceinline__ __nv_bfloat16 operator*(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __hmul(a, b); }
      static __device__ __forceinline__ __nv_bfloat16 operator/(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __hdiv(a, b); }
      static __device__ __forceinline__ __nv_bfloat16 operator-(const __nv_bfloat16 a) { return __hneg(a); }
      static __device__ __forceinline__ __nv_bfloat16& operator+=(__nv_bfloat16& a, const __nv_bfloat16 b) { a = __hadd(a, b); return a; }
      static __device__ __forceinline__ bool operator<(const __nv_bfloat16 a, const __nv_bfloat16 b) { return float(a) < float(b); }
      static __device__ __forceinline__ bool operator>(const __nv_bfloat16 a, const __nv_bfloat16 b) { return float(a) > float(b); }

      static __device__ __forceinline__ __nv_bfloat162 __halves2bfloat162(const __nv_bfloat16 a, const __nv_bfloat16 b) { return __nv_bfloat162(a, b); }
      static __device__ __forceinline__ __nv_bfloat162 __floats2bfloat162_rn(const float a, const float b) {
        return __nv_bfloat162(__nv_bfloat16(a), __nv_bfloat16(b)); }
      static __device__ __forceinline__ float2 __bfloat1622float2(const __nv_bfloat162 h) { return make_float2(float(h.x), float(h.y)); }
      static __device__ __forceinline__ float __low2float(const __nv_bfloat162 h) { return float(h.x); }
      static __device__ __forceinline__ float __high2float(const __nv_bfloat162 h) { return float(h.y); }
      static __device__ __forceinline__ __nv_bfloat162 __hadd2(const __nv_bfloat162 a, const __nv_bfloat162 b) {
        return __nv_bfloat162(__hadd(a.x, b.x), __hadd(a.y, b.y)); }
      static __device__ __forceinline__ __nv_bfloat162 __hmul2(const __nv_bfloat162 a, const __nv_bfloat162 b) {
        return __nv_bfloat162(__hmul(a.x, b.x), __hmul(a.y, b.y)); }
      static __device__ __forceinline__ __nv_bfloat162 __hfma2(const __nv_bfloat162 a, const __nv_bfloat162 b, const __nv_bfloat162 c) {
        return __nv_bfloat162(__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y)); }
      #endif
      """;

  private HalfPrecisionPrelude() {}

  /** The two headers keyed by the names kernels include. */
  public static Map<String, String> headers() {
    return Map.of("cuda_fp16.h", CUDA_FP16_H, "cuda_bf16.h", CUDA_BF16_H);
  }
}
