package dev.frugal.runtime.numeric;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * binary16 conversions: every one of the 65536 bit patterns through float and back, ties to even
 * built by hand at every exponent, overflow and underflow edges, double inputs, and agreement
 * with the JDK's own {@link Float#floatToFloat16}/{@link Float#float16ToFloat} on all patterns and
 * on millions of random floats.
 */
class Float16Test {
    private static String hex(int bits) {
        return String.format("0x%04x", bits & 0xffff);
    }

    private static boolean isNaN16(int h) {
        return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    }

    /** The exact value of a non-NaN binary16 pattern, decoded independently of Float16. */
    private static double decode(int h) {
        int sign = (h & 0x8000) != 0 ? -1 : 1;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0x1f) {
            return sign * Double.POSITIVE_INFINITY;
        }
        if (e == 0) {
            return sign * m * 0x1.0p-24;
        }
        return sign * (1024 + m) * Math.scalb(1.0, e - 25);
    }

    @Test
    void everyPatternWidensExactlyAndRoundTrips() {
        for (int h = 0; h < 65536; h++) {
            float f = Float16.toFloat((short) h);
            if (isNaN16(h)) {
                assertTrue(Float.isNaN(f), hex(h) + " is a NaN pattern but widened to " + f);
                int back = Float16.fromFloat(f) & 0xffff;
                assertTrue(isNaN16(back), "NaN " + hex(h) + " narrowed back to non-NaN " + hex(back));
                assertEquals(h & 0x8000, back & 0x8000, "NaN sign of " + hex(h));
                continue;
            }
            double expected = decode(h);
            assertEquals(expected, (double) f, 0.0, "value of " + hex(h));
            if (expected == 0) {
                assertEquals((h & 0x8000) != 0, Float.floatToRawIntBits(f) < 0, "sign of zero " + hex(h));
            }
            assertEquals(h, Float16.fromFloat(f) & 0xffff, "round trip of " + hex(h) + " (" + f + ")");
        }
    }

    @Test
    void agreesWithTheJdkOnEveryPattern() {
        for (int h = 0; h < 65536; h++) {
            float ours = Float16.toFloat((short) h);
            float jdk = Float.float16ToFloat((short) h);
            if (isNaN16(h)) {
                assertTrue(Float.isNaN(ours) && Float.isNaN(jdk), hex(h));
            } else {
                assertEquals(Float.floatToRawIntBits(jdk), Float.floatToRawIntBits(ours), "widening " + hex(h));
            }
        }
    }

    @Test
    void agreesWithTheJdkOnRandomFloats() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 1_000_000; i++) {
            float f;
            if (i % 2 == 0) {
                f = Float.intBitsToFloat(rnd.nextInt()); // any bit pattern: all exponents, NaNs, subnormals
            } else {
                // concentrate on the binary16 range, where rounding actually happens
                f = Math.scalb(1 + rnd.nextFloat(), rnd.nextInt(-28, 18)) * (rnd.nextBoolean() ? 1 : -1);
            }
            short ours = Float16.fromFloat(f);
            short jdk = Float.floatToFloat16(f);
            if (Float.isNaN(f)) {
                assertTrue(isNaN16(ours), "NaN " + Integer.toHexString(Float.floatToRawIntBits(f)) + " -> " + hex(ours));
                assertEquals(jdk & 0x8000, ours & 0x8000, "NaN sign");
            } else {
                assertEquals(hex(jdk), hex(ours), "fromFloat(" + f + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + "), seed " + seed);
            }
        }
    }

    @Test
    void tiesRoundToEvenAtEveryExponent() {
        // For every pair of adjacent finite binary16 values (normal and subnormal, both signs), the
        // exact midpoint is a float; it must round to the neighbour with an even mantissa, and
        // anything a hair above or below must round to the nearer neighbour.
        for (int h = 0; h < 0x7bff; h++) {
            for (int sign : new int[] {0, 0x8000}) {
                int lo = h | sign;
                int hi = (h + 1) | sign;
                float a = Float16.toFloat((short) lo);
                float b = Float16.toFloat((short) hi);
                float mid = (float) ((decode(lo) + decode(hi)) / 2);
                assertEquals((decode(lo) + decode(hi)) / 2, mid, 0.0, "midpoint is exact in float");
                int even = (lo & 1) == 0 ? lo : hi;
                assertEquals(hex(even), hex(Float16.fromFloat(mid)), "tie between " + a + " and " + b);
                float above = Math.nextAfter(mid, Double.POSITIVE_INFINITY * (sign == 0 ? 1 : -1));
                float below = Math.nextAfter(mid, Double.POSITIVE_INFINITY * (sign == 0 ? -1 : 1));
                assertEquals(hex(hi), hex(Float16.fromFloat(above)), "just beyond the tie between " + a + " and " + b);
                assertEquals(hex(lo), hex(Float16.fromFloat(below)), "just short of the tie between " + a + " and " + b);
            }
        }
    }

    @Test
    void overflowUnderflowAndSpecials() {
        assertEquals(hex(0x7c00), hex(Float16.fromFloat(Float.POSITIVE_INFINITY)));
        assertEquals(hex(0xfc00), hex(Float16.fromFloat(Float.NEGATIVE_INFINITY)));
        assertEquals(hex(0x7bff), hex(Float16.fromFloat(65504f)));
        assertEquals(65504f, Float16.MAX_VALUE);
        // 65520 is the midpoint between 65504 and the next step (65536, i.e. infinity): ties to even -> inf
        assertEquals(hex(0x7c00), hex(Float16.fromFloat(65520f)));
        assertEquals(hex(0x7bff), hex(Float16.fromFloat(Math.nextDown(65520f))));
        assertEquals(hex(0xfc00), hex(Float16.fromFloat(-65520f)));
        assertEquals(hex(0x7c00), hex(Float16.fromFloat(1e10f)));
        assertEquals(hex(0x7c00), hex(Float16.fromFloat(Float.MAX_VALUE)));
        // smallest subnormal 2^-24; half of it is a tie with zero (-> zero, even); just above rounds up
        assertEquals(hex(0x0001), hex(Float16.fromFloat(0x1.0p-24f)));
        assertEquals(Float16.MIN_VALUE, Float16.toFloat((short) 1));
        assertEquals(Float16.MIN_NORMAL, Float16.toFloat((short) 0x0400));
        assertEquals(hex(0x0000), hex(Float16.fromFloat(0x1.0p-25f)));
        assertEquals(hex(0x8000), hex(Float16.fromFloat(-0x1.0p-25f)));
        assertEquals(hex(0x0001), hex(Float16.fromFloat(Math.nextUp(0x1.0p-25f))));
        assertEquals(hex(0x0000), hex(Float16.fromFloat(Float.MIN_VALUE)));
        assertEquals(hex(0x8000), hex(Float16.fromFloat(-Float.MIN_VALUE)));
        assertEquals(hex(0x8000), hex(Float16.fromFloat(-0f)));
        // 1.5 * 2^-24 is a tie between subnormals 1 and 2 -> 2 (even)
        assertEquals(hex(0x0002), hex(Float16.fromFloat(0x1.8p-24f)));
        // the largest subnormal rounds up into the smallest normal
        assertEquals(hex(0x0400), hex(Float16.fromFloat(Math.nextDown(Float16.MIN_NORMAL))));
        assertEquals(hex(0x03ff), hex(Float16.fromFloat(0x3ffp-24f)));
        // NaN stays NaN (quiet) with its sign
        short nan = Float16.fromFloat(Float.intBitsToFloat(0x7f800001));
        assertTrue(isNaN16(nan), "signalling NaN with a low payload must stay NaN, got " + hex(nan));
        assertTrue(isNaN16(Float16.fromFloat(Float.intBitsToFloat(0xffc00000))));
        assertEquals(0x8000, Float16.fromFloat(Float.intBitsToFloat(0xffc00000)) & 0x8000);
        assertEquals(1.0009765625f, Float16.round(1.0009765625f));
        assertEquals(1.0f, Float16.round(1.00048828125f)); // 1 + 2^-11: tie -> 1 (even)
        assertEquals(1.001953125f, Float16.round(1.00146484375f)); // 1 + 3*2^-11: tie -> 1 + 2^-9 (even)
    }

    @Test
    void doublesRoundOnceToNearestEven() {
        // 1 + 2^-11 + 2^-40 is above the tie between 1 and 1 + 2^-10, but a float cannot hold the
        // 2^-40: rounding through float first would land exactly on the tie and go down to 1.
        assertEquals(1 + 0x1.0p-10f, Float16.toFloat(Float16.fromDouble(1 + 0x1.0p-11 + 0x1.0p-40)));
        assertEquals(1f, Float16.toFloat(Float16.fromDouble(1 + 0x1.0p-11)));
        assertEquals(1f, Float16.toFloat(Float16.fromDouble(1 + 0x1.0p-11 - 0x1.0p-40)));
        assertEquals(-(1 + 0x1.0p-10f), Float16.toFloat(Float16.fromDouble(-(1 + 0x1.0p-11 + 0x1.0p-40))));
        assertEquals(hex(0x7c00), hex(Float16.fromDouble(1e300)));
        assertEquals(hex(0x8000), hex(Float16.fromDouble(-1e-300)));
        assertEquals(hex(0x0001), hex(Float16.fromDouble(0x1.0p-25 + 0x1.0p-70)));
        assertTrue(isNaN16(Float16.fromDouble(Double.NaN)));
        // Random doubles against an exact BigDecimal nearest-even search over all finite patterns.
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 2000; i++) {
            double d = Math.scalb(1 + rnd.nextDouble(), rnd.nextInt(-26, 16)) * (rnd.nextBoolean() ? 1 : -1);
            assertEquals(hex(nearestEven(d)), hex(Float16.fromDouble(d)), d + " (seed " + seed + ")");
        }
    }

    /** Reference: the binary16 pattern nearest to {@code d} (ties to even), by exact arithmetic. */
    private static int nearestEven(double d) {
        double x = Math.abs(d);
        int sign = d < 0 || (d == 0 && 1 / d < 0) ? 0x8000 : 0;
        if (x >= 65520) { // at least half a step beyond 65504: infinity
            return sign | 0x7c00;
        }
        // positive finite patterns are ordered like their values: find the last one <= x
        int lo = 0;
        int hi = 0x7bff;
        while (lo < hi) {
            int m = (lo + hi + 1) >>> 1;
            if (decode(m) <= x) {
                lo = m;
            } else {
                hi = m - 1;
            }
        }
        if (lo == 0x7bff) {
            return sign | lo;
        }
        BigDecimal bx = new BigDecimal(x);
        int c = new BigDecimal(decode(lo + 1)).subtract(bx).compareTo(bx.subtract(new BigDecimal(decode(lo))));
        int best = c < 0 ? lo + 1 : c > 0 ? lo : ((lo & 1) == 0 ? lo : lo + 1);
        return sign | best;
    }
}
