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
import java.util.EnumSet;

/**
 * CONV2D and its two gradients (NCHW, weight [cOut, cIn/groups, kh, kw], stride, padding,
 * dilation, groups). F32 runs on {@link Conv2dF32} (im2col + {@code Gemm}, or a direct
 * vectorised kernel for depthwise convolutions), with the scratch of the node's direction
 * allocated at prepare time as the kernel's {@link CpuWorkspace} from the backend's memory
 * manager, and freed when the kernel closes. The other floating types (F64 for finite-difference checks, F16/BF16) use direct loops,
 * parallel over the output's outer axes, accumulating in double and rounding once on store.
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
            Conv2dF32.Direction direction = switch (op) {
                case CONV2D -> Conv2dF32.Direction.FORWARD;
                case CONV2D_GRAD_INPUT -> Conv2dF32.Direction.GRAD_INPUT;
                default -> Conv2dF32.Direction.GRAD_WEIGHT;
            };
            CpuWorkspace workspace = new CpuWorkspace(memory);
            Conv2dF32 conv;
            try {
                conv = new Conv2dF32(g.n(), g.c(), g.h(), g.w(), g.k(), g.r(), g.s(), g.oh(), g.ow(),
                        p.strideH(), p.strideW(), p.padH(), p.padW(), p.dilationH(), p.dilationW(), p.groups(),
                        EnumSet.of(direction), workspace::allocate);
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
