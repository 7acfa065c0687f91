package dev.frugal.runtime.cpu.kernels;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 arithmetic of fused attention (FlashAttention's blocked online softmax) over one
 * (batch, head) slice held in heap arrays; {@code CpuAttention} loads the slices (widening
 * F16/BF16), runs these in parallel and stores the results.
 *
 * <p>Layouts, chosen so that every vector loop runs over whole vectors with no tails: row arrays
 * (q, k, v, out, their gradients) hold one row per position with a stride of {@link #paddedDepth}
 * (D rounded up to a vector, zero padded), and transposed arrays ({@code kᵀ}, {@code vᵀ}) hold one
 * row per feature with a stride of {@link #paddedKeys} (T rounded up to a key block, zero padded).
 * Query blocks have {@link #BQ} rows and key blocks {@link #BK} columns, fixed, so results never
 * depend on the thread count: every output element is one sequence of float operations in a
 * fixed order (the dot products and row updates are fused multiply-adds along one lane, so a lane
 * gives the same bits whatever the vector width).
 */
public final class FlashAttention {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    public static final int VL = FS.length();
    /** Query rows per block: a multiple of the score micro-kernel's 4 rows. */
    public static final int BQ = 32;
    /** Keys per block: a multiple of two vectors (the score micro-kernel's width). */
    public static final int BK = Math.max(64, 2 * VL);

    private FlashAttention() {
    }

    /** D rounded up to whole vectors: the row stride of the row arrays. */
    public static int paddedDepth(int d) {
        return (d + VL - 1) / VL * VL;
    }

    /** T rounded up to whole key blocks: the row stride of the transposed arrays. */
    public static int paddedKeys(int t) {
        return (t + BK - 1) / BK * BK;
    }

    /** T rounded up to whole query blocks: the rows of a query-side row array. */
    public static int paddedQueries(int t) {
        return (t + BQ - 1) / BQ * BQ;
    }

    /** The number of keys query block {@code qb} reads: all T, or up to its last row when causal. */
    public static int keyEnd(int t, int qb, boolean causal) {
        return causal ? Math.min(t, (qb + 1) * BQ) : t;
    }

    /**
     * {@code s[r][c] = sum_d a[aOff + r*lda + d] * bt[d*ldb + bOff + c]} for {@code r < rows}
     * (a multiple of 4) and {@code c < BK}: one tile of {@code a bᵀ} with b given transposed. Each
     * element is a chain of fused multiply-adds over d in order.
     */
    static void tile(float[] a, int aOff, int lda, int rows, float[] bt, int bOff, int ldb, int depth, float[] s) {
        if (WIDE) {
            tileWide(a, aOff, lda, rows, bt, bOff, ldb, depth, s);
            return;
        }
        for (int r = 0; r < rows; r += 4) {
            int a0 = aOff + r * lda;
            for (int c = 0; c < BK; c += 2 * VL) {
                FloatVector s00 = FloatVector.zero(FS), s01 = FloatVector.zero(FS);
                FloatVector s10 = FloatVector.zero(FS), s11 = FloatVector.zero(FS);
                FloatVector s20 = FloatVector.zero(FS), s21 = FloatVector.zero(FS);
                FloatVector s30 = FloatVector.zero(FS), s31 = FloatVector.zero(FS);
                int b = bOff + c;
                for (int d = 0; d < depth; d++, b += ldb) {
                    FloatVector k0 = FloatVector.fromArray(FS, bt, b);
                    FloatVector k1 = FloatVector.fromArray(FS, bt, b + VL);
                    FloatVector q0 = FloatVector.broadcast(FS, a[a0 + d]);
                    FloatVector q1 = FloatVector.broadcast(FS, a[a0 + lda + d]);
                    FloatVector q2 = FloatVector.broadcast(FS, a[a0 + 2 * lda + d]);
                    FloatVector q3 = FloatVector.broadcast(FS, a[a0 + 3 * lda + d]);
                    s00 = q0.fma(k0, s00);
                    s01 = q0.fma(k1, s01);
                    s10 = q1.fma(k0, s10);
                    s11 = q1.fma(k1, s11);
                    s20 = q2.fma(k0, s20);
                    s21 = q2.fma(k1, s21);
                    s30 = q3.fma(k0, s30);
                    s31 = q3.fma(k1, s31);
                }
                int o = r * BK + c;
                s00.intoArray(s, o);
                s01.intoArray(s, o + VL);
                s10.intoArray(s, o + BK);
                s11.intoArray(s, o + BK + VL);
                s20.intoArray(s, o + 2 * BK);
                s21.intoArray(s, o + 2 * BK + VL);
                s30.intoArray(s, o + 3 * BK);
                s31.intoArray(s, o + 3 * BK + VL);
            }
        }
    }

    /**
     * With 16-float vectors (AVX-512: 32 registers) a key block is exactly 4 vectors, and the
     * micro-kernels take 4 rows by 4 vectors: 16 accumulators, and 8 loads or broadcasts per 16
     * fused multiply-adds instead of 6 per 8. The sums are the same chains in the same order.
     */
    private static final boolean WIDE = VL == 16 && BK == 4 * VL;

    /** {@link #tile} as 4 rows by the whole key block (4 vectors). */
    private static void tileWide(float[] a, int aOff, int lda, int rows, float[] bt, int bOff, int ldb, int depth, float[] s) {
        for (int r = 0; r < rows; r += 4) {
            int a0 = aOff + r * lda;
            FloatVector s00 = FloatVector.zero(FS), s01 = FloatVector.zero(FS), s02 = FloatVector.zero(FS), s03 = FloatVector.zero(FS);
            FloatVector s10 = FloatVector.zero(FS), s11 = FloatVector.zero(FS), s12 = FloatVector.zero(FS), s13 = FloatVector.zero(FS);
            FloatVector s20 = FloatVector.zero(FS), s21 = FloatVector.zero(FS), s22 = FloatVector.zero(FS), s23 = FloatVector.zero(FS);
            FloatVector s30 = FloatVector.zero(FS), s31 = FloatVector.zero(FS), s32 = FloatVector.zero(FS), s33 = FloatVector.zero(FS);
            for (int d = 0, b = bOff; d < depth; d++, b += ldb) {
                FloatVector k0 = FloatVector.fromArray(FS, bt, b);
                FloatVector k1 = FloatVector.fromArray(FS, bt, b + VL);
                FloatVector k2 = FloatVector.fromArray(FS, bt, b + 2 * VL);
                FloatVector k3 = FloatVector.fromArray(FS, bt, b + 3 * VL);
                FloatVector q = FloatVector.broadcast(FS, a[a0 + d]);
                s00 = q.fma(k0, s00);
                s01 = q.fma(k1, s01);
                s02 = q.fma(k2, s02);
                s03 = q.fma(k3, s03);
                q = FloatVector.broadcast(FS, a[a0 + lda + d]);
                s10 = q.fma(k0, s10);
                s11 = q.fma(k1, s11);
                s12 = q.fma(k2, s12);
                s13 = q.fma(k3, s13);
                q = FloatVector.broadcast(FS, a[a0 + 2 * lda + d]);
                s20 = q.fma(k0, s20);
                s21 = q.fma(k1, s21);
                s22 = q.fma(k2, s22);
                s23 = q.fma(k3, s23);
                q = FloatVector.broadcast(FS, a[a0 + 3 * lda + d]);
                s30 = q.fma(k0, s30);
                s31 = q.fma(k1, s31);
                s32 = q.fma(k2, s32);
                s33 = q.fma(k3, s33);
            }
            int o = r * BK;
            s00.intoArray(s, o);
            s01.intoArray(s, o + VL);
            s02.intoArray(s, o + 2 * VL);
            s03.intoArray(s, o + 3 * VL);
            o += BK;
            s10.intoArray(s, o);
            s11.intoArray(s, o + VL);
            s12.intoArray(s, o + 2 * VL);
            s13.intoArray(s, o + 3 * VL);
            o += BK;
            s20.intoArray(s, o);
            s21.intoArray(s, o + VL);
            s22.intoArray(s, o + 2 * VL);
            s23.intoArray(s, o + 3 * VL);
            o += BK;
            s30.intoArray(s, o);
            s31.intoArray(s, o + VL);
            s32.intoArray(s, o + 2 * VL);
            s33.intoArray(s, o + 3 * VL);
        }
    }

    /** Four vectors of four rows of {@link #accumulate}, from column e. */
    private static void accumulateWide(float[] c, int c0, int ldc, float[] a, int a0, int aRow, int aCol, int n, float[] x, int xOff, int ldx, int e) {
        FloatVector r00 = FloatVector.fromArray(FS, c, c0 + e), r01 = FloatVector.fromArray(FS, c, c0 + e + VL);
        FloatVector r02 = FloatVector.fromArray(FS, c, c0 + e + 2 * VL), r03 = FloatVector.fromArray(FS, c, c0 + e + 3 * VL);
        int c1 = c0 + ldc;
        FloatVector r10 = FloatVector.fromArray(FS, c, c1 + e), r11 = FloatVector.fromArray(FS, c, c1 + e + VL);
        FloatVector r12 = FloatVector.fromArray(FS, c, c1 + e + 2 * VL), r13 = FloatVector.fromArray(FS, c, c1 + e + 3 * VL);
        int c2 = c1 + ldc;
        FloatVector r20 = FloatVector.fromArray(FS, c, c2 + e), r21 = FloatVector.fromArray(FS, c, c2 + e + VL);
        FloatVector r22 = FloatVector.fromArray(FS, c, c2 + e + 2 * VL), r23 = FloatVector.fromArray(FS, c, c2 + e + 3 * VL);
        int c3 = c2 + ldc;
        FloatVector r30 = FloatVector.fromArray(FS, c, c3 + e), r31 = FloatVector.fromArray(FS, c, c3 + e + VL);
        FloatVector r32 = FloatVector.fromArray(FS, c, c3 + e + 2 * VL), r33 = FloatVector.fromArray(FS, c, c3 + e + 3 * VL);
        for (int i = 0, ai = a0, xi = xOff + e; i < n; i++, ai += aCol, xi += ldx) {
            FloatVector x0 = FloatVector.fromArray(FS, x, xi);
            FloatVector x1 = FloatVector.fromArray(FS, x, xi + VL);
            FloatVector x2 = FloatVector.fromArray(FS, x, xi + 2 * VL);
            FloatVector x3 = FloatVector.fromArray(FS, x, xi + 3 * VL);
            FloatVector w = FloatVector.broadcast(FS, a[ai]);
            r00 = w.fma(x0, r00);
            r01 = w.fma(x1, r01);
            r02 = w.fma(x2, r02);
            r03 = w.fma(x3, r03);
            w = FloatVector.broadcast(FS, a[ai + aRow]);
            r10 = w.fma(x0, r10);
            r11 = w.fma(x1, r11);
            r12 = w.fma(x2, r12);
            r13 = w.fma(x3, r13);
            w = FloatVector.broadcast(FS, a[ai + 2 * aRow]);
            r20 = w.fma(x0, r20);
            r21 = w.fma(x1, r21);
            r22 = w.fma(x2, r22);
            r23 = w.fma(x3, r23);
            w = FloatVector.broadcast(FS, a[ai + 3 * aRow]);
            r30 = w.fma(x0, r30);
            r31 = w.fma(x1, r31);
            r32 = w.fma(x2, r32);
            r33 = w.fma(x3, r33);
        }
        r00.intoArray(c, c0 + e);
        r01.intoArray(c, c0 + e + VL);
        r02.intoArray(c, c0 + e + 2 * VL);
        r03.intoArray(c, c0 + e + 3 * VL);
        r10.intoArray(c, c1 + e);
        r11.intoArray(c, c1 + e + VL);
        r12.intoArray(c, c1 + e + 2 * VL);
        r13.intoArray(c, c1 + e + 3 * VL);
        r20.intoArray(c, c2 + e);
        r21.intoArray(c, c2 + e + VL);
        r22.intoArray(c, c2 + e + 2 * VL);
        r23.intoArray(c, c2 + e + 3 * VL);
        r30.intoArray(c, c3 + e);
        r31.intoArray(c, c3 + e + VL);
        r32.intoArray(c, c3 + e + 2 * VL);
        r33.intoArray(c, c3 + e + 3 * VL);
    }

    /**
     * {@code c[cOff + j*ldc + e] += sum_{i<n} a[aOff + j*aRow + i*aCol] * x[xOff + i*ldx + e]} for
     * {@code j < m} (a multiple of 4) and {@code e < dp} (whole vectors): a block of a product
     * {@code A X} accumulated into rows of c, where A is read with any row and column strides (so
     * a tile of probabilities serves as P or as Pᵀ). A micro-kernel of 4 rows by 2 vectors keeps
     * 8 independent chains of fused multiply-adds in registers; each element still sums over i in
     * order, so the bits do not depend on the blocking.
     */
    static void accumulate(float[] c, int cOff, int ldc, int m, float[] a, int aOff, int aRow, int aCol, int n,
                           float[] x, int xOff, int ldx, int dp) {
        for (int j = 0; j < m; j += 4) {
            int c0 = cOff + j * ldc;
            int a0 = aOff + j * aRow;
            int e = 0;
            if (WIDE) {
                for (; e + 4 * VL <= dp; e += 4 * VL) {
                    accumulateWide(c, c0, ldc, a, a0, aRow, aCol, n, x, xOff, ldx, e);
                }
            }
            for (; e + 2 * VL <= dp; e += 2 * VL) {
                FloatVector r00 = FloatVector.fromArray(FS, c, c0 + e), r01 = FloatVector.fromArray(FS, c, c0 + e + VL);
                FloatVector r10 = FloatVector.fromArray(FS, c, c0 + ldc + e), r11 = FloatVector.fromArray(FS, c, c0 + ldc + e + VL);
                FloatVector r20 = FloatVector.fromArray(FS, c, c0 + 2 * ldc + e), r21 = FloatVector.fromArray(FS, c, c0 + 2 * ldc + e + VL);
                FloatVector r30 = FloatVector.fromArray(FS, c, c0 + 3 * ldc + e), r31 = FloatVector.fromArray(FS, c, c0 + 3 * ldc + e + VL);
                for (int i = 0, ai = a0, xi = xOff + e; i < n; i++, ai += aCol, xi += ldx) {
                    FloatVector x0 = FloatVector.fromArray(FS, x, xi);
                    FloatVector x1 = FloatVector.fromArray(FS, x, xi + VL);
                    FloatVector w0 = FloatVector.broadcast(FS, a[ai]);
                    FloatVector w1 = FloatVector.broadcast(FS, a[ai + aRow]);
                    FloatVector w2 = FloatVector.broadcast(FS, a[ai + 2 * aRow]);
                    FloatVector w3 = FloatVector.broadcast(FS, a[ai + 3 * aRow]);
                    r00 = w0.fma(x0, r00);
                    r01 = w0.fma(x1, r01);
                    r10 = w1.fma(x0, r10);
                    r11 = w1.fma(x1, r11);
                    r20 = w2.fma(x0, r20);
                    r21 = w2.fma(x1, r21);
                    r30 = w3.fma(x0, r30);
                    r31 = w3.fma(x1, r31);
                }
                r00.intoArray(c, c0 + e);
                r01.intoArray(c, c0 + e + VL);
                r10.intoArray(c, c0 + ldc + e);
                r11.intoArray(c, c0 + ldc + e + VL);
                r20.intoArray(c, c0 + 2 * ldc + e);
                r21.intoArray(c, c0 + 2 * ldc + e + VL);
                r30.intoArray(c, c0 + 3 * ldc + e);
                r31.intoArray(c, c0 + 3 * ldc + e + VL);
            }
            if (e < dp) { // one vector left
                FloatVector r0 = FloatVector.fromArray(FS, c, c0 + e);
                FloatVector r1 = FloatVector.fromArray(FS, c, c0 + ldc + e);
                FloatVector r2 = FloatVector.fromArray(FS, c, c0 + 2 * ldc + e);
                FloatVector r3 = FloatVector.fromArray(FS, c, c0 + 3 * ldc + e);
                for (int i = 0, ai = a0, xi = xOff + e; i < n; i++, ai += aCol, xi += ldx) {
                    FloatVector x0 = FloatVector.fromArray(FS, x, xi);
                    r0 = FloatVector.broadcast(FS, a[ai]).fma(x0, r0);
                    r1 = FloatVector.broadcast(FS, a[ai + aRow]).fma(x0, r1);
                    r2 = FloatVector.broadcast(FS, a[ai + 2 * aRow]).fma(x0, r2);
                    r3 = FloatVector.broadcast(FS, a[ai + 3 * aRow]).fma(x0, r3);
                }
                r0.intoArray(c, c0 + e);
                r1.intoArray(c, c0 + ldc + e);
                r2.intoArray(c, c0 + 2 * ldc + e);
                r3.intoArray(c, c0 + 3 * ldc + e);
            }
        }
    }

    /** {@code x[off + d] *= f} for {@code d < dp} (whole vectors). */
    static void scale(float[] x, int off, int dp, float f) {
        FloatVector b = FloatVector.broadcast(FS, f);
        for (int d = 0; d < dp; d += VL) {
            FloatVector.fromArray(FS, x, off + d).mul(b).intoArray(x, off + d);
        }
    }

    // exp(x) = 2^n * e^r with n = round(x / ln 2), |r| <= ln(2)/2 (Cephes' expf: ln 2 split in two
    // parts, degree-5 polynomial, about 1 ulp)
    private static final float EXP_LO = -87.0f;
    private static final float EXP_HI = 88.0f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer in its low mantissa bits. */
    private static final float SHIFTER = 0x1.8p23f;
    private static final int SHIFTER_BITS = 0x4B400000;

    /**
     * {@code e^x} lane by lane, within about 2 ulp of the exact value, 0 for {@code x < -87}
     * (including -inf: masked scores), NaN for NaN. Only fused multiply-adds, multiplies, adds and
     * exact integer steps, so every lane gives the same bits whatever the vector width and whether
     * or not the JIT compiled it (the JDK's vector {@code EXP} may call a different library in
     * compiled code than in the interpreter). It replaces a scalar {@code Math.exp} per score,
     * which cost more than the two contractions around it.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = xc.fma(FloatVector.broadcast(FS, LOG2E), FloatVector.broadcast(FS, SHIFTER));
        FloatVector n = t.sub(SHIFTER);
        FloatVector r = n.fma(FloatVector.broadcast(FS, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(FS, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(FS, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(FS, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(FS, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(FS, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(FS, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(FS, 5.0000001201e-1f));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(SHIFTER_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        return y.mul((FloatVector) bits.reinterpretAsFloats()).blend(0f, x.lt(EXP_LO));
    }

    /**
     * Scales row {@code s[so, so+cEnd)} (whole vectors) by {@code scale}, sets the columns from
     * {@code limit} on to -inf (masked), and returns the row's maximum (at least {@code floor}).
     */
    static float scaleMaskMax(float[] s, int so, int cEnd, int limit, float scale, float floor) {
        FloatVector sc = FloatVector.broadcast(FS, scale);
        FloatVector m = FloatVector.broadcast(FS, floor);
        for (int c = 0; c < cEnd; c += VL) {
            FloatVector x = FloatVector.fromArray(FS, s, so + c).mul(sc);
            if (c + VL > limit) {
                x = x.blend(Float.NEGATIVE_INFINITY, FS.indexInRange(c, limit).not());
            }
            x.intoArray(s, so + c);
            m = m.max(x);
        }
        return m.reduceLanes(VectorOperators.MAX); // max is exact in any order
    }

    /**
     * Replaces the scaled, masked scores {@code s[so, so+cEnd)} by {@code e^(s - shift)} and
     * returns their sum, summed lane-wise in column order and then across lanes in a fixed order.
     */
    static float expShiftSum(float[] s, int so, int cEnd, float shift) {
        FloatVector b = FloatVector.broadcast(FS, shift);
        FloatVector sum = FloatVector.zero(FS);
        for (int c = 0; c < cEnd; c += VL) {
            FloatVector p = exp(FloatVector.fromArray(FS, s, so + c).sub(b));
            p.intoArray(s, so + c);
            sum = sum.add(p);
        }
        return LaneSums.sum(sum);
    }

    /** Whole vectors covering {@code n} columns. */
    private static int vectorsCovering(int n) {
        return (n + VL - 1) / VL * VL;
    }

    /**
     * The forward pass's arrays for one geometry (T positions, D features): one (batch, head)
     * slice's kᵀ and v, and one query block's rows, scores, accumulators and statistics. Made once
     * per thread and geometry and reused across runs (so a run allocates nothing); the padding
     * (rows past T, features past D, keys past T) is never written, so it stays zero.
     */
    public static final class ForwardScratch {
        /** Positions. */
        public final int t;
        /** Features per head. */
        public final int d;
        /** Row stride of the row arrays: D rounded up to whole vectors. */
        public final int dp;
        /** Row stride of the transposed arrays: T rounded up to whole key blocks. */
        public final int ldk;
        /** kᵀ of the slice: d rows of ldk floats (fill columns 0..T-1). */
        public final float[] kt;
        /** v of the slice: ldk rows of dp floats (fill rows 0..T-1, features 0..D-1). */
        public final float[] v;
        /** Staging for k's rows before they are transposed: T rows of dp floats. */
        public final float[] k;
        /** The query block's rows, BQ x dp: fill rows 0..nq-1 and zero the rest before {@link #forward}. */
        public final float[] q;
        /** The normalised output rows, BQ x dp, after {@link #forward}. */
        public final float[] out;
        final float[] s = new float[BQ * BK];
        final float[] max = new float[BQ];
        final float[] sum = new float[BQ];

        /** Zeroed arrays for T positions and D features. */
        public ForwardScratch(int t, int d) {
            this.t = t;
            this.d = d;
            this.dp = paddedDepth(d);
            this.ldk = paddedKeys(t);
            kt = new float[d * ldk];
            v = new float[ldk * dp];
            k = new float[t * dp];
            q = new float[BQ * dp];
            out = new float[BQ * dp];
        }

        /** Whether these arrays fit T positions and D features. */
        public boolean fits(int positions, int features) {
            return t == positions && d == features;
        }
    }

    /**
     * One query block of the forward pass: {@code out = softmax(q kᵀ * scale + mask) v} for the
     * block's {@code nq} rows starting at position {@code q0}, reading the keys block by block
     * with a running maximum and sum per row (the online softmax), so only a BQ x BK tile of
     * scores exists at a time. Blocks wholly above the diagonal are never visited when causal.
     *
     * <p>Reads the slice's keys and values from {@code w.kt} and {@code w.v} and the block's
     * queries from {@code w.q}; writes {@code w.out}.
     */
    public static void forward(ForwardScratch w, int q0, int nq, boolean causal, float scale) {
        int t = w.t;
        int d = w.d;
        int dp = w.dp;
        int ldk = w.ldk;
        float[] kt = w.kt;
        float[] v = w.v;
        float[] s = w.s;
        float[] out = w.out;
        Arrays.fill(w.max, 0, nq, Float.NEGATIVE_INFINITY);
        Arrays.fill(w.sum, 0, nq, 0f);
        int rows = (nq + 3) & ~3;
        Arrays.fill(out, 0, rows * dp, 0f);
        int kEnd = causal ? Math.min(t, q0 + nq) : t;
        for (int k0 = 0; k0 < kEnd; k0 += BK) {
            int nk = Math.min(BK, kEnd - k0);
            int cEnd = vectorsCovering(nk);
            tile(w.q, 0, dp, rows, kt, k0, ldk, d, s);
            for (int r = 0; r < nq; r++) {
                int limit = causal ? Math.min(nk, q0 + r - k0 + 1) : nk;
                int so = r * BK;
                if (limit <= 0) {
                    Arrays.fill(s, so, so + cEnd, 0f); // every key of this block comes after the row's position
                    continue;
                }
                float m = scaleMaskMax(s, so, cEnd, limit, scale, w.max[r]);
                float rowSum = expShiftSum(s, so, cEnd, m);
                float old = w.max[r];
                if (old != m) {
                    float alpha = (float) Math.exp(old - m); // 0 for the first block (old = -inf)
                    w.sum[r] *= alpha;
                    scale(out, r * dp, dp, alpha);
                    w.max[r] = m;
                }
                w.sum[r] += rowSum;
            }
            // rows past nq have zero queries, so their probabilities are the raw zero scores: they add nothing
            accumulate(out, 0, dp, rows, s, 0, BK, 1, nk, v, k0 * dp, dp, dp);
        }
        for (int r = 0; r < nq; r++) {
            float l = w.sum[r];
            int o = r * dp;
            for (int c = 0; c < d; c++) {
                out[o + c] /= l;
            }
        }
    }

    /**
     * Each row's log-sum-exp of its scaled, masked scores, {@code max + log(sum exp(s - max))},
     * computed blockwise exactly as the forward pass does: the backward pass recomputes it
     * rather than receiving it from the forward (see the gradient rule).
     *
     * @param q  q, one row of dp floats per position, at least {@link #paddedQueries} rows
     * @param kt kᵀ, d rows of {@code ldk} floats
     * @param s  a BQ x BK scratch tile
     * @param sums BQ floats of scratch
     * @param lse receives T values
     */
    public static void logSumExp(float[] q, int t, int d, int dp, float[] kt, int ldk, boolean causal, float scale, float[] s,
                                 float[] sums, float[] lse) {
        int blocks = (t + BQ - 1) / BQ;
        for (int qb = 0; qb < blocks; qb++) {
            int q0 = qb * BQ;
            int nq = Math.min(BQ, t - q0);
            int rows = (nq + 3) & ~3;
            int kEnd = keyEnd(t, qb, causal);
            Arrays.fill(lse, q0, q0 + nq, Float.NEGATIVE_INFINITY);
            Arrays.fill(sums, 0, nq, 0f);
            for (int k0 = 0; k0 < kEnd; k0 += BK) {
                int nk = Math.min(BK, kEnd - k0);
                tile(q, q0 * dp, dp, rows, kt, k0, ldk, d, s);
                for (int r = 0; r < nq; r++) {
                    int limit = causal ? Math.min(nk, q0 + r - k0 + 1) : nk;
                    if (limit <= 0) {
                        continue;
                    }
                    int so = r * BK;
                    int cEnd = vectorsCovering(limit);
                    float m = scaleMaskMax(s, so, cEnd, limit, scale, lse[q0 + r]);
                    float rowSum = expShiftSum(s, so, cEnd, m);
                    float old = lse[q0 + r];
                    if (old != m) {
                        sums[r] *= (float) Math.exp(old - m);
                        lse[q0 + r] = m;
                    }
                    sums[r] += rowSum;
                }
            }
            for (int r = 0; r < nq; r++) {
                lse[q0 + r] += (float) Math.log(sums[r]);
            }
        }
    }

    /**
     * The backward pass's arrays for one geometry (T positions, D features): one (batch, head)
     * slice's operands as float rows and transposes, the dk and dv accumulators, and one query
     * block's tiles. Made once per thread and geometry and reused; padding stays zero.
     */
    public static final class BackwardScratch {
        /** Positions. */
        public final int t;
        /** Features per head. */
        public final int d;
        /** Row stride of the row arrays: D rounded up to whole vectors. */
        public final int dp;
        /** Row stride of the transposed arrays: T rounded up to whole key blocks. */
        public final int ldk;
        /** q rows ({@link #paddedQueries} rows of dp; fill rows 0..T-1). */
        public final float[] q;
        /** Output-gradient rows ({@link #paddedQueries} rows of dp; fill rows 0..T-1). */
        public final float[] dOut;
        /** k rows (ldk rows of dp; fill rows 0..T-1). */
        public final float[] k;
        /** kᵀ, d rows of ldk (fill columns 0..T-1). */
        public final float[] kt;
        /** Staging for v's rows before they are transposed: T rows of dp. */
        public final float[] v;
        /** vᵀ, d rows of ldk (fill columns 0..T-1). */
        public final float[] vt;
        /** dk rows (ldk rows of dp), after {@link #backward}. */
        public final float[] dk;
        /** dv rows (ldk rows of dp), after {@link #backward}. */
        public final float[] dv;
        /** Row terms {@code sum_d dOut[i][d] * out[i][d]}, T of them: fill them before {@link #backward}. */
        public final float[] delta;
        /** One query block's dq rows (BQ x dp), valid during {@link QueryBlockSink#accept}. */
        public final float[] dq;
        /** A row of D floats for the caller's conversions. */
        public final float[] row;
        final float[] p = new float[BQ * BK];
        final float[] ds = new float[BQ * BK];
        final float[] sums = new float[BQ];
        final float[] lse;

        /** Zeroed arrays for T positions and D features. */
        public BackwardScratch(int t, int d) {
            this.t = t;
            this.d = d;
            this.dp = paddedDepth(d);
            this.ldk = paddedKeys(t);
            int tq = paddedQueries(t);
            q = new float[tq * dp];
            dOut = new float[tq * dp];
            k = new float[ldk * dp];
            kt = new float[d * ldk];
            v = new float[t * dp];
            vt = new float[d * ldk];
            dk = new float[ldk * dp];
            dv = new float[ldk * dp];
            delta = new float[t];
            dq = new float[BQ * dp];
            row = new float[d];
            lse = new float[t];
        }

        /** Whether these arrays fit T positions and D features. */
        public boolean fits(int positions, int features) {
            return t == positions && d == features;
        }
    }

    /** Receives each query block's finished dq rows (in {@link BackwardScratch#dq}). */
    @FunctionalInterface
    public interface QueryBlockSink {
        /** Rows {@code q0 .. q0+nq-1} of dq are ready. */
        void accept(int q0, int nq);
    }

    /**
     * The whole backward pass of one (batch, head) slice: recomputes each row's log-sum-exp, then
     * for each query block and each key block it may see recomputes the probabilities
     * {@code p = exp(s * scale - lse)}, {@code dp = dOut vᵀ} and {@code ds = p (dp - delta) * scale},
     * and accumulates {@code dv += pᵀ dOut}, {@code dk += dsᵀ q} and {@code dq += ds k}. dk and dv
     * accumulate over query blocks in order, so the sums have a fixed order.
     *
     * <p>Reads q, k, kᵀ, vᵀ, dOut and delta from {@code w}; leaves dk and dv in {@code w.dk} and
     * {@code w.dv} (zeroed here first).
     *
     * @param sink receives each finished query block of dq
     */
    public static void backward(BackwardScratch w, boolean causal, float scale, QueryBlockSink sink) {
        int t = w.t;
        int d = w.d;
        int dp = w.dp;
        int ldk = w.ldk;
        float[] q = w.q;
        float[] k = w.k;
        float[] kt = w.kt;
        float[] vt = w.vt;
        float[] dOut = w.dOut;
        float[] dk = w.dk;
        float[] dv = w.dv;
        Arrays.fill(dk, 0f);
        Arrays.fill(dv, 0f);
        logSumExp(q, t, d, dp, kt, ldk, causal, scale, w.p, w.sums, w.lse);
        float[] p = w.p;
        float[] ds = w.ds;
        float[] dq = w.dq;
        int blocks = (t + BQ - 1) / BQ;
        for (int qb = 0; qb < blocks; qb++) {
            int q0 = qb * BQ;
            int nq = Math.min(BQ, t - q0);
            int rows = (nq + 3) & ~3;
            int kEnd = keyEnd(t, qb, causal);
            Arrays.fill(dq, 0f);
            for (int k0 = 0; k0 < kEnd; k0 += BK) {
                int nk = Math.min(BK, kEnd - k0);
                tile(q, q0 * dp, dp, rows, kt, k0, ldk, d, p);
                tile(dOut, q0 * dp, dp, rows, vt, k0, ldk, d, ds);
                int cEnd = vectorsCovering(nk);
                FloatVector sc = FloatVector.broadcast(FS, scale);
                for (int r = 0; r < nq; r++) {
                    int limit = causal ? Math.max(0, Math.min(nk, q0 + r - k0 + 1)) : nk;
                    int o = r * BK;
                    FloatVector l = FloatVector.broadcast(FS, w.lse[q0 + r]);
                    FloatVector dl = FloatVector.broadcast(FS, w.delta[q0 + r]);
                    for (int c = 0; c < cEnd; c += VL) {
                        FloatVector x = FloatVector.fromArray(FS, p, o + c).mul(sc);
                        if (c + VL > limit) {
                            x = x.blend(Float.NEGATIVE_INFINITY, FS.indexInRange(c, limit).not());
                        }
                        FloatVector pr = exp(x.sub(l)); // 0 where masked
                        pr.intoArray(p, o + c);
                        pr.mul(FloatVector.fromArray(FS, ds, o + c).sub(dl)).mul(sc).intoArray(ds, o + c);
                    }
                }
                // columns past nk (up to a multiple of 4) are masked to zero above, and rows past nq
                // hold zero queries and output gradients: they add nothing
                int cols = (nk + 3) & ~3;
                accumulate(dv, k0 * dp, dp, cols, p, 0, 1, BK, nq, dOut, q0 * dp, dp, dp);
                accumulate(dk, k0 * dp, dp, cols, ds, 0, 1, BK, nq, q, q0 * dp, dp, dp);
                accumulate(dq, 0, dp, rows, ds, 0, BK, 1, nk, k, k0 * dp, dp, dp);
            }
            sink.accept(q0, nq);
        }
    }
}
