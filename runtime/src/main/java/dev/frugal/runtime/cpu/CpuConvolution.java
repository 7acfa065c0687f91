package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.Conv2dF32;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;

import dev.frugal.memory.CachingAllocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;

/**
 * CONV2D and its two gradients (NCHW, weight [cOut, cIn/groups, kh, kw], stride, padding,
 * dilation, groups).
 *
 * <p>F32 runs on {@link Conv2dF32} (im2col + {@code Gemm}, or direct vectorised kernels), with the
 * scratch of the node's direction allocated at prepare time as the kernel's {@link CpuWorkspace}
 * from the backend's memory manager, and freed when the kernel closes.
 *
 * <p>F16/BF16 run on the same {@link Conv2dF32}, in float32, rounded once to nearest even on
 * store (what a GPU does with fp32 accumulation): the batch is processed in chunks of samples
 * whose operands are widened exactly into float32 scratch, convolved, and the chunk's result
 * rounded back (see {@link #halfKernel}). The float scratch is sized for one chunk, not the
 * batch, so it stays near {@link #HALF_CHUNK_BYTES} whatever the batch size. The forward pass and
 * the input gradient give exactly the rounded F32 convolution of the widened operands; the weight
 * gradient sums the chunks' float32 gradients in chunk order: when the batch is one chunk that is
 * the F32 convolution's result too, otherwise a different summation order (so the float32 sums
 * differ in their last bits, which after rounding shows as at most one half ulp except where the
 * sum cancels), but one that depends only on the geometry, never on the thread count.
 *
 * <p>F64 (finite-difference checks) uses direct loops, parallel over the output's outer axes,
 * accumulating in double and storing once.
 */
final class CpuConvolution {
    private CpuConvolution() {
    }

    /** Convolution geometry: x [n, c, h, w], weight [k, c/groups, r, s], y [n, k, oh, ow]. */
    private record Geometry(int n, int c, int h, int w, int k, int r, int s, int oh, int ow, OpAttrs.Conv2d p) {
        int cPerGroup() {
            return c / p.groups();
        }

        int kPerGroup() {
            return k / p.groups();
        }
    }

    static Kernel prepare(Node node, int[] in, int out, CachingAllocator memory) {
        OpAttrs.Conv2d p = node.attrs(OpAttrs.Conv2d.class);
        DType t = node.output().dtype();
        int[] xs;
        int[] ws;
        int[] ys;
        switch (node.op()) {
            case CONV2D -> {
                xs = node.input(0).shape().dims();
                ws = node.input(1).shape().dims();
                ys = node.output().shape().dims();
            }
            case CONV2D_GRAD_INPUT -> {
                ys = node.input(0).shape().dims();
                ws = node.input(1).shape().dims();
                xs = node.output().shape().dims();
            }
            case CONV2D_GRAD_WEIGHT -> {
                xs = node.input(0).shape().dims();
                ys = node.input(1).shape().dims();
                ws = node.output().shape().dims();
            }
            default -> throw new IllegalStateException("not a convolution: " + node.op());
        }
        Geometry g = new Geometry(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], ys[2], ys[3], p);
        Op op = node.op();
        if (t == DType.F32) {
            CpuWorkspace workspace = new CpuWorkspace(memory);
            Conv2dF32 conv;
            try {
                conv = newConv(g, g.n(), direction(op), workspace);
            } catch (RuntimeException | Error e) {
                workspace.close();
                throw e;
            }
            return new Kernel() {
                @Override
                public void run(Buffer[] slots) {
                    MemorySegment a = CpuElements.seg(slots, in[0]);
                    MemorySegment b = CpuElements.seg(slots, in[1]);
                    MemorySegment o = CpuElements.seg(slots, out);
                    switch (op) {
                        case CONV2D -> conv.forward(a, b, o);
                        case CONV2D_GRAD_INPUT -> conv.gradInput(a, b, o);
                        default -> conv.gradWeight(a, b, o);
                    }
                }

                @Override
                public long workspaceBytes() {
                    return workspace.heldBytes();
                }

                @Override
                public void close() {
                    workspace.close();
                }
            };
        }
        // An empty operand (Conv2dF32 needs every size positive) keeps the loops, which write nothing or zeros.
        if (CpuHalf.isHalf(t) && g.n() > 0 && g.c() > 0 && g.h() > 0 && g.w() > 0 && g.k() > 0
                && g.r() > 0 && g.s() > 0) {
            return halfKernel(op, t, g, in, out, memory);
        }
        return new Kernel() {
            @Override
            public void run(Buffer[] slots) {
                MemorySegment a = CpuElements.seg(slots, in[0]);
                MemorySegment b = CpuElements.seg(slots, in[1]);
                MemorySegment o = CpuElements.seg(slots, out);
                switch (op) {
                    case CONV2D -> forward(t, g, a, b, o);
                    case CONV2D_GRAD_INPUT -> gradInput(t, g, a, b, o);
                    default -> gradWeight(t, g, a, b, o);
                }
            }
        };
    }

    private static Conv2dF32.Direction direction(Op op) {
        return switch (op) {
            case CONV2D -> Conv2dF32.Direction.FORWARD;
            case CONV2D_GRAD_INPUT -> Conv2dF32.Direction.GRAD_INPUT;
            default -> Conv2dF32.Direction.GRAD_WEIGHT;
        };
    }

    /** A float32 convolution of {@code n} samples of geometry {@code g}, for one direction, with its scratch from {@code workspace}. */
    private static Conv2dF32 newConv(Geometry g, int n, Conv2dF32.Direction direction, CpuWorkspace workspace) {
        OpAttrs.Conv2d p = g.p();
        return new Conv2dF32(n, g.c(), g.h(), g.w(), g.k(), g.r(), g.s(), g.oh(), g.ow(),
                p.strideH(), p.strideW(), p.padH(), p.padW(), p.dilationH(), p.dilationW(), p.groups(),
                EnumSet.of(direction), workspace::allocate);
    }

    // ------------------------------------------------------------------ F16/BF16 on Conv2dF32

    /**
     * The float32 copies of one chunk's input and output planes (the per-sample operands) are
     * kept near this size: the workspace is held for the program's lifetime, so copies of the
     * whole batch would add a float32 image of every half-precision activation a convolution
     * touches. A chunk still holds at least {@link #HALF_MIN_CHUNK} samples, or one per thread
     * for the directions whose result the chunking does not change, so large samples keep every
     * thread busy (Conv2dF32 splits its work over the samples it is given).
     */
    static final long HALF_CHUNK_BYTES = 4L << 20;

    /**
     * The fewest samples of a weight-gradient chunk (unless the batch is smaller): its chunking
     * changes the summation order, so the size must not depend on the thread count; 8 keeps 8
     * threads busy, as Conv2dF32's own weight-gradient split does.
     */
    static final int HALF_MIN_CHUNK = 8;

    /**
     * How a half-precision convolution cuts its batch of {@code n} samples: {@code count} chunks
     * of {@code size} samples each. Chunk {@code i} adds samples from {@link #first} on and
     * covers {@code [start(i), start(i) + size)}: the last chunk is aligned to the end of the
     * batch, overlapping the chunk before when {@code size} does not divide {@code n}, so every
     * chunk has the same size and one Conv2dF32 (one set of scratch) serves them all. The size
     * is balanced over the chunks the budget needs (so the overlap computed twice is small), but
     * never below the minimum asked for.
     */
    record HalfChunks(int n, int size, int count) {
        /**
         * Chunks of at most {@link #HALF_CHUNK_BYTES} of float32 operands ({@code floatsPerSample}
         * floats per sample), and at least {@code minSize} samples, balanced.
         */
        static HalfChunks plan(int n, long floatsPerSample, int minSize) {
            long fit = Math.max(1, HALF_CHUNK_BYTES / (Float.BYTES * Math.max(1, floatsPerSample)));
            int most = (int) Math.min(n, Math.max(fit, minSize));
            int count = (n + most - 1) / most;
            int balanced = (n + count - 1) / count;
            return new HalfChunks(n, Math.max(balanced, Math.min(n, minSize)), count);
        }

        /** The first sample chunk {@code i} adds (the ones before it in its window were done by chunk i - 1). */
        int first(int i) {
            return i * size;
        }

        /** The first sample of chunk {@code i}'s window. */
        int start(int i) {
            return Math.min(i * size, n - size);
        }
    }

    /**
     * The chunks of a half-precision convolution (input [n, c, h, w], output [n, k, oh, ow]) in
     * direction {@code op}: per sample, the input and output planes ({@code c*h*w + k*oh*ow} floats) are widened and
     * computed in float32. The forward pass and the input gradient compute every sample on its
     * own, so their chunks take at least one sample per thread; the weight gradient's chunks
     * depend on the geometry only.
     */
    static HalfChunks halfChunks(Op op, int n, int c, int h, int w, int k, int oh, int ow) {
        long perSample = (long) c * h * w + (long) k * oh * ow;
        int minSize = op == Op.CONV2D_GRAD_WEIGHT ? HALF_MIN_CHUNK : CpuParallel.threads();
        return HalfChunks.plan(n, perSample, minSize);
    }

    /**
     * F16/BF16 on {@link Conv2dF32}, chunk by chunk (see {@link HalfChunks}): the chunk's
     * per-sample operand is widened (exactly) into float32 scratch, the weight once per call, the
     * chunk is convolved in float32, and its result rounded to nearest even into the half output,
     * only for the samples the chunk adds. Each output sample of the forward pass and the input
     * gradient is computed alone, so these equal the rounded F32 convolution of the widened
     * operands bit for bit. The weight gradient keeps a float32 sum over chunks: chunk 0 writes
     * it, every later chunk's gradient is added in chunk order, and it is rounded once at the
     * end. Samples the last chunk shares with the one before are zeroed in its float copies, so
     * they add exact zeros (which change no sum, except that a gradient of exactly -0 becomes
     * +0). Scratch (the float copies, Conv2dF32's own) is the kernel's
     * {@link CpuWorkspace}, allocated here and freed when the kernel closes.
     */
    private static Kernel halfKernel(Op op, DType t, Geometry g, int[] in, int out, CachingAllocator memory) {
        HalfChunks chunks = halfChunks(op, g.n(), g.c(), g.h(), g.w(), g.k(), g.oh(), g.ow());
        int size = chunks.size();
        long xPer = (long) g.c() * g.h() * g.w();
        long yPer = (long) g.k() * g.oh() * g.ow();
        long wNum = (long) g.k() * g.cPerGroup() * g.r() * g.s();
        // The per-sample operand read and the one written: x and y forward, dy and dx for the input
        // gradient; the weight gradient reads x and dy and writes the weight.
        long aPer = op == Op.CONV2D_GRAD_INPUT ? yPer : xPer;
        long bPer = op == Op.CONV2D_GRAD_INPUT ? xPer : yPer;
        boolean gradWeight = op == Op.CONV2D_GRAD_WEIGHT;
        CpuWorkspace workspace = new CpuWorkspace(memory);
        Conv2dF32 conv;
        MemorySegment a32;
        MemorySegment b32;
        MemorySegment w32;
        MemorySegment part32;
        try {
            conv = newConv(g, size, direction(op), workspace);
            a32 = workspace.allocate(size * aPer * Float.BYTES);
            b32 = workspace.allocate(size * bPer * Float.BYTES);
            // The widened weight, or the weight gradient's float32 sum.
            w32 = workspace.allocate(wNum * Float.BYTES);
            part32 = gradWeight && chunks.count() > 1 ? workspace.allocate(wNum * Float.BYTES) : null;
        } catch (RuntimeException | Error e) {
            workspace.close();
            throw e;
        }
        return new Kernel() {
            @Override
            public void run(Buffer[] slots) {
                MemorySegment a = CpuElements.seg(slots, in[0]);
                MemorySegment b = CpuElements.seg(slots, in[1]);
                MemorySegment o = CpuElements.seg(slots, out);
                if (gradWeight) {
                    gradWeight(a, b, o);
                    return;
                }
                CpuHalf.widen(t, b, 0, w32, 0, wNum);
                for (int i = 0; i < chunks.count(); i++) {
                    int start = chunks.start(i);
                    int first = chunks.first(i);
                    CpuHalf.widen(t, a, start * aPer, a32, 0, size * aPer);
                    if (op == Op.CONV2D) {
                        conv.forward(a32, w32, b32);
                    } else {
                        conv.gradInput(a32, w32, b32);
                    }
                    long skip = (first - start) * bPer;
                    CpuHalf.narrow(t, b32, skip, o, first * bPer, size * bPer - skip);
                }
            }

            private void gradWeight(MemorySegment x, MemorySegment dy, MemorySegment dw) {
                for (int i = 0; i < chunks.count(); i++) {
                    int start = chunks.start(i);
                    CpuHalf.widen(t, x, start * xPer, a32, 0, size * xPer);
                    CpuHalf.widen(t, dy, start * yPer, b32, 0, size * yPer);
                    int shared = chunks.first(i) - start;
                    if (shared > 0) {
                        a32.asSlice(0, shared * xPer * Float.BYTES).fill((byte) 0);
                        b32.asSlice(0, shared * yPer * Float.BYTES).fill((byte) 0);
                    }
                    conv.gradWeight(a32, b32, i == 0 ? w32 : part32);
                    if (i > 0) {
                        addInto(part32, w32, wNum);
                    }
                }
                CpuHalf.narrow(t, w32, 0, dw, 0, wNum);
            }

            @Override
            public long workspaceBytes() {
                return workspace.heldBytes();
            }

            @Override
            public void close() {
                workspace.close();
            }
        };
    }

    /** {@code dst[i] += src[i]} for {@code count} floats, in parallel (each element on one thread: exact, any split). */
    private static void addInto(MemorySegment src, MemorySegment dst, long count) {
        CpuParallel.parallelFor(0, (int) count, 1 << 15, (from, to) -> {
            for (int i = from; i < to; i++) {
                dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i,
                        dst.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i) + src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
            }
        });
    }

    private static void forward(DType t, Geometry g, MemorySegment x, MemorySegment w, MemorySegment y) {
        OpAttrs.Conv2d p = g.p();
        int cg = g.cPerGroup();
        int kg = g.kPerGroup();
        CpuParallel.parallelFor(0, g.n() * g.k(), 1, (from, to) -> {
            for (int nk = from; nk < to; nk++) {
                int ni = nk / g.k();
                int ki = nk % g.k();
                int c0 = (ki / kg) * cg;
                for (int oy = 0; oy < g.oh(); oy++) {
                    for (int ox = 0; ox < g.ow(); ox++) {
                        double acc = 0;
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ry = 0; ry < g.r(); ry++) {
                                int iy = oy * p.strideH() - p.padH() + ry * p.dilationH();
                                if (iy < 0 || iy >= g.h()) {
                                    continue;
                                }
                                for (int sx = 0; sx < g.s(); sx++) {
                                    int ix = ox * p.strideW() - p.padW() + sx * p.dilationW();
                                    if (ix < 0 || ix >= g.w()) {
                                        continue;
                                    }
                                    long xi = (((long) ni * g.c() + c0 + ci) * g.h() + iy) * g.w() + ix;
                                    long wi = (((long) ki * cg + ci) * g.r() + ry) * g.s() + sx;
                                    acc += CpuElements.load(x, t, xi) * CpuElements.load(w, t, wi);
                                }
                            }
                        }
                        CpuElements.store(y, t, (((long) ni * g.k() + ki) * g.oh() + oy) * g.ow() + ox, acc);
                    }
                }
            }
        });
    }

    private static void gradInput(DType t, Geometry g, MemorySegment dy, MemorySegment w, MemorySegment dx) {
        OpAttrs.Conv2d p = g.p();
        int cg = g.cPerGroup();
        int kg = g.kPerGroup();
        CpuParallel.parallelFor(0, g.n() * g.c(), 1, (from, to) -> {
            for (int nc = from; nc < to; nc++) {
                int ni = nc / g.c();
                int c = nc % g.c();
                int group = c / cg;
                int ci = c % cg;
                for (int iy = 0; iy < g.h(); iy++) {
                    for (int ix = 0; ix < g.w(); ix++) {
                        double acc = 0;
                        for (int ry = 0; ry < g.r(); ry++) {
                            int ty = iy + p.padH() - ry * p.dilationH();
                            if (ty < 0 || ty % p.strideH() != 0 || ty / p.strideH() >= g.oh()) {
                                continue;
                            }
                            int oy = ty / p.strideH();
                            for (int sx = 0; sx < g.s(); sx++) {
                                int tx = ix + p.padW() - sx * p.dilationW();
                                if (tx < 0 || tx % p.strideW() != 0 || tx / p.strideW() >= g.ow()) {
                                    continue;
                                }
                                int ox = tx / p.strideW();
                                for (int kk = 0; kk < kg; kk++) {
                                    int ki = group * kg + kk;
                                    long yi = (((long) ni * g.k() + ki) * g.oh() + oy) * g.ow() + ox;
                                    long wi = (((long) ki * cg + ci) * g.r() + ry) * g.s() + sx;
                                    acc += CpuElements.load(dy, t, yi) * CpuElements.load(w, t, wi);
                                }
                            }
                        }
                        CpuElements.store(dx, t, (((long) ni * g.c() + c) * g.h() + iy) * g.w() + ix, acc);
                    }
                }
            }
        });
    }

    private static void gradWeight(DType t, Geometry g, MemorySegment x, MemorySegment dy, MemorySegment dw) {
        OpAttrs.Conv2d p = g.p();
        int cg = g.cPerGroup();
        int kg = g.kPerGroup();
        CpuParallel.parallelFor(0, g.k() * cg, 1, (from, to) -> {
            for (int kc = from; kc < to; kc++) {
                int ki = kc / cg;
                int ci = kc % cg;
                int c = (ki / kg) * cg + ci;
                for (int ry = 0; ry < g.r(); ry++) {
                    for (int sx = 0; sx < g.s(); sx++) {
                        double acc = 0;
                        for (int ni = 0; ni < g.n(); ni++) {
                            for (int oy = 0; oy < g.oh(); oy++) {
                                int iy = oy * p.strideH() - p.padH() + ry * p.dilationH();
                                if (iy < 0 || iy >= g.h()) {
                                    continue;
                                }
                                for (int ox = 0; ox < g.ow(); ox++) {
                                    int ix = ox * p.strideW() - p.padW() + sx * p.dilationW();
                                    if (ix < 0 || ix >= g.w()) {
                                        continue;
                                    }
                                    long xi = (((long) ni * g.c() + c) * g.h() + iy) * g.w() + ix;
                                    long yi = (((long) ni * g.k() + ki) * g.oh() + oy) * g.ow() + ox;
                                    acc += CpuElements.load(x, t, xi) * CpuElements.load(dy, t, yi);
                                }
                            }
                        }
                        CpuElements.store(dw, t, (((long) ki * cg + ci) * g.r() + ry) * g.s() + sx, acc);
                    }
                }
            }
        });
    }
}
