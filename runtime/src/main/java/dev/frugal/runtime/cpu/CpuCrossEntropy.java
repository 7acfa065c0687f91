package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import jdk.incubator.vector.FloatVector;

/**
 * SOFTMAX_CROSS_ENTROPY and its gradient on the CPU, one pass per row of the logits: the row is
 * read once into a per-thread float array (half types widened exactly), its maximum taken, the
 * exponentials of {@code x - max} computed with {@link VectorMath#exp} (the float32 EXP kernel's
 * function) and summed in double in index order; the loss is
 * {@code (1-s)(lse - x[label]) + s(lse - mean(x))} with {@code lse = max + log(sum)}, in double,
 * rounded once. The gradient recomputes the row's softmax the same way and writes
 * {@code (p - target) * dLoss[row]}, so no [N, C] intermediate exists.
 *
 * <p>F64 logits (the reference for finite-difference checks) run the same steps in double with
 * {@link Math#exp}. Rows are independent and each is computed on one thread in a fixed order, so
 * results do not depend on the thread count. Every label is checked before any row is computed:
 * one outside 0..C-1 throws, naming the op, the row, the label and the node.
 */
final class CpuCrossEntropy {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    /** Logits per parallel chunk, at least: below this a row block is not worth a thread. */
    private static final int GRAIN_ELEMENTS = 1 << 14;

    private CpuCrossEntropy() {
    }

    /** Per-thread row arrays (the row, its exponentials), grown as needed, so a step allocates nothing. */
    private static final ThreadLocal<float[][]> ROWS = new ThreadLocal<>();

    private static float[][] rows(int c) {
        float[][] r = ROWS.get();
        if (r == null || r[0].length < c) {
            r = new float[][] {new float[c], new float[c]};
            ROWS.set(r);
        }
        return r;
    }

    static Kernel prepare(Node node, int[] in, int out) {
        double s = node.attrs(OpAttrs.CrossEntropy.class).labelSmoothing();
        DType xt = node.input(0).dtype();
        DType lt = node.input(1).dtype();
        DType ot = node.output().dtype();
        int n = node.input(0).shape().dim(0);
        int c = node.input(0).shape().dim(1);
        boolean forward = node.op() == Op.SOFTMAX_CROSS_ENTROPY;
        DType gt = forward ? null : node.input(2).dtype();
        if (!xt.isFloating() || !ot.isFloating() || (xt == DType.F64) != (ot == DType.F64) || (gt != null && (gt == DType.F64) != (ot == DType.F64))) {
            throw new UnsupportedOperationException("cpu backend runs " + node.op().printName()
                    + " on f32, f16 or bf16 operands into f32, f16 or bf16, or on f64 throughout, got " + node);
        }
        String where = node.toString().strip();
        String name = node.op().printName();
        int grain = Math.max(1, GRAIN_ELEMENTS / c);
        return slots -> {
            MemorySegment x = CpuElements.seg(slots, in[0]);
            MemorySegment labels = CpuElements.seg(slots, in[1]);
            MemorySegment o = CpuElements.seg(slots, out);
            MemorySegment g = forward ? null : CpuElements.seg(slots, in[2]);
            for (int r = 0; r < n; r++) {
                long label = CpuElements.loadLong(labels, lt, r);
                if (label < 0 || label >= c) {
                    throw new IndexOutOfBoundsException(name + ": label " + label + " of row " + r + " is out of range [0, " + c
                            + ") for " + c + " classes in node: " + where);
                }
            }
            CpuParallel.parallelFor(0, n, grain, (from, to) -> {
                for (int r = from; r < to; r++) {
                    int label = (int) CpuElements.loadLong(labels, lt, r);
                    if (xt == DType.F64) {
                        row64(x, r, c, label, s, forward, g, o);
                    } else {
                        row32(xt, ot, gt, x, r, c, label, s, forward, g, o);
                    }
                }
            });
        };
    }

    private static void row32(DType xt, DType ot, DType gt, MemorySegment x, int r, int c, int label, double s, boolean forward,
                              MemorySegment g, MemorySegment o) {
        float[][] w = rows(c);
        float[] row = w[0];
        float[] e = w[1];
        long base = (long) r * c;
        if (xt == DType.F32) {
            MemorySegment.copy(x, F, base * Float.BYTES, row, 0, c);
        } else {
            CpuHalf.widen(xt, x, base, row, 0, c);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < c; i++) {
            max = Math.max(max, row[i]);
        }
        int i = 0;
        int lanes = VectorMath.FS.length();
        for (; i <= c - lanes; i += lanes) {
            VectorMath.exp(FloatVector.fromArray(VectorMath.FS, row, i).sub(max)).intoArray(e, i);
        }
        for (; i < c; i++) {
            e[i] = VectorMath.exp(row[i] - max);
        }
        double sum = 0;
        for (int k = 0; k < c; k++) {
            sum += e[k];
        }
        if (forward) {
            double lse = max + Math.log(sum);
            double loss = (1 - s) * (lse - row[label]);
            if (s > 0) {
                double total = 0;
                for (int k = 0; k < c; k++) {
                    total += row[k];
                }
                loss += s * (lse - total / c);
            }
            store(o, ot, r, loss);
            return;
        }
        double scale = CpuElements.load(g, gt, r);
        double inv = 1 / sum;
        double smooth = s / c;
        for (int k = 0; k < c; k++) {
            double target = k == label ? 1 - s + smooth : smooth;
            row[k] = (float) ((e[k] * inv - target) * scale);
        }
        if (ot == DType.F32) {
            MemorySegment.copy(row, 0, o, F, base * Float.BYTES, c);
        } else {
            CpuHalf.narrow(ot, row, 0, c, o, base);
        }
    }

    private static void store(MemorySegment o, DType t, long i, double v) {
        if (t == DType.F32) {
            o.setAtIndex(F, i, (float) v);
        } else {
            CpuElements.store(o, t, i, (float) v);
        }
    }

    private static void row64(MemorySegment x, int r, int c, int label, double s, boolean forward, MemorySegment g, MemorySegment o) {
        long base = (long) r * c;
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < c; k++) {
            max = Math.max(max, x.getAtIndex(D, base + k));
        }
        double sum = 0;
        for (int k = 0; k < c; k++) {
            sum += Math.exp(x.getAtIndex(D, base + k) - max);
        }
        if (forward) {
            double lse = max + Math.log(sum);
            double loss = (1 - s) * (lse - x.getAtIndex(D, base + label));
            if (s > 0) {
                double total = 0;
                for (int k = 0; k < c; k++) {
                    total += x.getAtIndex(D, base + k);
                }
                loss += s * (lse - total / c);
            }
            o.setAtIndex(D, r, loss);
            return;
        }
        double scale = g.getAtIndex(D, r);
        double smooth = s / c;
        for (int k = 0; k < c; k++) {
            double target = k == label ? 1 - s + smooth : smooth;
            o.setAtIndex(D, base + k, (Math.exp(x.getAtIndex(D, base + k) - max) / sum - target) * scale);
        }
    }
}
