package dev.frugal.runtime.numeric;

/**
 * bfloat16 conversions with round-to-nearest-even: the top 16 bits of a binary32, rounded.
 *
 * <p>bfloat16 keeps float's 8-bit exponent, so there is no overflow by range reduction (only by
 * rounding up past the largest finite value), and float subnormals map to bfloat16 subnormals.
 * NaN stays a quiet NaN (rounding never turns a NaN into infinity).
 */
public final class BFloat16 {
    private BFloat16() {
    }

    /** Rounds a float to the nearest bfloat16 (ties to even) and returns its bit pattern. */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // NaN: keep sign and payload top, force quiet
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7fff + lsb;
        return (short) (rounded >>> 16);
    }

    /**
     * Rounds a double to the nearest bfloat16 (ties to even) with a single rounding (rounding
     * through {@code (float) value} first could round twice; see {@link Float16#fromDouble}).
     */
    public static short fromDouble(double value) {
        return fromFloat(RoundToOdd.toFloat(value));
    }

    /** Widens a bfloat16 bit pattern to the float of exactly the same value. */
    public static float toFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }

    /** Rounds a float through bfloat16 and back: the value a BF16 tensor would store. */
    public static float round(float value) {
        return toFloat(fromFloat(value));
    }
}
