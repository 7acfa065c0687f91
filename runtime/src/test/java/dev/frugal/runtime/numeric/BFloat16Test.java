package dev.frugal.runtime.numeric;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bfloat16 conversions: every 16-bit pattern widens to the float with the same top half, every
 * float rounds to the nearest bfloat16 with ties to even (checked against an independent
 * truncate-and-compare reference on random floats and on constructed ties), overflow by rounding,
 * subnormals, NaN, and single rounding from double.
 */
class BFloat16Test {
    private static String hex(int bits) {
        return String.format("0x%04x", bits & 0xffff);
    }

    private static boolean isNaN16(int b) {
        return (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0;
    }

    /** Independent reference: compare the two bfloat16 neighbours of a finite float exactly (in double). */
    private static int reference(float f) {
        int bits = Float.floatToRawIntBits(f);
        int lo = bits >>> 16; // truncation toward zero
        int hi = lo + 1;      // next away from zero (may be infinity)
        double x = Math.abs((double) f);
        double vl = Math.abs((double) Float.intBitsToFloat(lo << 16));
        double dl = x - vl;
        double dh;
        if ((hi & 0x7fff) == 0x7f80) {
            dh = Math.scalb(1.0, 128) - x; // the step past the largest finite value is infinity, "valued" 2^128
        } else {
            dh = Math.abs((double) Float.intBitsToFloat(hi << 16)) - x;
        }
        if (dl < dh || (dl == dh && (lo & 1) == 0)) {
            return lo;
        }
        return hi;
    }

    @Test
    void everyPatternWidensToItsTopHalfAndRoundTrips() {
        for (int b = 0; b < 65536; b++) {
            float f = BFloat16.toFloat((short) b);
            assertEquals(b << 16, Float.floatToRawIntBits(f), "widening " + hex(b));
            int back = BFloat16.fromFloat(f) & 0xffff;
            if (isNaN16(b)) {
                assertTrue(isNaN16(back), "NaN " + hex(b) + " narrowed to " + hex(back));
                assertEquals(b & 0x8000, back & 0x8000, "NaN sign");
            } else {
                assertEquals(hex(b), hex(back), "round trip");
            }
        }
    }

    @Test
    void randomFloatsRoundToNearestEven() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 1_000_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            short got = BFloat16.fromFloat(f);
            if (Float.isNaN(f)) {
                assertTrue(isNaN16(got), "NaN 0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + " -> " + hex(got));
                continue;
            }
            assertEquals(hex(reference(f)), hex(got), "fromFloat(0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + "), seed " + seed);
        }
    }

    @Test
    void constructedTiesGoToEven() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 100_000; i++) {
            int top = rnd.nextInt(0, 0x7f7f) | (rnd.nextBoolean() ? 0x8000 : 0); // finite, below the largest finite
            float tie = Float.intBitsToFloat((top << 16) | 0x8000);
            int expected = (top & 1) == 0 ? top : top + 1;
            assertEquals(hex(expected), hex(BFloat16.fromFloat(tie)), "tie above " + hex(top) + ", seed " + seed);
            assertEquals(hex(top + 1), hex(BFloat16.fromFloat(Float.intBitsToFloat((top << 16) | 0x8001))), "just above the tie");
            assertEquals(hex(top), hex(BFloat16.fromFloat(Float.intBitsToFloat((top << 16) | 0x7fff))), "just below the tie");
        }
    }

    @Test
    void overflowSubnormalsAndSpecials() {
        assertEquals(hex(0x7f80), hex(BFloat16.fromFloat(Float.POSITIVE_INFINITY)));
        assertEquals(hex(0xff80), hex(BFloat16.fromFloat(Float.NEGATIVE_INFINITY)));
        assertEquals(hex(0x7f80), hex(BFloat16.fromFloat(Float.MAX_VALUE))); // rounds up past the largest finite bf16
        assertEquals(hex(0x7f7f), hex(BFloat16.fromFloat(Float.intBitsToFloat(0x7f7f7fff))));
        assertEquals(hex(0xff80), hex(BFloat16.fromFloat(-Float.MAX_VALUE)));
        assertEquals(hex(0x0000), hex(BFloat16.fromFloat(Float.MIN_VALUE))); // far below the smallest bf16 subnormal
        assertEquals(hex(0x0001), hex(BFloat16.fromFloat(Float.intBitsToFloat(0x00010000))));
        assertEquals(hex(0x0002), hex(BFloat16.fromFloat(Float.intBitsToFloat(0x00018000)))); // subnormal tie: 1 is odd, so 2
        assertEquals(hex(0x8000), hex(BFloat16.fromFloat(-0f)));
        assertEquals(hex(0x0080), hex(BFloat16.fromFloat(Float.intBitsToFloat(0x007fffff)))); // largest float subnormal -> smallest normal
        assertTrue(isNaN16(BFloat16.fromFloat(Float.intBitsToFloat(0x7f800001))), "a NaN whose payload lives in the low half stays NaN");
        assertTrue(isNaN16(BFloat16.fromFloat(Float.intBitsToFloat(0xff800001))));
        assertEquals(0x8000, BFloat16.fromFloat(Float.intBitsToFloat(0xff800001)) & 0x8000);
        assertEquals(1.0078125f, BFloat16.round(1.0078125f));
        assertEquals(1.0f, BFloat16.round(1.00390625f));       // 1 + 2^-8: tie -> 1
        assertEquals(1.015625f, BFloat16.round(1.01171875f));  // 1 + 3*2^-8: tie -> 1 + 2^-6
    }

    @Test
    void doublesRoundOnce() {
        // 1 + 2^-8 + 2^-40: above the tie, but (float) drops the 2^-40 and lands on it
        assertEquals(1.0078125f, BFloat16.toFloat(BFloat16.fromDouble(1 + 0x1.0p-8 + 0x1.0p-40)));
        assertEquals(1.0f, BFloat16.toFloat(BFloat16.fromDouble(1 + 0x1.0p-8)));
        assertEquals(-1.0078125f, BFloat16.toFloat(BFloat16.fromDouble(-(1 + 0x1.0p-8 + 0x1.0p-40))));
        assertEquals(hex(0x7f80), hex(BFloat16.fromDouble(1e300)));
        assertTrue(isNaN16(BFloat16.fromDouble(Double.NaN)));
    }
}
