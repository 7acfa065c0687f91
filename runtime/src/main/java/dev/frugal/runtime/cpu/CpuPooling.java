package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Max and average pooling over NCHW windows, and their gradients, parallel over (image, channel)
 * planes. Padding never wins a max (it counts as -infinity); the first maximum of a window wins
 * ties and receives the whole gradient (NaN counts as the maximum). Average pooling divides by the
 * window size when {@code countIncludePad}, else by the number of in-bounds elements.
 *
 * <p>Dtypes: F32, F16 and BF16 run {@link PlaneKernel}, in float32 on heap copies of each plane
 * (half planes widened exactly on the way in and rounded to nearest even once on the way out,
 * so a half result is the rounded F32 result of the widened input, bit for bit; a gradient that
 * several overlapping windows add into is summed in float32 before that one rounding). F64 uses
 * a generic loop over the segments in double.
 */
final class CpuPooling {
    private CpuPooling() {
    }

    static Kernel prepare(Node node, int[] in, int out) {
        OpAttrs.Pool2d p = node.attrs(OpAttrs.Pool2d.class);
        DType t = node.output().dtype();
        Op op = node.op();
        int[] xs = (op == Op.MAX_POOL2D || op == Op.AVG_POOL2D || op == Op.MAX_POOL2D_GRAD ? node.input(0) : node.output()).shape().dims();
        int planes = xs[0] * xs[1];
        int h = xs[2];
        int w = xs[3];
        int oh = (h + 2 * p.padH() - p.kernelH()) / p.strideH() + 1;
        int ow = (w + 2 * p.padW() - p.kernelW()) / p.strideW() + 1;
        if (t == DType.F32 || CpuHalf.isHalf(t)) {
            return new PlaneKernel(op, t, p, in, out, planes, h, w, oh, ow);
        }
        return new Kernel() {
            @Override
            public void run(Buffer[] slots) {
                MemorySegment a = CpuElements.seg(slots, in[0]);
                MemorySegment b = in.length > 1 ? CpuElements.seg(slots, in[1]) : null;
                MemorySegment o = CpuElements.seg(slots, out);
                CpuParallel.parallelFor(0, planes, 1, (from, to) -> {
                    for (int pl = from; pl < to; pl++) {
                        long xBase = (long) pl * h * w;
                        long yBase = (long) pl * oh * ow;
                        if (op == Op.MAX_POOL2D_GRAD || op == Op.AVG_POOL2D_GRAD) {
                            for (long i = 0; i < (long) h * w; i++) {
                                CpuElements.store(o, t, xBase + i, 0.0);
                            }
                        }
                        for (int oy = 0; oy < oh; oy++) {
                            for (int ox = 0; ox < ow; ox++) {
                                int y0 = oy * p.strideH() - p.padH();
                                int x0 = ox * p.strideW() - p.padW();
                                int y1 = Math.min(y0 + p.kernelH(), h);
                                int x1 = Math.min(x0 + p.kernelW(), w);
                                int ys = Math.max(y0, 0);
                                int xs0 = Math.max(x0, 0);
                                long yi = yBase + (long) oy * ow + ox;
                                switch (op) {
                                    case MAX_POOL2D -> CpuElements.store(o, t, yi, CpuElements.load(a, t, xBase + argmax(t, a, xBase, w, ys, y1, xs0, x1)));
                                    case MAX_POOL2D_GRAD -> {
                                        long at = xBase + argmax(t, a, xBase, w, ys, y1, xs0, x1);
                                        CpuElements.store(o, t, at, CpuElements.load(o, t, at) + CpuElements.load(b, t, yi));
                                    }
                                    case AVG_POOL2D, AVG_POOL2D_GRAD -> {
                                        int count = p.countIncludePad() ? p.kernelH() * p.kernelW() : (y1 - ys) * (x1 - xs0);
                                        if (op == Op.AVG_POOL2D) {
                                            double acc = 0;
                                            for (int iy = ys; iy < y1; iy++) {
                                                for (int ix = xs0; ix < x1; ix++) {
                                                    acc += CpuElements.load(a, t, xBase + (long) iy * w + ix);
                                                }
                                            }
                                            CpuElements.store(o, t, yi, acc / count);
                                        } else {
                                            double g = CpuElements.load(a, t, yi) / count;
                                            for (int iy = ys; iy < y1; iy++) {
                                                for (int ix = xs0; ix < x1; ix++) {
                                                    long at = xBase + (long) iy * w + ix;
                                                    CpuElements.store(o, t, at, CpuElements.load(o, t, at) + g);
                                                }
                                            }
                                        }
                                    }
                                    default -> throw new IllegalStateException("not a pooling op: " + op);
                                }
                            }
                        }
                    }
                });
            }
        };
    }

    /**
     * The float32 path: each task copies its planes into heap float arrays (F32 as is, F16/BF16
     * widened exactly), pools there (no per-element segment checks or dtype dispatch) and copies
     * the result back (rounded to nearest even for F16/BF16). Arithmetic and tie-breaking are
     * those of the generic loop, so for F32 both give identical bits.
     */
    private record PlaneKernel(Op op, DType t, OpAttrs.Pool2d p, int[] in, int out, int planes, int h, int w, int oh, int ow)
            implements Kernel {
        private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
        private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
        private static final int VL = FS.length();
        /** Even lanes of two concatenated vectors (indices past the first vector select from the second). */
        private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(FS, i -> 2 * i);
        /** Odd lanes of two concatenated vectors. */
        private static final VectorShuffle<Float> ODD = VectorShuffle.fromOp(FS, i -> 2 * i + 1);
        /** Interleaves the first halves of two vectors (a0 b0 a1 b1 ...): the inverse of EVEN/ODD, low part. */
        private static final VectorShuffle<Float> ZIP_LO = VectorShuffle.fromOp(FS, i -> (i % 2 == 0 ? 0 : VL) + i / 2);
        /** Interleaves the second halves of two vectors: the high part. */
        private static final VectorShuffle<Float> ZIP_HI = VectorShuffle.fromOp(FS, i -> (i % 2 == 0 ? 0 : VL) + VL / 2 + i / 2);

        @Override
        public void run(Buffer[] slots) {
            MemorySegment a = CpuElements.seg(slots, in[0]);
            MemorySegment b = in.length > 1 ? CpuElements.seg(slots, in[1]) : null;
            MemorySegment o = CpuElements.seg(slots, out);
            int hw = h * w;
            int ohw = oh * ow;
            boolean grad = op == Op.MAX_POOL2D_GRAD || op == Op.AVG_POOL2D_GRAD;
            // Which buffers are input-sized (h x w) and which output-sized (oh x ow) depends on the op.
            int aLen = op == Op.AVG_POOL2D_GRAD ? ohw : hw;
            int oLen = grad ? hw : ohw;
            CpuParallel.parallelFor(0, planes, 1, (from, to) -> {
                // Two vectors of slack: the 2x2 gradient reads whole vectors past a row's end.
                float[] x = new float[aLen + 2 * VL];
                float[] dy = b != null ? new float[ohw + VL] : null;
                float[] y = new float[oLen];
                for (int pl = from; pl < to; pl++) {
                    load(a, (long) pl * aLen, x, aLen);
                    if (dy != null) {
                        load(b, (long) pl * ohw, dy, ohw);
                    }
                    if (grad) {
                        Arrays.fill(y, 0f);
                    }
                    plane(x, dy, y);
                    store(y, oLen, o, (long) pl * oLen);
                }
            });
        }

        /** Elements {@code [from, from + count)} of {@code src} into {@code dst[0, count)} as floats. */
        private void load(MemorySegment src, long from, float[] dst, int count) {
            if (t == DType.F32) {
                MemorySegment.copy(src, F, from * 4, dst, 0, count);
            } else {
                CpuHalf.widen(t, src, from, dst, count);
            }
        }

        /** {@code src[0, count)} into elements {@code [to, to + count)} of {@code dst}, rounded to its dtype. */
        private void store(float[] src, int count, MemorySegment dst, long to) {
            if (t == DType.F32) {
                MemorySegment.copy(src, 0, dst, F, to * 4, count);
            } else {
                CpuHalf.narrow(t, src, count, dst, to);
            }
        }

        private void plane(float[] x, float[] dy, float[] y) {
            if ((op == Op.MAX_POOL2D || op == Op.MAX_POOL2D_GRAD) && p.kernelH() == 2 && p.kernelW() == 2
                    && p.strideH() == 2 && p.strideW() == 2 && p.padH() == 0 && p.padW() == 0) {
                maxPool2x2(x, dy, y);
                return;
            }
            for (int oy = 0; oy < oh; oy++) {
                int y0 = oy * p.strideH() - p.padH();
                int y1 = Math.min(y0 + p.kernelH(), h);
                int ys = Math.max(y0, 0);
                for (int ox = 0; ox < ow; ox++) {
                    int x0 = ox * p.strideW() - p.padW();
                    int x1 = Math.min(x0 + p.kernelW(), w);
                    int xs = Math.max(x0, 0);
                    int yi = oy * ow + ox;
                    switch (op) {
                        case MAX_POOL2D -> y[yi] = x[argmax(x, ys, y1, xs, x1)];
                        case MAX_POOL2D_GRAD -> y[argmax(x, ys, y1, xs, x1)] += dy[yi];
                        case AVG_POOL2D -> {
                            double acc = 0;
                            for (int iy = ys; iy < y1; iy++) {
                                for (int ix = xs; ix < x1; ix++) {
                                    acc += x[iy * w + ix];
                                }
                            }
                            y[yi] = (float) (acc / count(ys, y1, xs, x1));
                        }
                        case AVG_POOL2D_GRAD -> {
                            double g = (double) x[yi] / count(ys, y1, xs, x1);
                            for (int iy = ys; iy < y1; iy++) {
                                for (int ix = xs; ix < x1; ix++) {
                                    y[iy * w + ix] = (float) (y[iy * w + ix] + g);
                                }
                            }
                        }
                        default -> throw new IllegalStateException("not a pooling op: " + op);
                    }
                }
            }
        }

        private int count(int ys, int y1, int xs, int x1) {
            return p.countIncludePad() ? p.kernelH() * p.kernelW() : (y1 - ys) * (x1 - xs);
        }

        /**
         * The common 2x2, stride 2, unpadded max pooling (forward or gradient) with the window
         * unrolled: the same first-maximum rule as {@link #argmax}, applied pairwise in window order.
         */
        private void maxPool2x2(float[] x, float[] dy, float[] y) {
            boolean grad = op == Op.MAX_POOL2D_GRAD;
            if (w % 2 == 0) {
                if (grad) {
                    maxPool2x2GradVector(x, dy, y);
                } else {
                    maxPool2x2Vector(x, y);
                }
                return;
            }
            for (int oy = 0; oy < oh; oy++) {
                int row = 2 * oy * w;
                int outRow = oy * ow;
                for (int ox = 0; ox < ow; ox++) {
                    int i = row + 2 * ox;
                    int best = pick(x, pick(x, pick(x, i, i + 1), i + w), i + w + 1);
                    if (grad) {
                        y[best] += dy[outRow + ox];
                    } else {
                        y[outRow + ox] = x[best];
                    }
                }
            }
        }

        /**
         * 2x2 stride-2 max pooling values on the Vector API, as a tournament that gives the same
         * winner as the scan in window order: first each horizontal pair (with an even width the
         * pairs of the whole plane are consecutive floats, split into even and odd lanes), then
         * the top pair's winner against the bottom pair's. In each match the later element wins
         * only if the earlier is not NaN and it is NaN or greater, which picks the first NaN, else
         * the first maximum.
         */
        private void maxPool2x2Vector(float[] x, float[] y) {
            int pairs = h * w / 2;
            float[] hw = new float[pairs];
            int k = 0;
            for (int upper = pairs - pairs % VL; k < upper; k += VL) {
                FloatVector v1 = FloatVector.fromArray(FS, x, 2 * k);
                FloatVector v2 = FloatVector.fromArray(FS, x, 2 * k + VL);
                FloatVector first = v1.rearrange(EVEN, v2);
                FloatVector second = v1.rearrange(ODD, v2);
                first.blend(second, laterWins(first, second)).intoArray(hw, k);
            }
            for (; k < pairs; k++) {
                hw[k] = x[pick(x, 2 * k, 2 * k + 1)];
            }
            for (int oy = 0; oy < oh; oy++) {
                int top = 2 * oy * ow;
                int bottom = top + ow;
                int out = oy * ow;
                // Rows shorter than a vector (cnn-small's) and row ends run masked.
                for (int ox = 0; ox < ow; ox += VL) {
                    VectorMask<Float> m = FS.indexInRange(ox, ow);
                    FloatVector a = FloatVector.fromArray(FS, hw, top + ox, m);
                    FloatVector b = FloatVector.fromArray(FS, hw, bottom + ox, m);
                    a.blend(b, laterWins(a, b)).intoArray(y, out + ox, m);
                }
            }
        }

        /**
         * The 2x2 stride-2 max pooling gradient on the Vector API, for an even width: per row of
         * windows, the same tournament as {@link #maxPool2x2Vector} decides each window's winner
         * (left or right in the top pair, left or right in the bottom pair, then top or bottom),
         * and the output gradient goes to that position, zeros to the other three, interleaved
         * back into the two input rows. The gradient written is {@code 0 + dy}, as the scalar
         * path's accumulation into a zeroed plane (so a {@code -0} gradient becomes {@code +0}
         * there too). Every element of the covered rows is written; rows past the last window
         * keep the zeros {@code dx} holds on entry.
         */
        private void maxPool2x2GradVector(float[] x, float[] dy, float[] dx) {
            FloatVector zero = FloatVector.zero(FS);
            // Whole vectors only, no masks (masked loads, and mask logic beside them, kept C2 from
            // compiling this loop into vector code): rows run to the next multiple of the vector
            // length, reading past the row end into the next row or the arrays' slack (those
            // lanes' results are never used), and each pair of rows is assembled in two row
            // buffers, of which the valid part is copied into dx.
            int groups = (ow + VL - 1) / VL;
            float[] topRow = new float[2 * groups * VL];
            float[] bottomRow = new float[2 * groups * VL];
            for (int oy = 0; oy < oh; oy++) {
                int top = 2 * oy * w;
                int bottom = top + w;
                int outRow = oy * ow;
                for (int ox = 0; ox < ow; ox += VL) {
                    int t = top + 2 * ox;
                    int b = bottom + 2 * ox;
                    FloatVector t1 = FloatVector.fromArray(FS, x, t);
                    FloatVector t2 = FloatVector.fromArray(FS, x, t + VL);
                    FloatVector tl = t1.rearrange(EVEN, t2);
                    FloatVector tr = t1.rearrange(ODD, t2);
                    FloatVector b1 = FloatVector.fromArray(FS, x, b);
                    FloatVector b2 = FloatVector.fromArray(FS, x, b + VL);
                    FloatVector bl = b1.rearrange(EVEN, b2);
                    FloatVector br = b1.rearrange(ODD, b2);
                    VectorMask<Float> topRight = laterWins(tl, tr);
                    VectorMask<Float> bottomRight = laterWins(bl, br);
                    VectorMask<Float> bottomWins = laterWins(tl.blend(tr, topRight), bl.blend(br, bottomRight));
                    FloatVector g = FloatVector.fromArray(FS, dy, outRow + ox).add(zero);
                    FloatVector topG = g.blend(zero, bottomWins);
                    FloatVector bottomG = zero.blend(g, bottomWins);
                    FloatVector gtl = topG.blend(zero, topRight);
                    FloatVector gtr = zero.blend(topG, topRight);
                    FloatVector gbl = bottomG.blend(zero, bottomRight);
                    FloatVector gbr = zero.blend(bottomG, bottomRight);
                    gtl.rearrange(ZIP_LO, gtr).intoArray(topRow, 2 * ox);
                    gtl.rearrange(ZIP_HI, gtr).intoArray(topRow, 2 * ox + VL);
                    gbl.rearrange(ZIP_LO, gbr).intoArray(bottomRow, 2 * ox);
                    gbl.rearrange(ZIP_HI, gbr).intoArray(bottomRow, 2 * ox + VL);
                }
                System.arraycopy(topRow, 0, dx, top, 2 * ow);
                System.arraycopy(bottomRow, 0, dx, bottom, 2 * ow);
            }
        }

        /** Lanes where {@code later} beats {@code earlier}: earlier is not NaN, later is NaN or greater. */
        private static VectorMask<Float> laterWins(FloatVector earlier, FloatVector later) {
            return earlier.compare(VectorOperators.EQ, earlier)
                    .and(later.compare(VectorOperators.NE, later).or(later.compare(VectorOperators.GT, earlier)));
        }

        /**
         * One step of the window scan: the current first maximum {@code cur} stays unless it is
         * not NaN and {@code cand} is NaN or greater (so the first NaN, else the first maximum, wins).
         */
        private static int pick(float[] x, int cur, int cand) {
            float c = x[cur];
            float v = x[cand];
            // Branch-free: on real activations the comparison is a coin toss, and a mispredicted
            // branch per element cost more than the rest of the loop together.
            int take = (c == c) & ((v != v) | (v > c)) ? -1 : 0;
            return cur + ((cand - cur) & take);
        }

        /** Index within the plane of the window's first maximum (a NaN wins). */
        private int argmax(float[] x, int y0, int y1, int x0, int x1) {
            int best = y0 * w + x0;
            for (int iy = y0; iy < y1; iy++) {
                for (int ix = iy == y0 ? x0 + 1 : x0; ix < x1; ix++) {
                    best = pick(x, best, iy * w + ix);
                }
            }
            return best;
        }
    }

    /** Offset within the plane of the window's first maximum (a NaN wins). */
    private static long argmax(DType t, MemorySegment x, long base, int w, int y0, int y1, int x0, int x1) {
        long best = -1;
        double bv = Double.NEGATIVE_INFINITY;
        for (int iy = y0; iy < y1; iy++) {
            for (int ix = x0; ix < x1; ix++) {
                long off = (long) iy * w + ix;
                double v = CpuElements.load(x, t, base + off);
                if (Double.isNaN(v)) {
                    return off;
                }
                if (best < 0 || v > bv) {
                    bv = v;
                    best = off;
                }
            }
        }
        return best;
    }
}
