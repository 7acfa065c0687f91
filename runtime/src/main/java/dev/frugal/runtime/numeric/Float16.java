package dev.frugal.runtime.numeric;

/**
 * IEEE 754 binary16 conversions with round-to-nearest-even, as the hardware does.
 *
 * <p>Subnormals, signed zeros, infinities and NaN are handled exactly: a float too large for
 * binary16 becomes infinity, a NaN stays a (quiet) NaN, and values below the smallest subnormal
 * round to signed zero. {@code toFloat(fromFloat(x))} is the binary16 value nearest to {@code x}.
 */
public final class Float16 {
    /** Largest finite binary16 value, 65504. */
    public static final float MAX_VALUE = 65504f;
    /** Smallest positive normal binary16 value, 2^-14. */
    public static final float MIN_NORMAL = 6.103515625e-5f;
    /** Smallest positive subnormal binary16 value, 2^-24. */
    public static final float MIN_VALUE = 5.9604644775390625e-8f;

    private Float16() {
    }

    /** Rounds a float to the nearest binary16 value (ties to even) and returns its bit pattern. */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = (bits >>> 23) & 0xff;
        int mantissa = bits & 0x7fffff;

        if (exponent == 0xff) {
            // Infinity stays infinity; NaN keeps its top payload bits and is forced quiet.
            return (short) (sign | 0x7c00 | (mantissa == 0 ? 0 : 0x200 | (mantissa >>> 13)));
        }
        int unbiased = exponent - 127;
        if (unbiased > 15) {
            return (short) (sign | 0x7c00); // overflow
        }
        if (unbiased >= -14) {
            // Normal binary16: keep 10 mantissa bits, round the 13 dropped bits to nearest even.
            int half = ((unbiased + 15) << 10) | (mantissa >>> 13);
            int dropped = mantissa & 0x1fff;
            if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1) != 0)) {
                half++; // may carry into the exponent, and up to infinity: both are correct
            }
            return (short) (sign | half);
        }
        if (unbiased < -25) {
            return (short) sign; // below half the smallest subnormal: signed zero
        }
        // Subnormal binary16: shift the full significand (with its implicit 1) into place.
        int significand = mantissa | 0x800000;
        int shift = -unbiased - 1; // 14..24 -> 13+ bits dropped
        int half = significand >>> shift;
        int dropped = significand & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (dropped > halfway || (dropped == halfway && (half & 1) != 0)) {
            half++; // may become the smallest normal, which is the right answer
        }
        return (short) (sign | half);
    }

    /**
     * Rounds a double to the nearest binary16 value (ties to even) with a single rounding. Going
     * through {@code (float) value} first would round twice and can land exactly on a binary16
     * tie that the double was not on (1 + 2^-11 + 2^-40 would become 1 instead of 1 + 2^-10).
     */
    public static short fromDouble(double value) {
        return fromFloat(RoundToOdd.toFloat(value));
    }

    /** Widens a binary16 bit pattern to the float of exactly the same value. */
    public static float toFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal: value = mantissa * 2^-24, exact in float.
            float magnitude = mantissa * MIN_VALUE;
            return sign == 0 ? magnitude : -magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }

    /** Rounds a float through binary16 and back: the value an F16 tensor would store. */
    public static float round(float value) {
        return toFloat(fromFloat(value));
    }
}
