package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * LAYER_NORM, LAYER_NORM_GRAD and LAYER_NORM_WEIGHT_GRAD on the CPU, one pass per row of the
 * normalized (trailing) axes: the row is read once into a per-thread double array (every dtype
 * widens exactly), its mean and biased variance are computed in double in index order (two
 * passes over the array, so no cancellation), and each output is rounded once to its dtype. The
 * backward kernels recompute a row's statistics the same way, so the forward keeps nothing.
 *
 * <ul>
 *   <li>forward: {@code y = (x - mean) * rstd * weight + bias}, {@code rstd = 1 / sqrt(var + eps)};</li>
 *   <li>input gradient: {@code dx = rstd * (g - mean(g) - xhat * mean(g * xhat))}, {@code g = dy * weight};</li>
 *   <li>weight gradient: {@code sum over rows of dy * xhat}: rows in fixed blocks of
 *       {@value #WEIGHT_ROW_BLOCK}, each block's partial sums computed on one thread, then the
 *       blocks added in order.</li>
 * </ul>
 * Rows (and row blocks) have fixed boundaries and fixed summation orders, so results do not
 * depend on the thread count. Inputs may have different floating dtypes (a weight gradient reads
 * half x and dy into a float32 output under mixed precision).
 */
final class CpuLayerNorm {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    /** Elements per parallel chunk, at least. */
    private static final int GRAIN_ELEMENTS = 1 << 14;
    /** Rows per partial sum of the weight gradient (fixed, so the sums do not depend on the threads). */
    static final int WEIGHT_ROW_BLOCK = 32;

    private CpuLayerNorm() {
    }

    /** Per-thread rows: x, dy and a third for widening, grown as needed. */
    private static final ThreadLocal<Scratch> SCRATCH = new ThreadLocal<>();

    private static final class Scratch {
        final double[] x;
        final double[] dy;
        final float[] f;

        Scratch(int d) {
            x = new double[d];
            dy = new double[d];
            f = new float[d];
        }
    }

    private static Scratch scratch(int d) {
        Scratch s = SCRATCH.get();
        if (s == null || s.x.length < d) {
            s = new Scratch(d);
            SCRATCH.set(s);
        }
        return s;
    }

    static Kernel prepare(Node node, int[] in, int out) {
        OpAttrs.LayerNorm p = node.attrs(OpAttrs.LayerNorm.class);
        int[] dims = node.input(0).shape().dims();
        int d = 1;
        for (int i = dims.length - p.axes(); i < dims.length; i++) {
            d *= dims[i];
        }
        int rows = (int) (node.input(0).shape().numel() / d);
        for (var v : node.inputs()) {
            if (!v.dtype().isFloating()) {
                throw new UnsupportedOperationException("cpu backend runs " + node.op().printName() + " on floating operands, got " + node);
            }
        }
        DType[] types = node.inputs().stream().map(v -> v.dtype()).toArray(DType[]::new);
        DType ot = node.output().dtype();
        int grain = Math.max(1, GRAIN_ELEMENTS / d);
        int width = d;
        double eps = p.eps();
        return switch (node.op()) {
            case LAYER_NORM -> slots -> {
                MemorySegment x = CpuElements.seg(slots, in[0]);
                MemorySegment o = CpuElements.seg(slots, out);
                double[] w = p.weight() ? readAll(CpuElements.seg(slots, in[1]), types[1], width) : null;
                double[] b = p.bias() ? readAll(CpuElements.seg(slots, in[p.weight() ? 2 : 1]), types[p.weight() ? 2 : 1], width) : null;
                CpuParallel.parallelFor(0, rows, grain, (from, to) -> {
                    Scratch s = scratch(width);
                    for (int r = from; r < to; r++) {
                        long base = (long) r * width;
                        read(x, types[0], base, width, s.x, s.f);
                        double[] stats = statistics(s.x, width, eps);
                        for (int k = 0; k < width; k++) {
                            double y = (s.x[k] - stats[0]) * stats[1];
                            if (w != null) {
                                y *= w[k];
                            }
                            if (b != null) {
                                y += b[k];
                            }
                            s.dy[k] = y;
                        }
                        write(s.dy, width, o, ot, base, s.f);
                    }
                });
            };
            case LAYER_NORM_GRAD -> slots -> {
                MemorySegment x = CpuElements.seg(slots, in[0]);
                double[] w = p.weight() ? readAll(CpuElements.seg(slots, in[1]), types[1], width) : null;
                int dyIndex = p.weight() ? 2 : 1;
                MemorySegment dy = CpuElements.seg(slots, in[dyIndex]);
                MemorySegment o = CpuElements.seg(slots, out);
                CpuParallel.parallelFor(0, rows, grain, (from, to) -> {
                    Scratch s = scratch(width);
                    for (int r = from; r < to; r++) {
                        long base = (long) r * width;
                        read(x, types[0], base, width, s.x, s.f);
                        read(dy, types[dyIndex], base, width, s.dy, s.f);
                        double[] stats = statistics(s.x, width, eps);
                        double mean = stats[0];
                        double rstd = stats[1];
                        double sumG = 0;
                        double sumGx = 0;
                        for (int k = 0; k < width; k++) {
                            double g = w == null ? s.dy[k] : s.dy[k] * w[k];
                            double xhat = (s.x[k] - mean) * rstd;
                            s.dy[k] = g;
                            s.x[k] = xhat;
                            sumG += g;
                            sumGx += g * xhat;
                        }
                        double meanG = sumG / width;
                        double meanGx = sumGx / width;
                        for (int k = 0; k < width; k++) {
                            s.dy[k] = rstd * (s.dy[k] - meanG - s.x[k] * meanGx);
                        }
                        write(s.dy, width, o, ot, base, s.f);
                    }
                });
            };
            case LAYER_NORM_WEIGHT_GRAD -> slots -> {
                MemorySegment x = CpuElements.seg(slots, in[0]);
                MemorySegment dy = CpuElements.seg(slots, in[1]);
                MemorySegment o = CpuElements.seg(slots, out);
                int blocks = (rows + WEIGHT_ROW_BLOCK - 1) / WEIGHT_ROW_BLOCK;
                double[] partial = new double[Math.multiplyExact(blocks, width)];
                CpuParallel.parallelFor(0, blocks, Math.max(1, grain / WEIGHT_ROW_BLOCK), (from, to) -> {
                    Scratch s = scratch(width);
                    for (int blk = from; blk < to; blk++) {
                        int at = blk * width;
                        for (int r = blk * WEIGHT_ROW_BLOCK; r < Math.min(rows, (blk + 1) * WEIGHT_ROW_BLOCK); r++) {
                            long base = (long) r * width;
                            read(x, types[0], base, width, s.x, s.f);
                            read(dy, types[1], base, width, s.dy, s.f);
                            double[] stats = statistics(s.x, width, eps);
                            for (int k = 0; k < width; k++) {
                                partial[at + k] += s.dy[k] * ((s.x[k] - stats[0]) * stats[1]);
                            }
                        }
                    }
                });
                double[] sum = new double[width];
                for (int blk = 0; blk < blocks; blk++) {
                    for (int k = 0; k < width; k++) {
                        sum[k] += partial[blk * width + k];
                    }
                }
                write(sum, width, o, ot, 0, new float[width]);
            };
            default -> throw new IllegalArgumentException("not a layer norm op: " + node);
        };
    }

    /** {mean, 1/sqrt(biased variance + eps)} of the first d values, in double, in index order. */
    private static double[] statistics(double[] x, int d, double eps) {
        double sum = 0;
        for (int k = 0; k < d; k++) {
            sum += x[k];
        }
        double mean = sum / d;
        double sq = 0;
        for (int k = 0; k < d; k++) {
            double c = x[k] - mean;
            sq += c * c;
        }
        return new double[] {mean, 1 / Math.sqrt(sq / d + eps)};
    }

    private static double[] readAll(MemorySegment s, DType t, int d) {
        double[] out = new double[d];
        read(s, t, 0, d, out, new float[d]);
        return out;
    }

    /** Elements {@code from..from+d-1} of {@code s} widened into {@code dst} ({@code f} is scratch). */
    private static void read(MemorySegment s, DType t, long from, int d, double[] dst, float[] f) {
        switch (t) {
            case F64 -> MemorySegment.copy(s, D, from * Double.BYTES, dst, 0, d);
            case F32 -> {
                MemorySegment.copy(s, F, from * Float.BYTES, f, 0, d);
                for (int k = 0; k < d; k++) {
                    dst[k] = f[k];
                }
            }
            default -> {
                CpuHalf.widen(t, s, from, f, 0, d);
                for (int k = 0; k < d; k++) {
                    dst[k] = f[k];
                }
            }
        }
    }

    /** The first d values of {@code src} stored at element {@code to} of {@code s}, rounded once to t (through float for the half types). */
    private static void write(double[] src, int d, MemorySegment s, DType t, long to, float[] f) {
        if (t == DType.F64) {
            MemorySegment.copy(src, 0, s, D, to * Double.BYTES, d);
            return;
        }
        for (int k = 0; k < d; k++) {
            f[k] = (float) src[k];
        }
        if (t == DType.F32) {
            MemorySegment.copy(f, 0, s, F, to * Float.BYTES, d);
        } else {
            CpuHalf.narrow(t, f, 0, d, s, to);
        }
    }
}
