package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;

import java.lang.foreign.MemorySegment;

/**
 * Max and average pooling over NCHW windows, and their gradients, parallel over (image, channel)
 * planes. Padding never wins a max (it counts as -infinity); the first maximum of a window wins
 * ties and receives the whole gradient (NaN counts as the maximum). Average pooling divides by the
 * window size when {@code countIncludePad}, else by the number of in-bounds elements.
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
