package dev.frugal.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link VectorMath}'s float32 exp, erf, sigmoid and tanh: within 2 ulp of the correctly rounded
 * result over a dense sample of every float32 bit pattern (about 1M inputs each, spread over the
 * whole range, subnormals included), the special values, and the scalar forms giving the same
 * bits as every lane of the vector forms.
 */
class VectorMathTest {
    private static final int STEP = 4093; // prime: walks through every exponent and many mantissas

    private static void checkDense(String name, UnaryOperator<FloatVector> f, DoubleUnaryOperator ref) {
        int vl = VectorMath.FS.length();
        float[] xs = new float[vl];
        float[] ys = new float[vl];
        int maxDiff = 0;
        float worst = 0;
        long bits = 0;
        while (bits <= 0xFFFFFFFFL) {
            for (int l = 0; l < vl; l++, bits += STEP) {
                xs[l] = Float.intBitsToFloat((int) bits);
            }
            f.apply(FloatVector.fromArray(VectorMath.FS, xs, 0)).intoArray(ys, 0);
            for (int l = 0; l < vl; l++) {
                float x = xs[l];
                float expected = (float) ref.applyAsDouble(x);
                float y = ys[l];
                if (Float.isNaN(expected) || Float.isNaN(y)) {
                    assertEquals(Float.isNaN(expected), Float.isNaN(y), name + "(" + x + ") = " + y);
                    continue;
                }
                if (Float.isInfinite(expected) || Float.isInfinite(y) || expected == 0 || y == 0) {
                    assertEquals(expected, y, 0f, name + "(" + x + ")");
                    continue;
                }
                assertEquals(expected > 0, y > 0, name + "(" + x + ") = " + y + ", expected " + expected);
                int diff = Math.abs(Float.floatToIntBits(y) - Float.floatToIntBits(expected));
                if (diff > maxDiff) {
                    maxDiff = diff;
                    worst = x;
                }
            }
        }
        assertTrue(maxDiff <= 2, name + ": " + maxDiff + " ulp from the correctly rounded result at x = " + worst);
    }

    @Test
    void expIsWithinTwoUlpOverTheWholeRange() {
        checkDense("exp", VectorMath::exp, Math::exp);
    }

    @Test
    void erfIsWithinTwoUlpOverTheWholeRange() {
        checkDense("erf", VectorMath::erf, Erf::erf);
    }

    @Test
    void sigmoidIsWithinTwoUlpOverTheWholeRange() {
        checkDense("sigmoid", VectorMath::sigmoid, v -> 1 / (1 + Math.exp(-v)));
    }

    @Test
    void tanhIsWithinTwoUlpOverTheWholeRange() {
        checkDense("tanh", VectorMath::tanh, Math::tanh);
    }

    private static void same(float expected, float actual, String what) {
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                what + ": expected " + expected + " but was " + actual);
    }

    @Test
    void specialValues() {
        float inf = Float.POSITIVE_INFINITY;
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        same(inf, VectorMath.exp(inf), "exp(inf)");
        same(0f, VectorMath.exp(-inf), "exp(-inf)");
        same(1f, VectorMath.exp(0f), "exp(0)");
        same(1f, VectorMath.exp(-0f), "exp(-0)");
        same(inf, VectorMath.exp(88.73f), "exp overflows");
        same((float) Math.exp(-100), VectorMath.exp(-100f), "exp subnormal");
        same(Float.MIN_VALUE, VectorMath.exp(-103.5f), "exp smallest subnormal");
        same(0f, VectorMath.exp(-104f), "exp underflows");
        same(0f, VectorMath.exp(-1e30f), "exp underflows");

        assertTrue(Float.isNaN(VectorMath.erf(Float.NaN)));
        same(1f, VectorMath.erf(inf), "erf(inf)");
        same(-1f, VectorMath.erf(-inf), "erf(-inf)");
        same(0f, VectorMath.erf(0f), "erf(0)");
        same(-0f, VectorMath.erf(-0f), "erf(-0)");
        same(Float.MIN_VALUE, VectorMath.erf(Float.MIN_VALUE), "erf(tiny)");
        same(1f, VectorMath.erf(5f), "erf(5)");

        assertTrue(Float.isNaN(VectorMath.sigmoid(Float.NaN)));
        same(1f, VectorMath.sigmoid(inf), "sigmoid(inf)");
        same(0f, VectorMath.sigmoid(-inf), "sigmoid(-inf)");
        same(0.5f, VectorMath.sigmoid(0f), "sigmoid(0)");
        same(0.5f, VectorMath.sigmoid(-0f), "sigmoid(-0)");

        assertTrue(Float.isNaN(VectorMath.tanh(Float.NaN)));
        same(1f, VectorMath.tanh(inf), "tanh(inf)");
        same(-1f, VectorMath.tanh(-inf), "tanh(-inf)");
        same(0f, VectorMath.tanh(0f), "tanh(0)");
        same(-0f, VectorMath.tanh(-0f), "tanh(-0)");
    }

    @Test
    void oddFunctionsAreExactlyOddAndScalarFormsMatchEveryLane() {
        int vl = VectorMath.FS.length();
        java.util.Random rnd = new java.util.Random(7);
        float[] xs = new float[vl];
        float[] e = new float[vl];
        float[] r = new float[vl];
        float[] s = new float[vl];
        float[] t = new float[vl];
        for (int k = 0; k < 2000; k++) {
            for (int l = 0; l < vl; l++) {
                xs[l] = (float) (rnd.nextGaussian() * (k % 3 == 0 ? 30 : 3));
            }
            FloatVector x = FloatVector.fromArray(VectorMath.FS, xs, 0);
            VectorMath.exp(x).intoArray(e, 0);
            VectorMath.erf(x).intoArray(r, 0);
            VectorMath.sigmoid(x).intoArray(s, 0);
            VectorMath.tanh(x).intoArray(t, 0);
            for (int l = 0; l < vl; l++) {
                same(VectorMath.exp(xs[l]), e[l], "exp lane " + l + " of " + xs[l]);
                same(VectorMath.erf(xs[l]), r[l], "erf lane " + l + " of " + xs[l]);
                same(VectorMath.sigmoid(xs[l]), s[l], "sigmoid lane " + l + " of " + xs[l]);
                same(VectorMath.tanh(xs[l]), t[l], "tanh lane " + l + " of " + xs[l]);
                same(-r[l], VectorMath.erf(-xs[l]), "erf(-x) = -erf(x) at " + xs[l]);
                same(-t[l], VectorMath.tanh(-xs[l]), "tanh(-x) = -tanh(x) at " + xs[l]);
            }
        }
    }
}
