package dev.frugal.runtime.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * float32 exp, erf, sigmoid and tanh on the Vector API, lane by lane: the float32 path of
 * {@link CpuElementwise} and {@link CpuFusedElementwise} for those ops, so both give the same
 * bits.
 *
 * <p>Each function is a fixed sequence of IEEE float32 fused multiply-adds, multiplies, adds,
 * divisions, min/max, compares, blends and exact integer steps on the bits. Every one of those is
 * exactly specified, so a lane's result depends only on its input: not on the vector width, the
 * lane, the thread count, or whether the JIT compiled the code (unlike the Vector API's
 * {@code EXP}, which may call a different library in compiled code than in the interpreter). The
 * scalar forms ({@link #exp(float)}, ...) run the same vector code on a broadcast and return lane
 * 0, so they are bit-identical to the vector loops.
 *
 * <p>Accuracy, checked over every float32 input against {@link Math#exp}, {@link Erf#erf},
 * {@link Math#tanh} and 1 / (1 + Math.exp(-x)) rounded to float32: exp, erf and tanh are within
 * 1 ulp of the correctly rounded result (at most about 1.03, 1.03 and 1.33 ulp from the exact
 * value), sigmoid within 2 ulp (at most about 1.97 ulp from the exact value); exp includes its
 * subnormal results. Special values: NaN gives NaN; exp(+inf) = +inf, exp(-inf) = 0, exp
 * overflows to +inf above ln(Float.MAX_VALUE) and underflows through the subnormals to 0; erf
 * and tanh are exactly odd (erf(-x) = -erf(x), signed zeros kept) with erf(+-inf) =
 * tanh(+-inf) = +-1; sigmoid(+inf) = 1, sigmoid(-inf) = 0.
 */
final class VectorMath {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;

    // exp(x) = 2^n e^r, n = round(x / ln 2), |r| <= ln(2)/2; ln 2 split in a short high part
    // (n * LN2_HI is exact) and a low part; degree-6 polynomial for e^r (Cephes' expf).
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer in its low mantissa bits. */
    private static final float SHIFTER = 0x1.8p23f;
    private static final int SHIFTER_BITS = 0x4B400000;
    /** Below this exp rounds to 0 (exp(-104) < 2^-150, half the smallest subnormal). */
    private static final float EXP_LO = -104f;
    /** Above this exp overflows (ln(Float.MAX_VALUE) is about 88.72). */
    private static final float EXP_HI = 89f;

    /** erf switches from its odd Taylor-like polynomial to 1 - exp(-poly) at |x| = 475/512. */
    private static final float ERF_SPLIT = 0.927734375f;
    /** erf(x) rounds to 1 in float32 well below this; clamping keeps the polynomial finite. */
    private static final float ERF_CLAMP = 10f;
    /** tanh(x) rounds to 1 in float32 beyond about 9.01; clamping keeps exp finite. */
    private static final float TANH_CLAMP = 10f;
    /** tanh uses its odd polynomial below this magnitude, 1 - 2 / (e^2x + 1) above. */
    private static final float TANH_SPLIT = 0.625f;

    private VectorMath() {
    }

    private static FloatVector fma(FloatVector a, FloatVector b, float c) {
        return a.fma(b, FloatVector.broadcast(FS, c));
    }

    private static FloatVector fma(FloatVector a, float b, FloatVector c) {
        return a.fma(FloatVector.broadcast(FS, b), c);
    }

    /** e^x lane by lane (see the class comment). */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LO).min(EXP_HI); // NaN stays NaN
        FloatVector t = xc.fma(LOG2E, SHIFTER);
        FloatVector n = t.sub(SHIFTER);
        FloatVector r = fma(n, -LN2_HI, xc);
        r = fma(n, -LN2_LO, r);
        FloatVector p = FloatVector.broadcast(FS, 1.9875691500e-4f);
        p = fma(p, r, 1.3981999507e-3f);
        p = fma(p, r, 8.3334519073e-3f);
        p = fma(p, r, 4.1665795894e-2f);
        p = fma(p, r, 1.6666665459e-1f);
        p = fma(p, r, 5.0000001201e-1f);
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        // 2^n as two normal powers of two, n1 = floor(n/2) and n - n1 (n is in [-150, 129]), so that
        // y * 2^n1 is exact and the second product rounds once, into the subnormals if need be
        IntVector ni = ((IntVector) t.reinterpretAsInts()).sub(SHIFTER_BITS);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector s1 = (FloatVector) n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = (FloatVector) n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(s1).mul(s2);
    }

    /**
     * erf(x) lane by lane: for |x| &lt;= 475/512, x + x P(x^2); above, sign(x) (1 - e^Q(|x|)) with Q
     * a polynomial (minimax coefficients after N. Juffa's float32 erff).
     */
    static FloatVector erf(FloatVector x) {
        FloatVector t = x.abs();
        FloatVector s = x.mul(x);
        // small |x|: odd polynomial
        FloatVector ps = FloatVector.broadcast(FS, -5.96761703e-4f);
        ps = fma(ps, s, 4.99119423e-3f);
        ps = fma(ps, s, -2.67681349e-2f);
        ps = fma(ps, s, 1.12819925e-1f);
        ps = fma(ps, s, -3.76125336e-1f);
        ps = fma(ps, s, 1.28379166e-1f);
        FloatVector small = ps.fma(x, x);
        // large |x|: 1 - exp(q)
        FloatVector tc = t.min(ERF_CLAMP);
        FloatVector sc = tc.mul(tc);
        FloatVector q = fma(FloatVector.broadcast(FS, -1.72853470e-5f), tc, 3.83197126e-4f);
        FloatVector u = fma(FloatVector.broadcast(FS, -3.88396438e-3f), tc, 2.42546219e-2f);
        q = q.fma(sc, u);
        q = fma(q, tc, -1.06777877e-1f);
        q = fma(q, tc, -6.34846687e-1f);
        q = fma(q, tc, -1.28717512e-1f);
        q = q.fma(tc, tc.neg());
        FloatVector large = FloatVector.broadcast(FS, 1f).sub(exp(q));
        large = large.blend(large.neg(), x.lt(0f));
        return small.blend(large, t.compare(VectorOperators.GT, ERF_SPLIT)); // NaN: small, which is NaN
    }

    /**
     * 1 / (1 + e^-x) lane by lane, as e^x / (1 + e^x) for negative x (no cancellation, no
     * overflow). The rounding error c of d = 1 + e (exact by Fast2Sum, as 1 &gt;= e) is folded
     * back in: 1 / (d + c) = (1 / d)(1 - c / d) to first order, which keeps the result within
     * about 1.5 ulp.
     */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector one = FloatVector.broadcast(FS, 1f);
        FloatVector e = exp(x.abs().neg()); // in [0, 1]
        FloatVector d = e.add(1f);
        FloatVector c = one.sub(d).add(e);
        FloatVector y = one.div(d);
        FloatVector cy = c.mul(y);
        FloatVector pos = y.neg().fma(cy, y);
        FloatVector q = e.div(d);
        FloatVector neg = q.neg().fma(cy, q);
        return pos.blend(neg, x.lt(0f)); // NaN: pos, which is NaN
    }

    /**
     * tanh(x) lane by lane: for |x| &lt; 0.625, x + x^3 P(x^2) (Cephes' tanhf); above,
     * sign(x) (1 - 2 / (e^(2|x|) + 1)).
     */
    static FloatVector tanh(FloatVector x) {
        FloatVector t = x.abs();
        FloatVector z = x.mul(x);
        FloatVector p = FloatVector.broadcast(FS, -5.70498872745e-3f);
        p = fma(p, z, 2.06390887954e-2f);
        p = fma(p, z, -5.37397155531e-2f);
        p = fma(p, z, 1.33314422036e-1f);
        p = fma(p, z, -3.33332819422e-1f);
        FloatVector small = p.mul(z).fma(x, x).blend(x, x.eq(0f)); // keeps the sign of -0
        FloatVector e = exp(t.min(TANH_CLAMP).mul(2f));
        FloatVector large = FloatVector.broadcast(FS, 1f).sub(FloatVector.broadcast(FS, 2f).div(e.add(1f)));
        large = large.blend(large.neg(), x.lt(0f));
        VectorMask<Float> useLarge = t.compare(VectorOperators.GE, TANH_SPLIT);
        return small.blend(large, useLarge); // NaN: small, which is NaN
    }

    static float exp(float x) {
        return exp(FloatVector.broadcast(FS, x)).lane(0);
    }

    static float erf(float x) {
        return erf(FloatVector.broadcast(FS, x)).lane(0);
    }

    static float sigmoid(float x) {
        return sigmoid(FloatVector.broadcast(FS, x)).lane(0);
    }

    static float tanh(float x) {
        return tanh(FloatVector.broadcast(FS, x)).lane(0);
    }
}
