package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuHalf}'s conversions (the JDK's binary16 intrinsics, with NaNs on the portable path)
 * give the same bits as {@link Float16} and {@link BFloat16}: widening for every 16-bit pattern,
 * narrowing for every float around each binary16/bfloat16 value, halfway point and range edge,
 * random floats, and NaNs with payloads; the segment and array forms agree with the scalar ones.
 */
class CpuHalfTest {

    @Test
    void wideningMatchesFloat16AndBFloat16ForEveryPattern() {
        for (int i = 0; i < 1 << 16; i++) {
            int h = i;
            short bits = (short) h;
            assertEquals(Float.floatToRawIntBits(Float16.toFloat(bits)), Float.floatToRawIntBits(CpuHalf.toFloat(DType.F16, bits)),
                    () -> "f16 " + Integer.toHexString(h));
            assertEquals(Float.floatToRawIntBits(BFloat16.toFloat(bits)), Float.floatToRawIntBits(CpuHalf.toFloat(DType.BF16, bits)),
                    () -> "bf16 " + Integer.toHexString(h));
        }
    }

    @Test
    void narrowingMatchesFloat16AndBFloat16() {
        // Around every binary16 value (its float, the halfway points either side, one float ulp
        // off each), plus random bit patterns (NaN payloads included).
        for (int h = 0; h < 1 << 16; h++) {
            int f = Float.floatToRawIntBits(Float16.toFloat((short) h));
            for (int d = -(1 << 13) - 1; d <= (1 << 13) + 1; d += 1 << 12) {
                for (int e = -1; e <= 1; e++) {
                    checkNarrow(Float.intBitsToFloat(f + d + e));
                }
            }
        }
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 2_000_000; i++) {
            checkNarrow(Float.intBitsToFloat(rnd.nextInt()));
        }
        for (float f : new float[] {Float.NaN, Float.intBitsToFloat(0x7f800001), Float.intBitsToFloat(0xffc12345), 65504f, 65520f, 65519.99f,
                                    Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE, 0x1.0p-25f,
                                    0x1.8p-25f, 0x1.0p-24f}) {
            checkNarrow(f);
        }
    }

    private static void checkNarrow(float f) {
        assertEquals(Float16.fromFloat(f), CpuHalf.fromFloat(DType.F16, f), () -> "f16 of " + Integer.toHexString(Float.floatToRawIntBits(f)));
        assertEquals(BFloat16.fromFloat(f), CpuHalf.fromFloat(DType.BF16, f), () -> "bf16 of " + Integer.toHexString(Float.floatToRawIntBits(f)));
    }

    @Test
    void segmentAndArrayFormsAgreeWithTheScalarOnes() {
        int n = 100_003; // several parallel tasks and a ragged end
        SplittableRandom rnd = new SplittableRandom(11);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment half = arena.allocate(2L * (n + 5), 8);
            MemorySegment wide = arena.allocate(4L * (n + 5), 8);
            MemorySegment back = arena.allocate(2L * (n + 5), 8);
            for (DType t : new DType[] {DType.F16, DType.BF16}) {
                for (int i = 0; i < n + 5; i++) {
                    half.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) rnd.nextInt(1 << 16));
                }
                // offsets on both sides
                CpuHalf.widen(t, half, 3, wide, 2, n);
                CpuHalf.narrow(t, wide, 2, back, 5, n);
                float[] arr = new float[n];
                CpuHalf.widen(t, half, 3, arr, n);
                MemorySegment back2 = arena.allocate(2L * n, 8);
                CpuHalf.narrow(t, arr, n, back2, 0);
                for (int i = 0; i < n; i++) {
                    short h = half.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 3 + i);
                    float f = CpuHalf.toFloat(t, h);
                    assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(wide.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 2 + i)), t + " widen " + i);
                    assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(arr[i]), t + " widen array " + i);
                    assertEquals(CpuHalf.fromFloat(t, f), back.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 5 + i), t + " narrow " + i);
                    assertEquals(CpuHalf.fromFloat(t, f), back2.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i), t + " narrow array " + i);
                }
            }
        }
    }
}
