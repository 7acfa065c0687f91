package dev.frugal.runtime.cpu.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.LongFunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Stride-1 float32 convolution with several input channels per group, computed straight from
 * zero-padded planes, without im2col or packing: the forward pass and the input gradient. (The
 * weight gradient stays on {@link Gemm}: computed this way it needs nine loads per nine FMAs
 * and a lane reduction per weight, and measured twice as slow.)
 *
 * <p>Every input plane of an image is copied once into a zero-padded plane of width
 * {@code wp = ow + (s-1)*dil}; computing the output on that width too (the last {@code wp - ow}
 * columns of each row are junk, dropped when the rows are copied out) turns tap {@code (ry, sx)}
 * into a constant flat shift, so the input of any tap at any output position is one contiguous
 * vector load. The micro-kernel {@link #block8} then works like a GEMM micro-kernel whose B
 * operand is read in place: eight output channels by two vectors of positions, sixteen
 * accumulators, and per (input channel, tap) two loads and eight weight broadcasts for sixteen
 * FMAs. Weights are reordered once per call into the order the kernel reads them.
 *
 * <p>The input gradient is the same computation on the output gradient: {@code dx} is the
 * correlation of {@code dy} (placed {@code maxShift} into its padded planes) with the weights
 * flipped in both spatial axes and with input and output channels swapped.
 *
 * <p>Work is split over images, one part per thread, each with its own scratch; every output
 * element is summed over input channels and taps in a fixed order on one thread, so results do
 * not depend on the thread count. The off-heap scratch of the directions an instance is made for
 * is drawn from the caller's source at construction (the caller frees it); the reordered weights
 * are small heap arrays. Not thread-safe: one call at a time.
 */
final class DirectConvF32 {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Output channels per micro-kernel block. */
    private static final int MB = 8;

    private final int n;
    private final int c;
    private final int h;
    private final int w;
    private final int k;
    private final int oh;
    private final int ow;
    private final int padH;
    private final int padW;
    private final int groups;
    private final int cg;
    private final int kg;
    private final int taps;
    private final int wp;
    private final int hp;
    private final long[] tapShift;
    private final long maxShift;
    /** Padded positions computed per output plane (forward): {@code oh*wp} rounded up to two vectors. */
    private final long span;
    /** First padded position of the input gradient's rows, and how many are computed. */
    private final long gradFrom;
    private final long gradSpan;
    /** Input rows and columns that receive a gradient (later ones lie past every window). */
    private final int gradRows;
    private final int gradCols;
    /** Floats per padded plane, room for every shifted read included. */
    private final long plane;
    /** Floats per output row of a block's scratch: the longer of the two computed spans. */
    private final long rowStride;
    private final int parts;

    /**
     * Per-part padded planes of one image: input planes for the forward pass, output-gradient
     * planes for the input gradient. Separate because their zero regions differ (x sits inside
     * its padding; dy sits maxShift in, with zero junk columns). Null for a direction the
     * instance was not made for.
     */
    private final MemorySegment[] xPlanes;
    private final MemorySegment[] dyPlanes;
    private final MemorySegment[] outBlocks;
    private float[] forwardWeights;
    private float[] inputGradientWeights;

    /**
     * @param parts the most parts (threads) the work is split into; at most one per image
     * @param forward whether {@link #forward} will be called: allocates its scratch
     * @param gradInput whether {@link #gradInput} will be called: allocates its scratch
     * @param scratch source of zeroed off-heap segments of exactly the size asked for
     */
    DirectConvF32(int n, int c, int h, int w, int k, int r, int s, int oh, int ow,
                  int padH, int padW, int dilH, int dilW, int groups, int parts,
                  boolean forward, boolean gradInput, LongFunction<MemorySegment> scratch) {
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.k = k;
        this.oh = oh;
        this.ow = ow;
        this.padH = padH;
        this.padW = padW;
        this.groups = groups;
        this.cg = c / groups;
        this.kg = k / groups;
        this.taps = r * s;
        this.wp = ow + (s - 1) * dilW;
        this.hp = oh + (r - 1) * dilH;
        this.tapShift = new long[taps];
        for (int ry = 0; ry < r; ry++) {
            for (int sx = 0; sx < s; sx++) {
                tapShift[ry * s + sx] = (long) ry * dilH * wp + (long) sx * dilW;
            }
        }
        this.maxShift = tapShift[taps - 1];
        this.span = roundUp((long) oh * wp, 2 * VL);
        this.gradRows = Math.min(h, hp - padH);
        this.gradCols = Math.min(w, wp - padW);
        this.gradFrom = (long) padH * wp;
        this.gradSpan = roundUp((long) gradRows * wp, 2 * VL);
        long need = Math.max(Math.max(span, gradFrom + gradSpan) + maxShift, maxShift + (long) oh * wp);
        this.plane = roundUp(Math.max(need, (long) hp * wp), VL) + VL;
        this.rowStride = Math.max(span, gradSpan);
        this.parts = Math.max(1, Math.min(parts, n));
        this.xPlanes = forward ? planes(scratch, c) : null;
        this.dyPlanes = gradInput ? planes(scratch, k) : null;
        this.outBlocks = forward || gradInput ? perPart(scratch, (long) MB * rowStride * Float.BYTES) : null;
    }

    /** Whether the direct path handles this geometry: stride 1, a real kernel window, several input channels per group. */
    static boolean handles(int cg, int r, int s, int strideH, int strideW) {
        return strideH == 1 && strideW == 1 && r * s > 1 && cg > 1;
    }

    /** {@code y = conv2d(x, weight)}. */
    void forward(MemorySegment x, MemorySegment weight, MemorySegment y) {
        int blocks = ceilDiv(kg, MB);
        float[] wt = forwardWeights = reorder(weight, forwardWeights, blocks, false);
        MemorySegment[] ins = requireScratch(xPlanes, "forward");
        MemorySegment[] outs = outBlocks;
        forParts((p, img) -> {
            MemorySegment xp = ins[p];
            MemorySegment ob = outs[p];
            for (int ci = 0; ci < c; ci++) {
                Conv2dF32.toPadded(x, ((long) img * c + ci) * h * w, Math.min(h, hp - padH), Math.min(w, wp - padW),
                        xp, ci * plane, padH, padW, wp);
            }
            for (int g = 0; g < groups; g++) {
                for (int kb = 0; kb < blocks; kb++) {
                    block8(xp, (long) g * cg * plane, cg, wt, (g * blocks + kb) * cg * taps * MB, ob, span);
                    int channels = Math.min(MB, kg - kb * MB);
                    for (int j = 0; j < channels; j++) {
                        long yPlane = ((long) img * k + (long) g * kg + (long) kb * MB + j) * oh * ow;
                        for (int oy = 0; oy < oh; oy++) {
                            Conv2dF32.copy(ob, j * rowStride + (long) oy * wp, y, yPlane + (long) oy * ow, ow);
                        }
                    }
                }
            }
        });
    }

    /** {@code dx}: the input gradient of the convolution, given the output gradient {@code dy}. */
    void gradInput(MemorySegment dy, MemorySegment weight, MemorySegment dx) {
        int blocks = ceilDiv(cg, MB);
        float[] wt = inputGradientWeights = reorder(weight, inputGradientWeights, blocks, true);
        MemorySegment[] ins = requireScratch(dyPlanes, "gradInput");
        MemorySegment[] outs = outBlocks;
        forParts((p, img) -> {
            MemorySegment dyp = ins[p];
            MemorySegment ob = outs[p];
            // dy on width wp at flat offset maxShift (zeros before it and in the junk columns):
            // padded input position j then receives Σ_t w_(taps-1-t) * dyp[j + shift_t].
            for (int ko = 0; ko < k; ko++) {
                Conv2dF32.toPadded(dy, ((long) img * k + ko) * oh * ow, oh, ow, dyp, ko * plane + maxShift, 0, 0, wp);
            }
            for (int g = 0; g < groups; g++) {
                for (int cb = 0; cb < blocks; cb++) {
                    block8(dyp, (long) g * kg * plane + gradFrom, kg, wt, (g * blocks + cb) * kg * taps * MB, ob, gradSpan);
                    int channels = Math.min(MB, cg - cb * MB);
                    for (int j = 0; j < channels; j++) {
                        long dxPlane = ((long) img * c + (long) g * cg + (long) cb * MB + j) * h * w;
                        Conv2dF32.fromPadded(ob, j * rowStride + padW, wp, gradRows, gradCols, dx, dxPlane, h, w);
                    }
                }
            }
        });
    }

    /**
     * The micro-kernel: for the eight output channels of one block and positions
     * {@code [0, len)} (a multiple of two vectors),
     * {@code out[j*rowStride + i] = Σ_q Σ_t wt[wBase + (q*taps + t)*8 + j] * in[inBase + q*plane + i + shift_t]}.
     * The sixteen accumulators are locals so C2 keeps them in registers.
     */
    private void block8(MemorySegment in, long inBase, int inChannels, float[] wt, int wBase, MemorySegment out, long len) {
        final long vb = (long) VL * Float.BYTES;
        final long[] shifts = tapShift;
        final int nTaps = taps;
        for (long i = 0; i < len; i += 2L * VL) {
            FloatVector a0 = FloatVector.zero(FS), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0,
                    a4 = a0, b4 = a0, a5 = a0, b5 = a0, a6 = a0, b6 = a0, a7 = a0, b7 = a0;
            int wi = wBase;
            for (int q = 0; q < inChannels; q++) {
                long rowBase = inBase + q * plane + i;
                for (int t = 0; t < nTaps; t++) {
                    long at = (rowBase + shifts[t]) * Float.BYTES;
                    FloatVector x0 = FloatVector.fromMemorySegment(FS, in, at, NATIVE);
                    FloatVector x1 = FloatVector.fromMemorySegment(FS, in, at + vb, NATIVE);
                    FloatVector v = FloatVector.broadcast(FS, wt[wi]);
                    a0 = x0.fma(v, a0);
                    b0 = x1.fma(v, b0);
                    v = FloatVector.broadcast(FS, wt[wi + 1]);
                    a1 = x0.fma(v, a1);
                    b1 = x1.fma(v, b1);
                    v = FloatVector.broadcast(FS, wt[wi + 2]);
                    a2 = x0.fma(v, a2);
                    b2 = x1.fma(v, b2);
                    v = FloatVector.broadcast(FS, wt[wi + 3]);
                    a3 = x0.fma(v, a3);
                    b3 = x1.fma(v, b3);
                    v = FloatVector.broadcast(FS, wt[wi + 4]);
                    a4 = x0.fma(v, a4);
                    b4 = x1.fma(v, b4);
                    v = FloatVector.broadcast(FS, wt[wi + 5]);
                    a5 = x0.fma(v, a5);
                    b5 = x1.fma(v, b5);
                    v = FloatVector.broadcast(FS, wt[wi + 6]);
                    a6 = x0.fma(v, a6);
                    b6 = x1.fma(v, b6);
                    v = FloatVector.broadcast(FS, wt[wi + 7]);
                    a7 = x0.fma(v, a7);
                    b7 = x1.fma(v, b7);
                    wi += MB;
                }
            }
            long o = i * Float.BYTES;
            long rowBytes = rowStride * Float.BYTES;
            a0.intoMemorySegment(out, o, NATIVE);
            b0.intoMemorySegment(out, o + vb, NATIVE);
            a1.intoMemorySegment(out, o + rowBytes, NATIVE);
            b1.intoMemorySegment(out, o + rowBytes + vb, NATIVE);
            a2.intoMemorySegment(out, o + 2 * rowBytes, NATIVE);
            b2.intoMemorySegment(out, o + 2 * rowBytes + vb, NATIVE);
            a3.intoMemorySegment(out, o + 3 * rowBytes, NATIVE);
            b3.intoMemorySegment(out, o + 3 * rowBytes + vb, NATIVE);
            a4.intoMemorySegment(out, o + 4 * rowBytes, NATIVE);
            b4.intoMemorySegment(out, o + 4 * rowBytes + vb, NATIVE);
            a5.intoMemorySegment(out, o + 5 * rowBytes, NATIVE);
            b5.intoMemorySegment(out, o + 5 * rowBytes + vb, NATIVE);
            a6.intoMemorySegment(out, o + 6 * rowBytes, NATIVE);
            b6.intoMemorySegment(out, o + 6 * rowBytes + vb, NATIVE);
            a7.intoMemorySegment(out, o + 7 * rowBytes, NATIVE);
            b7.intoMemorySegment(out, o + 7 * rowBytes + vb, NATIVE);
        }
    }

    /**
     * The weights in the order {@link #block8} reads them: per group and block of eight output
     * channels, per input channel and tap, the eight channels' weights side by side (zeros for
     * channels past the end). For the input gradient the roles swap: blocks of eight input
     * channels, looping over output channels, with the taps flipped.
     */
    private float[] reorder(MemorySegment weight, float[] reuse, int blocks, boolean forGradient) {
        int loop = forGradient ? kg : cg;
        int size = groups * blocks * loop * taps * MB;
        float[] wt = reuse != null && reuse.length == size ? reuse : new float[size];
        java.util.Arrays.fill(wt, 0f);
        for (int g = 0; g < groups; g++) {
            for (int ko = 0; ko < kg; ko++) {
                for (int ci = 0; ci < cg; ci++) {
                    long src = (((long) g * kg + ko) * cg + ci) * taps;
                    for (int t = 0; t < taps; t++) {
                        float v = weight.getAtIndex(F32, src + t);
                        int dst;
                        if (forGradient) {
                            dst = (((g * blocks + ci / MB) * kg + ko) * taps + (taps - 1 - t)) * MB + ci % MB;
                        } else {
                            dst = (((g * blocks + ko / MB) * cg + ci) * taps + t) * MB + ko % MB;
                        }
                        wt[dst] = v;
                    }
                }
            }
        }
        return wt;
    }

    @FunctionalInterface
    private interface ImageBody {
        void run(int part, int img);
    }

    /** Images split into {@link #parts} contiguous parts, each on one thread with its own scratch. */
    private void forParts(ImageBody body) {
        if (parts <= 1) {
            for (int img = 0; img < n; img++) {
                body.run(0, img);
            }
            return;
        }
        CpuParallel.parallelForParts(0, parts, parts, (pf, pt) -> {
            for (int p = pf; p < pt; p++) {
                int from = (int) ((long) n * p / parts);
                int to = (int) ((long) n * (p + 1) / parts);
                for (int img = from; img < to; img++) {
                    body.run(p, img);
                }
            }
        });
    }

    /** Per-part padded planes for {@code count} channels; the source zeroes them, and calls only write the same interiors. */
    private MemorySegment[] planes(LongFunction<MemorySegment> scratch, int count) {
        return perPart(scratch, (long) count * plane * Float.BYTES);
    }

    private MemorySegment[] perPart(LongFunction<MemorySegment> scratch, long bytes) {
        MemorySegment[] segs = new MemorySegment[parts];
        for (int p = 0; p < parts; p++) {
            segs[p] = scratch.apply(bytes);
        }
        return segs;
    }

    private static MemorySegment[] requireScratch(MemorySegment[] scratch, String direction) {
        if (scratch == null) {
            throw new IllegalStateException("direct conv2d f32: not prepared for " + direction);
        }
        return scratch;
    }

    private static long roundUp(long x, long multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
