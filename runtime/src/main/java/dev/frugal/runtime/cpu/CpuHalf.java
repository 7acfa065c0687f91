package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * F16/BF16 storage to float32 and back, for the kernels that compute half precision in float32
 * and round once on store (convolution, pooling) or read half inputs into a float32 result
 * (reductions with an F32 output).
 *
 * <p>Widening is exact; narrowing rounds to nearest even. Both give the same bits as
 * {@link Float16} and {@link BFloat16} (what CAST and every other kernel use) for every input.
 * For binary16 they go through the JDK's conversions ({@link Float#float16ToFloat},
 * {@link Float#floatToFloat16}), which are intrinsics (F16C on x86) and about three times faster
 * than the portable bit code; they agree with it on every value except NaN payloads (the
 * intrinsic quiets a signalling NaN, and keeps more payload bits on the way down), so NaNs take
 * the portable path.
 */
final class CpuHalf {
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Elements per task of the parallel conversions: a conversion is about a nanosecond. */
    private static final int GRAIN = 1 << 15;

    private CpuHalf() {
    }

    /** Whether {@code t} is stored as 16 bits and computed in float32 (F16 or BF16). */
    static boolean isHalf(DType t) {
        return t == DType.F16 || t == DType.BF16;
    }

    /** The float of exactly the value of binary16 {@code h}. */
    static float f16ToFloat(short h) {
        return (h & 0x7c00) == 0x7c00 ? Float16.toFloat(h) : Float.float16ToFloat(h);
    }

    /** {@code f} rounded to the nearest binary16 (ties to even). */
    static short floatToF16(float f) {
        return f != f ? Float16.fromFloat(f) : Float.floatToFloat16(f);
    }

    /** The float of exactly the value of the {@code t} (F16 or BF16) bit pattern {@code h}. */
    static float toFloat(DType t, short h) {
        return t == DType.F16 ? f16ToFloat(h) : BFloat16.toFloat(h);
    }

    /** {@code f} rounded to nearest even in {@code t} (F16 or BF16). */
    static short fromFloat(DType t, float f) {
        return t == DType.F16 ? floatToF16(f) : BFloat16.fromFloat(f);
    }

    /**
     * Widens {@code count} {@code t} elements of {@code src} from element {@code from} into
     * float32 {@code dst} from element {@code to}, in parallel.
     */
    static void widen(DType t, MemorySegment src, long from, MemorySegment dst, long to, long count) {
        CpuParallel.parallelFor(0, Math.toIntExact(count), GRAIN, (lo, hi) -> {
            if (t == DType.F16) {
                for (int i = lo; i < hi; i++) {
                    dst.setAtIndex(F, to + i, f16ToFloat(src.getAtIndex(S, from + i)));
                }
            } else {
                for (int i = lo; i < hi; i++) {
                    dst.setAtIndex(F, to + i, BFloat16.toFloat(src.getAtIndex(S, from + i)));
                }
            }
        });
    }

    /**
     * Rounds {@code count} float32 elements of {@code src} from element {@code from} to {@code t}
     * in {@code dst} from element {@code to}, in parallel.
     */
    static void narrow(DType t, MemorySegment src, long from, MemorySegment dst, long to, long count) {
        CpuParallel.parallelFor(0, Math.toIntExact(count), GRAIN, (lo, hi) -> {
            if (t == DType.F16) {
                for (int i = lo; i < hi; i++) {
                    dst.setAtIndex(S, to + i, floatToF16(src.getAtIndex(F, from + i)));
                }
            } else {
                for (int i = lo; i < hi; i++) {
                    dst.setAtIndex(S, to + i, BFloat16.fromFloat(src.getAtIndex(F, from + i)));
                }
            }
        });
    }

    /** Widens {@code count} {@code t} elements of {@code src} from element {@code from} into {@code dst[0, count)}, on this thread. */
    static void widen(DType t, MemorySegment src, long from, float[] dst, int count) {
        if (t == DType.F16) {
            for (int i = 0; i < count; i++) {
                dst[i] = f16ToFloat(src.getAtIndex(S, from + i));
            }
        } else {
            for (int i = 0; i < count; i++) {
                dst[i] = BFloat16.toFloat(src.getAtIndex(S, from + i));
            }
        }
    }

    /** Widens {@code count} {@code t} elements of {@code src} from element {@code from} into {@code dst[to, to + count)}, on this thread. */
    static void widen(DType t, MemorySegment src, long from, float[] dst, int to, int count) {
        if (t == DType.F16) {
            for (int i = 0; i < count; i++) {
                dst[to + i] = f16ToFloat(src.getAtIndex(S, from + i));
            }
        } else {
            for (int i = 0; i < count; i++) {
                dst[to + i] = BFloat16.toFloat(src.getAtIndex(S, from + i));
            }
        }
    }

    /** Rounds {@code src[from, from + count)} to {@code t} into {@code dst} from element {@code to}, on this thread. */
    static void narrow(DType t, float[] src, int from, int count, MemorySegment dst, long to) {
        if (t == DType.F16) {
            for (int i = 0; i < count; i++) {
                dst.setAtIndex(S, to + i, floatToF16(src[from + i]));
            }
        } else {
            for (int i = 0; i < count; i++) {
                dst.setAtIndex(S, to + i, BFloat16.fromFloat(src[from + i]));
            }
        }
    }

    /** Rounds {@code src[0, count)} to {@code t} into {@code dst} from element {@code to}, on this thread. */
    static void narrow(DType t, float[] src, int count, MemorySegment dst, long to) {
        if (t == DType.F16) {
            for (int i = 0; i < count; i++) {
                dst.setAtIndex(S, to + i, floatToF16(src[i]));
            }
        } else {
            for (int i = 0; i < count; i++) {
                dst.setAtIndex(S, to + i, BFloat16.fromFloat(src[i]));
            }
        }
    }
}
