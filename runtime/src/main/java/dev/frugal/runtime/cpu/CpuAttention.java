package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.cpu.kernels.FlashAttention;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ATTENTION and ATTENTION_GRAD on the CPU, FlashAttention-style: the softmax is computed in
 * float32 blockwise with a running maximum and sum per row, so no T x T matrix exists, only one
 * query block's tile of scores per thread.
 *
 * <p>F32, F16 and BF16 run the float32 kernels of {@link FlashAttention}: each (batch, head)
 * slice is read into per-thread heap arrays (half types widened exactly; the arrays are kept per
 * thread and geometry, so a step allocates nothing), computed in float32 and rounded once on
 * store. The forward pass runs in parallel over (batch, head, query block); the backward
 * pass over (batch, head), since each slice's dk and dv sum over all its query blocks and are
 * summed in query order on one thread. Block sizes are fixed, so the results are bit-identical
 * on any number of threads. When causal, key blocks above the diagonal are skipped.
 *
 * <p>F64 (the reference for finite-difference checks) runs a plain scalar version of the same
 * algorithm in double, one row at a time over key blocks of {@value #F64_KEY_BLOCK}, so that
 * even the small shapes of a gradient check go through several blocks and the online rescaling.
 */
final class CpuAttention {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    /** Keys per block of the float64 path: small, so gradient checks on tiny shapes cross blocks. */
    static final int F64_KEY_BLOCK = 3;

    private CpuAttention() {
    }

    static Kernel prepare(Node node, int[] in, int out) {
        OpAttrs.Attention attrs = node.attrs(OpAttrs.Attention.class);
        int[] dims = node.input(0).shape().dims();
        DType t = node.input(0).dtype();
        if (!t.isFloating() || node.output().dtype() != t) {
            throw new UnsupportedOperationException("cpu backend runs " + node.op().printName() + " on one floating dtype, got " + node);
        }
        Geometry g = new Geometry(dims[0] * dims[1], dims[2], dims[3], attrs.causal(), attrs.scale(), t);
        boolean forward = node.op() == Op.ATTENTION;
        return slots -> {
            if (forward) {
                MemorySegment o = CpuElements.seg(slots, out);
                MemorySegment q = CpuElements.seg(slots, in[0]);
                MemorySegment k = CpuElements.seg(slots, in[1]);
                MemorySegment v = CpuElements.seg(slots, in[2]);
                if (t == DType.F64) {
                    forward64(g, q, k, v, o);
                } else {
                    forward32(g, q, k, v, o);
                }
            } else {
                MemorySegment grads = CpuElements.seg(slots, out);
                MemorySegment q = CpuElements.seg(slots, in[0]);
                MemorySegment k = CpuElements.seg(slots, in[1]);
                MemorySegment v = CpuElements.seg(slots, in[2]);
                MemorySegment o = CpuElements.seg(slots, in[3]);
                MemorySegment dOut = CpuElements.seg(slots, in[4]);
                if (t == DType.F64) {
                    backward64(g, q, k, v, o, dOut, grads);
                } else {
                    backward32(g, q, k, v, o, dOut, grads);
                }
            }
        };
    }

    /**
     * The problem: {@code slices} = B*H independent (batch, head) slices of t positions and d
     * features, stored contiguously (slice i's rows start at element {@code i*t*d}).
     */
    private record Geometry(int slices, int t, int d, boolean causal, double scale, DType dtype) {
        long sliceElements() {
            return (long) t * d;
        }

        /** Elements of one of dq, dk, dv in the packed gradient. */
        long gradientElements() {
            return slices * sliceElements();
        }
    }

    // ================================================================ float32 (F32, F16, BF16)

    /**
     * Each pool thread keeps its float arrays for the geometry it last ran (as {@code Gemm} keeps
     * its packing buffers), so steady-state training allocates nothing per step; a new T or D
     * replaces them. A chunk of a parallel loop runs to the end on its thread before the thread
     * takes another, so no two chunks share them.
     */
    private static final ThreadLocal<FlashAttention.ForwardScratch> FORWARD = new ThreadLocal<>();
    private static final ThreadLocal<FlashAttention.BackwardScratch> BACKWARD = new ThreadLocal<>();

    private static FlashAttention.ForwardScratch forwardScratch(int t, int d) {
        FlashAttention.ForwardScratch w = FORWARD.get();
        if (w == null || !w.fits(t, d)) {
            w = new FlashAttention.ForwardScratch(t, d);
            FORWARD.set(w);
        }
        return w;
    }

    private static FlashAttention.BackwardScratch backwardScratch(int t, int d) {
        FlashAttention.BackwardScratch w = BACKWARD.get();
        if (w == null || !w.fits(t, d)) {
            w = new FlashAttention.BackwardScratch(t, d);
            BACKWARD.set(w);
        }
        return w;
    }

    private static void forward32(Geometry g, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out) {
        int t = g.t();
        int d = g.d();
        int blocks = (t + FlashAttention.BQ - 1) / FlashAttention.BQ;
        float scale = (float) g.scale();
        DType dt = g.dtype();
        CpuParallel.parallelFor(0, Math.multiplyExact(g.slices(), blocks), 1, (from, to) -> {
            FlashAttention.ForwardScratch w = forwardScratch(t, d);
            int dp = w.dp;
            int loaded = -1;
            for (int u = from; u < to; u++) {
                int slice = u / blocks;
                int q0 = (u % blocks) * FlashAttention.BQ;
                int nq = Math.min(FlashAttention.BQ, t - q0);
                long base = slice * g.sliceElements();
                if (slice != loaded) {
                    loadRows(dt, k, base, t, d, w.k, dp);
                    transpose(w.k, t, d, dp, w.kt, w.ldk);
                    loadRows(dt, v, base, t, d, w.v, dp);
                    loaded = slice;
                }
                loadRows(dt, q, base + (long) q0 * d, nq, d, w.q, dp);
                java.util.Arrays.fill(w.q, nq * dp, w.q.length, 0f); // rows past the block's end enter the 4-row tiles
                FlashAttention.forward(w, q0, nq, g.causal(), scale);
                storeRows(dt, w.out, nq, d, dp, out, base + (long) q0 * d);
            }
        });
    }

    private static void backward32(Geometry g, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                                   MemorySegment dOut, MemorySegment grads) {
        int t = g.t();
        int d = g.d();
        float scale = (float) g.scale();
        DType dt = g.dtype();
        CpuParallel.parallelFor(0, g.slices(), 1, (from, to) -> {
            FlashAttention.BackwardScratch w = backwardScratch(t, d);
            int dp = w.dp;
            for (int slice = from; slice < to; slice++) {
                long base = slice * g.sliceElements();
                loadRows(dt, q, base, t, d, w.q, dp);
                loadRows(dt, dOut, base, t, d, w.dOut, dp);
                loadRows(dt, k, base, t, d, w.k, dp);
                transpose(w.k, t, d, dp, w.kt, w.ldk);
                loadRows(dt, v, base, t, d, w.v, dp);
                transpose(w.v, t, d, dp, w.vt, w.ldk);
                for (int i = 0; i < t; i++) {
                    // delta_i = dOut_i · out_i = sum_j p_ij dp_ij, the softmax gradient's row term
                    loadRow(dt, out, base + (long) i * d, d, w.row);
                    float s = 0f;
                    for (int c = 0; c < d; c++) {
                        s += w.dOut[i * dp + c] * w.row[c];
                    }
                    w.delta[i] = s;
                }
                FlashAttention.backward(w, g.causal(), scale, (q0, nq) -> storeRows(dt, w.dq, nq, d, dp, grads, base + (long) q0 * d));
                storeRows(dt, w.dk, t, d, dp, grads, g.gradientElements() + base);
                storeRows(dt, w.dv, t, d, dp, grads, 2 * g.gradientElements() + base);
            }
        });
    }

    /** Reads {@code n} rows of d elements from element {@code from} into {@code dst} as float rows of stride dp. */
    private static void loadRows(DType t, MemorySegment src, long from, int n, int d, float[] dst, int dp) {
        for (int r = 0; r < n; r++) {
            long at = from + (long) r * d;
            if (t == DType.F32) {
                MemorySegment.copy(src, F, at * Float.BYTES, dst, r * dp, d);
            } else {
                CpuHalf.widen(t, src, at, dst, r * dp, d);
            }
        }
    }

    private static void loadRow(DType t, MemorySegment src, long from, int d, float[] dst) {
        if (t == DType.F32) {
            MemorySegment.copy(src, F, from * Float.BYTES, dst, 0, d);
        } else {
            CpuHalf.widen(t, src, from, dst, 0, d);
        }
    }

    /**
     * Transposes the first n float rows of {@code rows} (stride dp) into {@code dst} (d rows of
     * stride ld), 16 rows at a time so that the reads stay in a few cache lines and each write
     * fills one.
     */
    private static void transpose(float[] rows, int n, int d, int dp, float[] dst, int ld) {
        for (int j0 = 0; j0 < n; j0 += 16) {
            int j1 = Math.min(n, j0 + 16);
            for (int c = 0; c < d; c++) {
                int o = c * ld;
                for (int j = j0; j < j1; j++) {
                    dst[o + j] = rows[j * dp + c];
                }
            }
        }
    }

    /** Stores the first d floats of {@code n} rows of stride dp from {@code src} at element {@code to}, rounding half types once. */
    private static void storeRows(DType t, float[] src, int n, int d, int dp, MemorySegment dst, long to) {
        for (int r = 0; r < n; r++) {
            long at = to + (long) r * d;
            if (t == DType.F32) {
                MemorySegment.copy(src, r * dp, dst, F, at * Float.BYTES, d);
            } else {
                CpuHalf.narrow(t, src, r * dp, d, dst, at);
            }
        }
    }

    // ================================================================ float64 reference path

    private static void forward64(Geometry g, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out) {
        int t = g.t();
        int d = g.d();
        CpuParallel.parallelFor(0, g.slices(), 1, (from, to) -> {
            double[] acc = new double[d];
            double[] s = new double[F64_KEY_BLOCK];
            for (int slice = from; slice < to; slice++) {
                long base = slice * g.sliceElements();
                for (int i = 0; i < t; i++) {
                    java.util.Arrays.fill(acc, 0);
                    double[] ml = rowStatistics64(g, q, k, base, i, s, acc, v);
                    for (int c = 0; c < d; c++) {
                        out.setAtIndex(D, base + (long) i * d + c, acc[c] / ml[1]);
                    }
                }
            }
        });
    }

    /**
     * Row i's running maximum and sum over its key blocks, {max, sum}; when {@code v} is given,
     * also accumulates {@code sum_j exp(s_j - max) v_j} into {@code acc} (rescaled as the maximum
     * moves), which is the unnormalised output row.
     */
    private static double[] rowStatistics64(Geometry g, MemorySegment q, MemorySegment k, long base, int i, double[] s,
                                            double[] acc, MemorySegment v) {
        int t = g.t();
        int d = g.d();
        int kEnd = g.causal() ? i + 1 : t;
        double m = Double.NEGATIVE_INFINITY;
        double l = 0;
        for (int k0 = 0; k0 < kEnd; k0 += F64_KEY_BLOCK) {
            int nk = Math.min(F64_KEY_BLOCK, kEnd - k0);
            double mx = m;
            for (int c = 0; c < nk; c++) {
                s[c] = g.scale() * dot64(q, base + (long) i * d, k, base + (long) (k0 + c) * d, d);
                mx = Math.max(mx, s[c]);
            }
            double alpha = Math.exp(m - mx);
            l *= alpha;
            if (v != null) {
                for (int c = 0; c < d; c++) {
                    acc[c] *= alpha;
                }
            }
            for (int c = 0; c < nk; c++) {
                double p = Math.exp(s[c] - mx);
                l += p;
                if (v != null) {
                    long vr = base + (long) (k0 + c) * d;
                    for (int e = 0; e < d; e++) {
                        acc[e] += p * v.getAtIndex(D, vr + e);
                    }
                }
            }
            m = mx;
        }
        return new double[] {m, l};
    }

    private static double dot64(MemorySegment a, long ao, MemorySegment b, long bo, int d) {
        double s = 0;
        for (int c = 0; c < d; c++) {
            s += a.getAtIndex(D, ao + c) * b.getAtIndex(D, bo + c);
        }
        return s;
    }

    private static void backward64(Geometry g, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                                   MemorySegment dOut, MemorySegment grads) {
        int t = g.t();
        int d = g.d();
        double scale = g.scale();
        CpuParallel.parallelFor(0, g.slices(), 1, (from, to) -> {
            double[] dk = new double[t * d];
            double[] dv = new double[t * d];
            double[] dq = new double[d];
            double[] s = new double[F64_KEY_BLOCK];
            for (int slice = from; slice < to; slice++) {
                long base = slice * g.sliceElements();
                java.util.Arrays.fill(dk, 0);
                java.util.Arrays.fill(dv, 0);
                for (int i = 0; i < t; i++) {
                    double[] ml = rowStatistics64(g, q, k, base, i, s, null, null);
                    double lse = ml[0] + Math.log(ml[1]);
                    long qi = base + (long) i * d;
                    double delta = dot64(dOut, qi, out, qi, d);
                    java.util.Arrays.fill(dq, 0);
                    int kEnd = g.causal() ? i + 1 : t;
                    for (int j = 0; j < kEnd; j++) {
                        long kj = base + (long) j * d;
                        double p = Math.exp(scale * dot64(q, qi, k, kj, d) - lse);
                        double ds = p * (dot64(dOut, qi, v, kj, d) - delta) * scale;
                        for (int c = 0; c < d; c++) {
                            dq[c] += ds * k.getAtIndex(D, kj + c);
                            dk[j * d + c] += ds * q.getAtIndex(D, qi + c);
                            dv[j * d + c] += p * dOut.getAtIndex(D, qi + c);
                        }
                    }
                    for (int c = 0; c < d; c++) {
                        grads.setAtIndex(D, qi + c, dq[c]);
                    }
                }
                for (int e = 0; e < t * d; e++) {
                    grads.setAtIndex(D, g.gradientElements() + base + e, dk[e]);
                    grads.setAtIndex(D, 2 * g.gradientElements() + base + e, dv[e]);
                }
            }
        });
    }
}
