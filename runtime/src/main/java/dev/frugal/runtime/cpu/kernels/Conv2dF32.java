package dev.frugal.runtime.cpu.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongFunction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * float32 2-D convolution (NCHW input, weight {@code [k, c/groups, r, s]}) and its two gradients,
 * for one fixed geometry, over off-heap segments.
 *
 * <p>The general path lowers each image and group to {@link Gemm}: im2col builds the
 * {@code [c/groups * r * s, oh * ow]} column matrix, the forward pass is {@code W_g · col}, the
 * input gradient is {@code col2im(W_gᵀ · dY_g)} and the weight gradient is
 * {@code Σ_images dY_g · colᵀ}. A 1x1, stride-1, unpadded convolution skips im2col (the input
 * already is the column matrix). Convolutions with stride 1 where every output channel reads a
 * single input channel ({@code c / groups == 1}: depthwise, depthwise with a channel multiplier,
 * and a first layer over one-channel images) take a direct vectorised path instead: their GEMMs
 * would have a depth of only {@code r * s} (or {@code m = 1}), all packing and no reuse. Other
 * stride-1 convolutions with a window larger than 1x1 run their forward pass and input gradient
 * on {@link DirectConvF32} (from padded planes, no im2col or packing: about 1.5x faster than the
 * GEMM path on cnn-small's second layer); their weight gradient stays on the GEMM path.
 *
 * <p>Work is split over images (or channels, for the depthwise path) into one part per thread,
 * and the GEMMs inside a part run inline on that thread; when there are fewer images than
 * threads, images run one after another and each GEMM splits itself. Scratch buffers (column
 * matrices, padded planes, per-part weight-gradient partials) are off-heap, drawn at construction
 * from the caller's scratch source for the {@linkplain Direction directions} the instance is made
 * for (so a call never allocates; {@link #scratchBytes} says how much) and reused by every call;
 * the caller owns that memory and frees it after the instance's last use. An instance is not
 * thread-safe: one call at a time.
 */
public final class Conv2dF32 {

    /** The computations an instance can run; scratch is allocated for the ones it is made for. */
    public enum Direction {
        /** {@link #forward}. */
        FORWARD,
        /** {@link #gradInput}. */
        GRAD_INPUT,
        /** {@link #gradWeight}. */
        GRAD_WEIGHT
    }

    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final int VL = FS.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int n;
    private final int c;
    private final int h;
    private final int w;
    private final int k;
    private final int r;
    private final int s;
    private final int oh;
    private final int ow;
    private final int strideH;
    private final int strideW;
    private final int padH;
    private final int padW;
    private final int dilH;
    private final int dilW;
    private final int groups;
    private final int cg;
    private final int kg;
    /** Rows of the column matrix of one group: {@code cg * r * s}. */
    private final int colRows;
    /** Columns of the column matrix: {@code oh * ow}. */
    private final int ohw;
    /** 1x1, stride 1, no padding: the input plane block is the column matrix. */
    private final boolean identityCol;
    /** One input channel per output channel ({@code cg == 1}), stride 1: the direct vectorised path. */
    private final boolean depthwise;
    /** Parts the work is split into (one per thread, at most one per image). */
    private final int parts;
    /**
     * Batch chunks of the weight gradient: enough to keep 8 threads busy, few enough that the
     * per-chunk partial sums (one weight-sized buffer each) stay small.
     */
    private static final int WEIGHT_GRADIENT_CHUNKS = 8;

    // Depthwise geometry: planes padded to width wp and height hp, so every tap is a fixed shift.
    private final int wp;
    private final int hp;
    private final int[] tapShift;
    private final int maxShift;

    /** Stride 1, several input channels per group, a real window: convolved from padded planes. */
    private final DirectConvF32 direct;

    /** The directions scratch was allocated for. */
    private final Set<Direction> directions;
    /** Bytes drawn from the scratch source at construction. */
    private long scratchBytes;
    private final MemorySegment[] colScratch;
    private final MemorySegment[] dwPartials;
    private final MemorySegment[] xPadded;
    private final MemorySegment[] dyPadded;
    private final MemorySegment[] outPadded;
    /** Every input plane of the batch, padded, when several output channels read each one. */
    private final MemorySegment paddedBatch;

    /**
     * A convolution of input {@code [n, c, h, w]} with weight {@code [k, c/groups, r, s]} into
     * output {@code [n, k, oh, ow]}, able to run {@code directions}, with every scratch buffer
     * those directions use drawn from {@code scratch} here.
     *
     * @param directions the computations this instance will run; calling another one throws
     * @param scratch a source of zeroed, at least 64-byte aligned off-heap segments of exactly
     *     the size asked for, which stay valid while the instance is used (the caller frees them)
     * @throws IllegalArgumentException if the sizes are not positive, groups do not divide the
     *     channels, or {@code oh}/{@code ow} do not fit the input (the output's last row/column
     *     must read inside the padded input)
     */
    public Conv2dF32(int n, int c, int h, int w, int k, int r, int s, int oh, int ow,
                     int strideH, int strideW, int padH, int padW, int dilH, int dilW, int groups,
                     Set<Direction> directions, LongFunction<MemorySegment> scratch) {
        Objects.requireNonNull(scratch, "scratch");
        if (n < 1 || c < 1 || h < 1 || w < 1 || k < 1 || r < 1 || s < 1 || oh < 1 || ow < 1
                || strideH < 1 || strideW < 1 || padH < 0 || padW < 0 || dilH < 1 || dilW < 1 || groups < 1
                || c % groups != 0 || k % groups != 0) {
            throw new IllegalArgumentException("conv2d f32: bad geometry n=" + n + " c=" + c + " h=" + h + " w=" + w + " k=" + k
                    + " r=" + r + " s=" + s + " oh=" + oh + " ow=" + ow + " stride=" + strideH + "x" + strideW
                    + " pad=" + padH + "x" + padW + " dilation=" + dilH + "x" + dilW + " groups=" + groups);
        }
        if ((long) (oh - 1) * strideH + (long) (r - 1) * dilH + 1 > h + 2L * padH
                || (long) (ow - 1) * strideW + (long) (s - 1) * dilW + 1 > w + 2L * padW) {
            throw new IllegalArgumentException("conv2d f32: output " + oh + "x" + ow + " does not fit input " + h + "x" + w
                    + " with kernel " + r + "x" + s + ", stride " + strideH + "x" + strideW + ", pad " + padH + "x" + padW
                    + ", dilation " + dilH + "x" + dilW);
        }
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.k = k;
        this.r = r;
        this.s = s;
        this.oh = oh;
        this.ow = ow;
        this.strideH = strideH;
        this.strideW = strideW;
        this.padH = padH;
        this.padW = padW;
        this.dilH = dilH;
        this.dilW = dilW;
        this.groups = groups;
        this.cg = c / groups;
        this.kg = k / groups;
        this.colRows = cg * r * s;
        this.ohw = oh * ow;
        this.identityCol = r == 1 && s == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 && oh == h && ow == w;
        this.depthwise = cg == 1 && strideH == 1 && strideW == 1;
        this.parts = Math.max(1, Math.min(CpuParallel.threads(), depthwise ? Math.max(n * c, k) : n));
        this.wp = ow + (s - 1) * dilW;
        this.hp = oh + (r - 1) * dilH;
        this.tapShift = new int[r * s];
        for (int ry = 0; ry < r; ry++) {
            for (int sx = 0; sx < s; sx++) {
                tapShift[ry * s + sx] = ry * dilH * wp + sx * dilW;
            }
        }
        this.maxShift = tapShift[r * s - 1];
        this.directions = directions.isEmpty() ? EnumSet.noneOf(Direction.class) : EnumSet.copyOf(directions);
        boolean fwd = this.directions.contains(Direction.FORWARD);
        boolean gin = this.directions.contains(Direction.GRAD_INPUT);
        boolean gw = this.directions.contains(Direction.GRAD_WEIGHT);
        // The direct path serves the forward pass and the input gradient only.
        boolean useDirect = !depthwise && !identityCol && DirectConvF32.handles(cg, r, s, strideH, strideW);
        LongFunction<MemorySegment> counted = bytes -> {
            scratchBytes += bytes;
            return scratch.apply(bytes);
        };
        this.direct = useDirect && (fwd || gin)
                ? new DirectConvF32(n, c, h, w, k, r, s, oh, ow, padH, padW, dilH, dilW, groups, CpuParallel.threads(),
                        fwd, gin, counted)
                : null;
        // What each direction reads and writes besides its operands (see the methods below).
        boolean needCols = !depthwise && !identityCol && (gw || (!useDirect && (fwd || gin)));
        this.colScratch = needCols ? perPart(counted, (long) colRows * ohw * Float.BYTES) : null;
        if (!depthwise && gw) {
            this.dwPartials = new MemorySegment[weightGradientChunks()];
            for (int p = 1; p < dwPartials.length; p++) {
                dwPartials[p] = counted.apply(wElems() * Float.BYTES);
            }
        } else {
            this.dwPartials = null;
        }
        long planeBytes = depthwise ? paddedPlaneFloats() * Float.BYTES : 0;
        this.xPadded = depthwise && (fwd || gw) ? perPart(counted, planeBytes) : null;
        this.dyPadded = depthwise && (gin || gw) ? perPart(counted, planeBytes) : null;
        this.outPadded = depthwise && (fwd || gin) ? perPart(counted, planeBytes) : null;
        this.paddedBatch = depthwise && gw && r * s == 9 && kg > 1 ? counted.apply((long) n * c * planeBytes) : null;
    }

    /**
     * One scratch segment of {@code bytes} per part: zeroed by the source, and later calls write
     * only the interiors of padded planes, so their zero borders stay.
     */
    private MemorySegment[] perPart(LongFunction<MemorySegment> scratch, long bytes) {
        MemorySegment[] segs = new MemorySegment[parts];
        for (int p = 0; p < parts; p++) {
            segs[p] = scratch.apply(bytes);
        }
        return segs;
    }

    /** Bytes of scratch this instance drew from its source at construction. */
    public long scratchBytes() {
        return scratchBytes;
    }

    private void requireDirection(Direction d) {
        if (!directions.contains(d)) {
            throw new IllegalStateException("conv2d f32: this instance was prepared for " + directions + ", not " + d);
        }
    }

    /** Number of floats in the input, {@code n*c*h*w}. */
    private long xElems() {
        return (long) n * c * h * w;
    }

    private long yElems() {
        return (long) n * k * oh * ow;
    }

    private long wElems() {
        return (long) k * cg * r * s;
    }

    private static void requireSize(String what, MemorySegment seg, long floats) {
        if (seg.byteSize() < floats * Float.BYTES) {
            throw new IllegalArgumentException("conv2d f32: " + what + " needs " + floats + " floats, segment holds "
                    + seg.byteSize() / Float.BYTES);
        }
    }

    /** {@code y = conv2d(x, weight)}. */
    public void forward(MemorySegment x, MemorySegment weight, MemorySegment y) {
        requireDirection(Direction.FORWARD);
        requireSize("x", x, xElems());
        requireSize("weight", weight, wElems());
        requireSize("y", y, yElems());
        if (depthwise) {
            depthwiseForward(x, weight, y);
            return;
        }
        if (direct != null) {
            direct.forward(x, weight, y);
            return;
        }
        MemorySegment[] cols = colScratch;
        forParts(n, (p, from, to) -> {
            for (int img = from; img < to; img++) {
                for (int g = 0; g < groups; g++) {
                    Columns col = columns(x, img, g, cols == null ? null : cols[p]);
                    Gemm.gemmF32(1, kg, ohw, colRows,
                            weight, (long) g * kg * colRows, 0, colRows, false,
                            col.segment(), col.offset(), 0, ohw, false,
                            y, ((long) img * k + (long) g * kg) * ohw, 0, ohw, false);
                }
            }
        });
    }

    /** {@code dx = ∂(Σ y·dy)/∂x}: the input gradient of the convolution, given the output gradient {@code dy}. */
    public void gradInput(MemorySegment dy, MemorySegment weight, MemorySegment dx) {
        requireDirection(Direction.GRAD_INPUT);
        requireSize("dy", dy, yElems());
        requireSize("weight", weight, wElems());
        requireSize("dx", dx, xElems());
        if (depthwise) {
            depthwiseGradInput(dy, weight, dx);
            return;
        }
        if (direct != null) {
            direct.gradInput(dy, weight, dx);
            return;
        }
        MemorySegment[] cols = colScratch;
        forParts(n, (p, from, to) -> {
            for (int img = from; img < to; img++) {
                for (int g = 0; g < groups; g++) {
                    long dxOff = ((long) img * c + (long) g * cg) * h * w;
                    MemorySegment target = identityCol ? dx : cols[p];
                    Gemm.gemmF32(1, colRows, ohw, kg,
                            weight, (long) g * kg * colRows, 0, colRows, true,
                            dy, ((long) img * k + (long) g * kg) * ohw, 0, ohw, false,
                            target, identityCol ? dxOff : 0, 0, ohw, false);
                    if (!identityCol) {
                        col2im(cols[p], dx, dxOff);
                    }
                }
            }
        });
    }

    /** {@code dw = ∂(Σ y·dy)/∂weight}: the weight gradient, summed over the batch. */
    public void gradWeight(MemorySegment x, MemorySegment dy, MemorySegment dw) {
        requireDirection(Direction.GRAD_WEIGHT);
        requireSize("x", x, xElems());
        requireSize("dy", dy, yElems());
        requireSize("dw", dw, wElems());
        if (depthwise) {
            depthwiseGradWeight(x, dy, dw);
            return;
        }
        MemorySegment[] cols = colScratch;
        MemorySegment[] partials = dwPartials;
        // The batch is cut into a fixed number of chunks, independent of the thread count, and
        // the chunk sums are added in chunk order: the result is bit-identical on any machine
        // (what reproducible training and exact recomputation need). Chunk 0 writes dw itself.
        int chunks = weightGradientChunks();
        forParts(chunks, (p, chunkFrom, chunkTo) -> {
            for (int chunk = chunkFrom; chunk < chunkTo; chunk++) {
                MemorySegment target = chunk == 0 ? dw : partials[chunk];
                int from = (int) ((long) n * chunk / chunks);
                int to = (int) ((long) n * (chunk + 1) / chunks);
                for (int img = from; img < to; img++) {
                    for (int g = 0; g < groups; g++) {
                        Columns col = columns(x, img, g, cols == null ? null : cols[p]);
                        Gemm.gemmF32(1, kg, colRows, ohw,
                                dy, ((long) img * k + (long) g * kg) * ohw, 0, ohw, false,
                                col.segment(), col.offset(), 0, ohw, true,
                                target, (long) g * kg * colRows, 0, colRows, img != from);
                    }
                }
            }
        });
        for (int chunk = 1; chunk < chunks; chunk++) {
            addInto(partials[chunk], 0, dw, 0, wElems());
        }
    }

    /** Chunks of the batch whose weight-gradient sums are kept apart; never depends on the threads. */
    private int weightGradientChunks() {
        return Math.max(1, Math.min(n, WEIGHT_GRADIENT_CHUNKS));
    }

    /** A column matrix ({@code colRows x ohw}, row-major) at an element offset in a segment. */
    private record Columns(MemorySegment segment, long offset) {
    }

    /**
     * The column matrix of image {@code img}, group {@code g}: for a 1x1, stride-1, unpadded
     * convolution the input planes already are it; otherwise im2col writes it into {@code scratch}.
     */
    private Columns columns(MemorySegment x, int img, int g, MemorySegment scratch) {
        if (identityCol) {
            return new Columns(x, ((long) img * c + (long) g * cg) * ohw);
        }
        im2col(x, img, g, scratch);
        return new Columns(scratch, 0);
    }

    /** A part of a split loop: part {@code p} covers indices {@code [from, to)}. */
    @FunctionalInterface
    private interface PartBody {
        void run(int p, int from, int to);
    }

    /**
     * Splits {@code [0, count)} into {@link #parts} contiguous parts, each with its own scratch.
     * With one part the body runs on the calling thread, and GEMMs inside split themselves.
     */
    private void forParts(int count, PartBody body) {
        int used = Math.min(parts, count);
        if (used <= 1) {
            body.run(0, 0, count);
            return;
        }
        CpuParallel.parallelForParts(0, used, used, (pf, pt) -> {
            for (int p = pf; p < pt; p++) {
                body.run(p, (int) ((long) count * p / used), (int) ((long) count * (p + 1) / used));
            }
        });
    }

    // ---------------------------------------------------------------- im2col / col2im

    /** First output column whose input column {@code ox*strideW - padW + sx*dilW} is {@code >= 0}. */
    private int oxLo(int sx) {
        int off = padW - sx * dilW;
        return off <= 0 ? 0 : Math.min(ow, (off + strideW - 1) / strideW);
    }

    /** One past the last output column whose input column is {@code < w}. */
    private int oxHi(int sx) {
        int lim = w - 1 + padW - sx * dilW;
        return lim < 0 ? 0 : Math.min(ow, lim / strideW + 1);
    }

    private int oyLo(int ry) {
        int off = padH - ry * dilH;
        return off <= 0 ? 0 : Math.min(oh, (off + strideH - 1) / strideH);
    }

    private int oyHi(int ry) {
        int lim = h - 1 + padH - ry * dilH;
        return lim < 0 ? 0 : Math.min(oh, lim / strideH + 1);
    }

    /**
     * Writes the column matrix of image {@code img}, group {@code g}: row {@code (ci*r + ry)*s + sx},
     * column {@code oy*ow + ox} holds {@code x[img, g*cg + ci, oy*strideH - padH + ry*dilH, ox*strideW - padW + sx*dilW]}
     * (0 in the padding).
     */
    private void im2col(MemorySegment x, int img, int g, MemorySegment col) {
        for (int ci = 0; ci < cg; ci++) {
            long plane = ((long) img * c + (long) g * cg + ci) * h * w;
            for (int ry = 0; ry < r; ry++) {
                int y0 = oyLo(ry);
                int y1 = Math.max(y0, oyHi(ry));
                for (int sx = 0; sx < s; sx++) {
                    long row = ((long) (ci * r + ry) * s + sx) * ohw;
                    int x0 = oxLo(sx);
                    int x1 = Math.max(x0, oxHi(sx));
                    fill(col, row, (long) y0 * ow, 0f);
                    fill(col, row + (long) y1 * ow, (long) (oh - y1) * ow, 0f);
                    if (y0 >= y1) {
                        continue;
                    }
                    int colShift = sx * dilW - padW;
                    if (x0 >= x1) {
                        // This tap reads only padding columns.
                        fill(col, row + (long) y0 * ow, (long) (y1 - y0) * ow, 0f);
                        continue;
                    }
                    if (strideW == 1 && ow == w) {
                        // Rows of col and x have the same length, so the valid rows are one
                        // contiguous copy (shifted by the tap); the columns that wrapped around a
                        // row edge are then cleared.
                        long src = plane + (long) (y0 * strideH - padH + ry * dilH) * w + colShift;
                        long dst = row + (long) y0 * ow;
                        long len = (long) (y1 - y0) * ow;
                        copy(x, src + x0, col, dst + x0, len - x0 - (ow - x1));
                        for (int oy = y0; oy < y1; oy++) {
                            long d = row + (long) oy * ow;
                            fill(col, d, x0, 0f);
                            fill(col, d + x1, ow - x1, 0f);
                        }
                    } else {
                        for (int oy = y0; oy < y1; oy++) {
                            long d = row + (long) oy * ow;
                            long srcRow = plane + (long) (oy * strideH - padH + ry * dilH) * w;
                            fill(col, d, x0, 0f);
                            fill(col, d + x1, ow - x1, 0f);
                            if (strideW == 1) {
                                copy(x, srcRow + x0 + colShift, col, d + x0, x1 - x0);
                            } else {
                                for (int ox = x0; ox < x1; ox++) {
                                    col.setAtIndex(F32, d + ox, x.getAtIndex(F32, srcRow + (long) ox * strideW + colShift));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The adjoint of {@link #im2col} for one image and group: clears the group's {@code cg} input
     * planes at {@code dxOff}, then adds every column-matrix entry into the input element it was
     * read from. Entries in the padding are dropped. Modifies {@code col} (clears wrapped columns).
     */
    private void col2im(MemorySegment col, MemorySegment dx, long dxOff) {
        fill(dx, dxOff, (long) cg * h * w, 0f);
        for (int ci = 0; ci < cg; ci++) {
            long plane = dxOff + (long) ci * h * w;
            for (int ry = 0; ry < r; ry++) {
                int y0 = oyLo(ry);
                int y1 = oyHi(ry);
                if (y0 >= y1) {
                    continue;
                }
                for (int sx = 0; sx < s; sx++) {
                    long row = ((long) (ci * r + ry) * s + sx) * ohw;
                    int x0 = oxLo(sx);
                    int x1 = Math.max(x0, oxHi(sx));
                    int colShift = sx * dilW - padW;
                    if (x0 >= x1) {
                        continue;
                    }
                    if (strideW == 1 && ow == w) {
                        // Clear the entries that would wrap around a row edge, then one contiguous add.
                        for (int oy = y0; oy < y1; oy++) {
                            long d = row + (long) oy * ow;
                            fill(col, d, x0, 0f);
                            fill(col, d + x1, ow - x1, 0f);
                        }
                        long dst = plane + (long) (y0 * strideH - padH + ry * dilH) * w + colShift;
                        long src = row + (long) y0 * ow;
                        long len = (long) (y1 - y0) * ow;
                        addInto(col, src + x0, dx, dst + x0, len - x0 - (ow - x1));
                    } else {
                        for (int oy = y0; oy < y1; oy++) {
                            long srcRow = row + (long) oy * ow;
                            long dstRow = plane + (long) (oy * strideH - padH + ry * dilH) * w;
                            if (strideW == 1) {
                                addInto(col, srcRow + x0, dx, dstRow + x0 + colShift, x1 - x0);
                            } else {
                                for (int ox = x0; ox < x1; ox++) {
                                    long di = dstRow + (long) ox * strideW + colShift;
                                    dx.setAtIndex(F32, di, dx.getAtIndex(F32, di) + col.getAtIndex(F32, srcRow + ox));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- depthwise, stride 1

    /*
     * Each channel plane is copied into a zero-padded plane of width wp = ow + (s-1)*dilW and
     * height hp = oh + (r-1)*dilH. Computing outputs on the same padded width (the last wp - ow
     * columns of each row are junk and ignored) turns tap (ry, sx) into a constant flat shift
     * ry*dilH*wp + sx*dilW, so every loop below runs over one long contiguous range.
     */

    /** Floats in a padded plane, with room for a vector's overrun at either end. */
    private long paddedPlaneFloats() {
        return maxShift + roundUp((long) hp * wp, VL) + 2L * VL;
    }

    /*
     * Per-part padded planes (xPadded, dyPadded, outPadded), allocated zeroed at construction.
     * Three separate sets because their zero regions differ: x planes keep zero padding around
     * the interior, dy planes keep zero junk columns and zeros before and after (dy sits at flat
     * offset maxShift), and output planes are scratch that is overwritten whole. paddedBatch
     * holds the batch's n * c padded input planes for a 3x3 weight gradient with several output
     * channels per input channel.
     */

    /** Copies plane {@code src[srcPlane..]} ({@code rows x cols}) into the padded plane at {@code (rowOff, colOff)}, base {@code base}. */
    static void toPadded(MemorySegment src, long srcPlane, int rows, int cols,
                         MemorySegment dst, long base, int rowOff, int colOff, int width) {
        for (int y = 0; y < rows; y++) {
            copy(src, srcPlane + (long) y * cols, dst, base + (long) (y + rowOff) * width + colOff, cols);
        }
    }

    /**
     * The inverse of {@link #toPadded} for an input gradient: copies {@code rows x cols} values,
     * row {@code y} read at {@code base + y * width} of {@code src}, into the {@code h x w} plane
     * {@code dst[dstPlane..]}, and zeroes the rest of that plane (inputs past the last window get
     * no gradient).
     */
    static void fromPadded(MemorySegment src, long base, int width, int rows, int cols,
                           MemorySegment dst, long dstPlane, int h, int w) {
        for (int y = 0; y < rows; y++) {
            copy(src, base + (long) y * width, dst, dstPlane + (long) y * w, cols);
            fill(dst, dstPlane + (long) y * w + cols, w - cols, 0f);
        }
        fill(dst, dstPlane + (long) rows * w, (long) (h - rows) * w, 0f);
    }

    private void depthwiseForward(MemorySegment x, MemorySegment weight, MemorySegment y) {
        MemorySegment[] planes = xPadded;
        MemorySegment[] outs = outPadded;
        long span = roundUp((long) oh * wp, VL);
        int taps = r * s;
        forParts(n * c, (p, from, to) -> {
            MemorySegment xp = planes[p];
            MemorySegment yp = outs[p];
            for (int plane = from; plane < to; plane++) {
                int img = plane / c;
                int ch = plane % c;
                toPadded(x, (long) plane * h * w, Math.min(h, hp - padH), Math.min(w, wp - padW), xp, 0, padH, padW, wp);
                // The input plane is padded once and read by each of its kg output channels.
                for (int j = 0; j < kg; j++) {
                    int ko = ch * kg + j;
                    long wBase = (long) ko * taps;
                    if (taps == 9) {
                        correlate9(xp, 0, weight, wBase, false, false, yp, 0, span);
                    } else {
                        correlate(xp, 0, weight, wBase, false, yp, 0, span);
                    }
                    long yPlane = ((long) img * k + ko) * ohw;
                    for (int oy = 0; oy < oh; oy++) {
                        copy(yp, (long) oy * wp, y, yPlane + (long) oy * ow, ow);
                    }
                }
            }
        });
    }

    private void depthwiseGradInput(MemorySegment dy, MemorySegment weight, MemorySegment dx) {
        MemorySegment[] dyPlanes = dyPadded;
        MemorySegment[] dxPlanes = outPadded;
        int taps = r * s;
        // dy sits at flat offset maxShift of its buffer (zeros before it), on width wp with zero
        // junk columns; padded-input element j then receives Σ_t w_t * dy[j - shift_t]. Only the
        // rows that map to real input rows are computed.
        long jFrom = (long) padH * wp;
        long jTo = jFrom + roundUp((long) Math.min(h, hp - padH) * wp, VL);
        forParts(n * c, (p, from, to) -> {
            MemorySegment dyp = dyPlanes[p];
            MemorySegment dxp = dxPlanes[p];
            for (int plane = from; plane < to; plane++) {
                int img = plane / c;
                int ch = plane % c;
                // The input channel's gradient sums its kg output channels' contributions, in order.
                for (int jo = 0; jo < kg; jo++) {
                    int ko = ch * kg + jo;
                    toPadded(dy, ((long) img * k + ko) * ohw, oh, ow, dyp, maxShift, 0, 0, wp);
                    long wBase = (long) ko * taps;
                    if (taps == 9) {
                        // dx[j] = Σ_t w_t * dy[j - shift_t] = Σ_t w_(8-t) * dy[j - maxShift + shift_t]
                        // (the shifts of a 3x3 grid are symmetric: shift_(8-t) = maxShift - shift_t).
                        correlate9(dyp, jFrom, weight, wBase, true, jo > 0, dxp, jFrom, jTo - jFrom);
                    } else {
                        for (long j = jFrom; j < jTo; j += VL) {
                            FloatVector acc = jo > 0 ? FloatVector.fromMemorySegment(FS, dxp, j * Float.BYTES, NATIVE) : FloatVector.zero(FS);
                            for (int t = 0; t < taps; t++) {
                                FloatVector dv = FloatVector.fromMemorySegment(FS, dyp, (maxShift + j - tapShift[t]) * Float.BYTES, NATIVE);
                                acc = dv.fma(FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + t)), acc);
                            }
                            acc.intoMemorySegment(dxp, j * Float.BYTES, NATIVE);
                        }
                    }
                }
                fromPadded(dxp, (long) padH * wp + padW, wp, Math.min(h, hp - padH), Math.min(w, wp - padW),
                        dx, (long) plane * h * w, h, w);
            }
        });
    }

    private void depthwiseGradWeight(MemorySegment x, MemorySegment dy, MemorySegment dw) {
        MemorySegment[] xPlanes = xPadded;
        MemorySegment[] dyPlanes = dyPadded;
        int taps = r * s;
        long span = roundUp((long) oh * wp, VL);
        // Several output channels read each input plane (a first layer over one-channel images):
        // pad the batch's input planes once, not once per output channel.
        MemorySegment xAll = taps == 9 && kg > 1 ? paddedBatch : null;
        if (xAll != null) {
            long planeFloats = paddedPlaneFloats();
            CpuParallel.parallelFor(0, n * c, 1, (from, to) -> {
                for (int plane = from; plane < to; plane++) {
                    toPadded(x, (long) plane * h * w, Math.min(h, hp - padH), Math.min(w, wp - padW), xAll, plane * planeFloats, padH, padW, wp);
                }
            });
        }
        // Split over output channels: each sums over the batch on one thread, so no partials.
        forParts(k, (p, from, to) -> {
            MemorySegment xp = xPlanes[p];
            MemorySegment dyp = dyPlanes[p];
            for (int ko = from; ko < to; ko++) {
                int ch = ko / kg;
                if (taps == 9) {
                    gradWeight9(x, xAll, dy, dw, ko, ch, xp, dyp, span);
                    continue;
                }
                fill(dw, (long) ko * taps, taps, 0f);
                for (int img = 0; img < n; img++) {
                    toPadded(x, ((long) img * c + ch) * h * w, Math.min(h, hp - padH), Math.min(w, wp - padW), xp, 0, padH, padW, wp);
                    // dy on width wp at offset maxShift; junk columns and the tail up to span stay zero.
                    toPadded(dy, ((long) img * k + ko) * ohw, oh, ow, dyp, maxShift, 0, 0, wp);
                    for (int t = 0; t < taps; t++) {
                        long shift = tapShift[t];
                        FloatVector acc = FloatVector.zero(FS);
                        for (long i = 0; i < span; i += VL) {
                            FloatVector dv = FloatVector.fromMemorySegment(FS, dyp, (maxShift + i) * Float.BYTES, NATIVE);
                            FloatVector xv = FloatVector.fromMemorySegment(FS, xp, (i + shift) * Float.BYTES, NATIVE);
                            acc = dv.fma(xv, acc);
                        }
                        long wi = (long) ko * taps + t;
                        dw.setAtIndex(F32, wi, dw.getAtIndex(F32, wi) + LaneSums.sum(acc));
                    }
                }
            }
        });
    }

    /**
     * The direct path's general inner loop, any kernel size: {@code out[o + i] = Σ_t w_t * in[b + i + shift_t]}
     * (added to {@code out} when {@code accumulate}) for {@code i} in {@code [0, len)}, a
     * multiple of the vector length.
     */
    private void correlate(MemorySegment in, long b, MemorySegment weight, long wBase, boolean accumulate,
                           MemorySegment out, long o, long len) {
        int taps = r * s;
        for (long i = 0; i < len; i += VL) {
            FloatVector acc = accumulate ? FloatVector.fromMemorySegment(FS, out, (o + i) * Float.BYTES, NATIVE) : FloatVector.zero(FS);
            for (int t = 0; t < taps; t++) {
                FloatVector xv = FloatVector.fromMemorySegment(FS, in, (b + i + tapShift[t]) * Float.BYTES, NATIVE);
                acc = xv.fma(FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + t)), acc);
            }
            acc.intoMemorySegment(out, (o + i) * Float.BYTES, NATIVE);
        }
    }

    /**
     * 3x3 inner loop of the direct path with the nine weights and shifts in registers:
     * {@code out[o + i] = Σ_t w_t * in[b + i + shift_t]} for {@code i} in {@code [0, len)} (a
     * multiple of the vector length), or {@code out[o + i] += ...} when {@code accumulate}. With
     * {@code flipped}, tap {@code t} uses weight {@code 8 - t}, which is the input-gradient form
     * (see {@link #depthwiseGradInput}).
     */
    private void correlate9(MemorySegment in, long b, MemorySegment weight, long wBase, boolean flipped, boolean accumulate,
                            MemorySegment out, long o, long len) {
        FloatVector w0 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 8 : 0)));
        FloatVector w1 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 7 : 1)));
        FloatVector w2 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 6 : 2)));
        FloatVector w3 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 5 : 3)));
        FloatVector w4 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + 4));
        FloatVector w5 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 3 : 5)));
        FloatVector w6 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 2 : 6)));
        FloatVector w7 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 1 : 7)));
        FloatVector w8 = FloatVector.broadcast(FS, weight.getAtIndex(F32, wBase + (flipped ? 0 : 8)));
        final long s1 = (long) tapShift[1] * Float.BYTES;
        final long s2 = (long) tapShift[2] * Float.BYTES;
        final long s3 = (long) tapShift[3] * Float.BYTES;
        final long s4 = (long) tapShift[4] * Float.BYTES;
        final long s5 = (long) tapShift[5] * Float.BYTES;
        final long s6 = (long) tapShift[6] * Float.BYTES;
        final long s7 = (long) tapShift[7] * Float.BYTES;
        final long s8 = (long) tapShift[8] * Float.BYTES;
        long end = (b + len) * Float.BYTES;
        long delta = (o - b) * Float.BYTES;
        for (long a = b * Float.BYTES; a < end; a += (long) VL * Float.BYTES) {
            FloatVector acc = accumulate
                    ? FloatVector.fromMemorySegment(FS, in, a, NATIVE).fma(w0, FloatVector.fromMemorySegment(FS, out, a + delta, NATIVE))
                    : FloatVector.fromMemorySegment(FS, in, a, NATIVE).mul(w0);
            acc = FloatVector.fromMemorySegment(FS, in, a + s1, NATIVE).fma(w1, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s2, NATIVE).fma(w2, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s3, NATIVE).fma(w3, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s4, NATIVE).fma(w4, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s5, NATIVE).fma(w5, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s6, NATIVE).fma(w6, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s7, NATIVE).fma(w7, acc);
            acc = FloatVector.fromMemorySegment(FS, in, a + s8, NATIVE).fma(w8, acc);
            acc.intoMemorySegment(out, a + delta, NATIVE);
        }
    }

    /**
     * 3x3 weight gradient of output channel {@code ko} (reading input channel {@code ch}) on the
     * direct path: nine vector accumulators summed over the whole batch, reduced to scalars once
     * at the end. Input planes come from {@code xAll} (the batch padded once) when given, else
     * each is padded into {@code xp} here.
     */
    private void gradWeight9(MemorySegment x, MemorySegment xAll, MemorySegment dy, MemorySegment dw, int ko, int ch,
                             MemorySegment xp, MemorySegment dyp, long span) {
        final long s1 = (long) tapShift[1] * Float.BYTES;
        final long s2 = (long) tapShift[2] * Float.BYTES;
        final long s3 = (long) tapShift[3] * Float.BYTES;
        final long s4 = (long) tapShift[4] * Float.BYTES;
        final long s5 = (long) tapShift[5] * Float.BYTES;
        final long s6 = (long) tapShift[6] * Float.BYTES;
        final long s7 = (long) tapShift[7] * Float.BYTES;
        final long s8 = (long) tapShift[8] * Float.BYTES;
        FloatVector a0 = FloatVector.zero(FS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        FloatVector a8 = a0;
        long dyBase = (long) maxShift * Float.BYTES;
        long end = span * Float.BYTES;
        long planeBytes = paddedPlaneFloats() * Float.BYTES;
        for (int img = 0; img < n; img++) {
            MemorySegment xs;
            long xb;
            if (xAll != null) {
                xs = xAll;
                xb = ((long) img * c + ch) * planeBytes;
            } else {
                toPadded(x, ((long) img * c + ch) * h * w, Math.min(h, hp - padH), Math.min(w, wp - padW), xp, 0, padH, padW, wp);
                xs = xp;
                xb = 0;
            }
            toPadded(dy, ((long) img * k + ko) * ohw, oh, ow, dyp, maxShift, 0, 0, wp);
            for (long i = 0; i < end; i += (long) VL * Float.BYTES) {
                FloatVector d = FloatVector.fromMemorySegment(FS, dyp, dyBase + i, NATIVE);
                long xi = xb + i;
                a0 = FloatVector.fromMemorySegment(FS, xs, xi, NATIVE).fma(d, a0);
                a1 = FloatVector.fromMemorySegment(FS, xs, xi + s1, NATIVE).fma(d, a1);
                a2 = FloatVector.fromMemorySegment(FS, xs, xi + s2, NATIVE).fma(d, a2);
                a3 = FloatVector.fromMemorySegment(FS, xs, xi + s3, NATIVE).fma(d, a3);
                a4 = FloatVector.fromMemorySegment(FS, xs, xi + s4, NATIVE).fma(d, a4);
                a5 = FloatVector.fromMemorySegment(FS, xs, xi + s5, NATIVE).fma(d, a5);
                a6 = FloatVector.fromMemorySegment(FS, xs, xi + s6, NATIVE).fma(d, a6);
                a7 = FloatVector.fromMemorySegment(FS, xs, xi + s7, NATIVE).fma(d, a7);
                a8 = FloatVector.fromMemorySegment(FS, xs, xi + s8, NATIVE).fma(d, a8);
            }
        }
        long o = (long) ko * 9;
        dw.setAtIndex(F32, o, LaneSums.sum(a0));
        dw.setAtIndex(F32, o + 1, LaneSums.sum(a1));
        dw.setAtIndex(F32, o + 2, LaneSums.sum(a2));
        dw.setAtIndex(F32, o + 3, LaneSums.sum(a3));
        dw.setAtIndex(F32, o + 4, LaneSums.sum(a4));
        dw.setAtIndex(F32, o + 5, LaneSums.sum(a5));
        dw.setAtIndex(F32, o + 6, LaneSums.sum(a6));
        dw.setAtIndex(F32, o + 7, LaneSums.sum(a7));
        dw.setAtIndex(F32, o + 8, LaneSums.sum(a8));
    }

    // ---------------------------------------------------------------- small vector helpers

    private static long roundUp(long x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }

    /** {@code dst[di .. di+len) = src[si .. si+len)} (float indices), vectorised with a masked tail. */
    static void copy(MemorySegment src, long si, MemorySegment dst, long di, long len) {
        long i = 0;
        for (; i + VL <= len; i += VL) {
            FloatVector.fromMemorySegment(FS, src, (si + i) * Float.BYTES, NATIVE).intoMemorySegment(dst, (di + i) * Float.BYTES, NATIVE);
        }
        if (i < len) {
            VectorMask<Float> m = FS.indexInRange(0, (int) (len - i));
            FloatVector.fromMemorySegment(FS, src, (si + i) * Float.BYTES, NATIVE, m).intoMemorySegment(dst, (di + i) * Float.BYTES, NATIVE, m);
        }
    }

    /** {@code dst[di .. di+len) += src[si .. si+len)}, vectorised with a masked tail. */
    static void addInto(MemorySegment src, long si, MemorySegment dst, long di, long len) {
        long i = 0;
        for (; i + VL <= len; i += VL) {
            long d = (di + i) * Float.BYTES;
            FloatVector.fromMemorySegment(FS, src, (si + i) * Float.BYTES, NATIVE)
                    .add(FloatVector.fromMemorySegment(FS, dst, d, NATIVE))
                    .intoMemorySegment(dst, d, NATIVE);
        }
        if (i < len) {
            VectorMask<Float> m = FS.indexInRange(0, (int) (len - i));
            long d = (di + i) * Float.BYTES;
            FloatVector.fromMemorySegment(FS, src, (si + i) * Float.BYTES, NATIVE, m)
                    .add(FloatVector.fromMemorySegment(FS, dst, d, NATIVE, m))
                    .intoMemorySegment(dst, d, NATIVE, m);
        }
    }

    /** {@code dst[di .. di+len) = value}. */
    static void fill(MemorySegment dst, long di, long len, float value) {
        if (len <= 0) {
            return;
        }
        if (len < VL) {
            for (long i = 0; i < len; i++) {
                dst.setAtIndex(F32, di + i, value);
            }
            return;
        }
        FloatVector v = FloatVector.broadcast(FS, value);
        long i = 0;
        for (; i + VL <= len; i += VL) {
            v.intoMemorySegment(dst, (di + i) * Float.BYTES, NATIVE);
        }
        for (; i < len; i++) {
            dst.setAtIndex(F32, di + i, value);
        }
    }
}
