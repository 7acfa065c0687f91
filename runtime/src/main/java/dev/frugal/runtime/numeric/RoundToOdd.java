package dev.frugal.runtime.numeric;

/**
 * Narrowing a double to float with round-to-odd: an inexact result keeps an odd last bit (the
 * sticky information), so a later round-to-nearest-even to a format at least two bits narrower
 * than float (binary16, bfloat16) gives exactly the nearest-even rounding of the original double,
 * with no double-rounding error.
 */
final class RoundToOdd {
    private RoundToOdd() {
    }

    /** The float next to {@code v} on the side that makes its last significand bit odd, or {@code v} itself if exact. */
    static float toFloat(double v) {
        float f = (float) v;
        if (Float.isNaN(f) || Float.isInfinite(f) || f == v) {
            return f;
        }
        if (f == 0) {
            return v > 0 ? Float.MIN_VALUE : -Float.MIN_VALUE; // far below any half subnormal: only the sign matters
        }
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 1) != 0) {
            return f;
        }
        // RNE picked the even neighbour; round-to-odd wants the odd one on the other side of v.
        return Float.intBitsToFloat((f > v) == (f > 0) ? bits - 1 : bits + 1);
    }
}
