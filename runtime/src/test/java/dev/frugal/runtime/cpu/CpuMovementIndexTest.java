package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * PERMUTE, EXPAND, SLICE, PAD, CONCAT, RESHAPE (of a permuted value), GATHER and SCATTER_ADD on
 * the CPU backend for every dtype (every element size), against index-arithmetic references.
 */
class CpuMovementIndexTest {
    private final long seed = System.nanoTime();
    private final Random rnd = new Random(seed);

    @Test
    void permuteExpandSliceReshapeForEveryDtype() {
        Shape shape = Shape.of(3, 4, 5);
        int[] dims = shape.dims();
        for (DType t : CpuReference.ALL) {
            Graph g = new Graph("movement");
            Value x = g.input("x", shape, t);
            Value p = Ops.permute(x, 2, 0, 1);
            Value e = Ops.expand(Ops.slice(x, 1, 1, 2, 1), Shape.of(2, 3, 6, 5));
            Value s = Ops.slice(x, new int[] {1, 0, 4}, new int[] {3, 4, 5}, new int[] {1, 3, 1});
            Value r = Ops.reshape(p, Shape.of(10, 6));
            try (Tensor xt = CpuReference.random(rnd, t, shape, -5, 5)) {
                double[] xv = xt.toDoubleArray();
                List<double[]> out = GraphRun.run(g, List.of(p, e, s, r), Map.of(x, xt));
                double[] pe = new double[60];
                for (int i = 0; i < 60; i++) {
                    int[] o = CpuReference.unravel(i, new int[] {5, 3, 4});
                    pe[i] = xv[(int) CpuReference.ravel(new int[] {o[1], o[2], o[0]}, dims)];
                }
                CpuReference.assertSame(pe, out.get(0), "permute " + t);
                CpuReference.assertSame(pe, out.get(3), "reshape of a permute " + t);
                double[] ee = new double[2 * 3 * 6 * 5];
                for (int i = 0; i < ee.length; i++) {
                    int[] o = CpuReference.unravel(i, new int[] {2, 3, 6, 5});
                    ee[i] = xv[(int) CpuReference.ravel(new int[] {o[1], 1, o[3]}, dims)];
                }
                CpuReference.assertSame(ee, out.get(1), "expand " + t);
                assertEquals(Shape.of(2, 2, 1), s.shape());
                double[] se = {xv[(int) CpuReference.ravel(new int[] {1, 0, 4}, dims)], xv[(int) CpuReference.ravel(new int[] {1, 3, 4}, dims)],
                    xv[(int) CpuReference.ravel(new int[] {2, 0, 4}, dims)], xv[(int) CpuReference.ravel(new int[] {2, 3, 4}, dims)]};
                CpuReference.assertSame(se, out.get(2), "slice " + t);
            }
        }
    }

    @Test
    void padAndConcatForEveryDtype() {
        for (DType t : CpuReference.ALL) {
            Graph g = new Graph("pad");
            Value x = g.input("x", Shape.of(2, 3), t);
            Value y = g.input("y", Shape.of(2, 1), t);
            Value z = g.input("z", Shape.of(2, 4), t);
            Value padded = Ops.pad(x, new int[] {1, 0}, new int[] {2, 3});
            Value cat1 = Ops.concat(1, x, y, z);
            Value cat0 = Ops.concat(-2, x, Ops.slice(z, 1, 1, 4, 1));
            try (Tensor xt = CpuReference.random(rnd, t, x.shape(), 1, 5);
                 Tensor yt = CpuReference.random(rnd, t, y.shape(), 1, 5);
                 Tensor zt = CpuReference.random(rnd, t, z.shape(), 1, 5)) {
                List<double[]> out = GraphRun.run(g, List.of(padded, cat1, cat0), Map.of(x, xt, y, yt, z, zt));
                assertEquals(Shape.of(5, 6), padded.shape());
                double[] pe = new double[30];
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 3; j++) {
                        pe[(i + 1) * 6 + j] = xt.getDouble(i, j);
                    }
                }
                CpuReference.assertSame(pe, out.get(0), "pad " + t);
                double[] ce = new double[16];
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 8; j++) {
                        ce[i * 8 + j] = j < 3 ? xt.getDouble(i, j) : j < 4 ? yt.getDouble(i, 0) : zt.getDouble(i, j - 4);
                    }
                }
                CpuReference.assertSame(ce, out.get(1), "concat axis 1 " + t);
                double[] c0 = new double[12];
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 3; j++) {
                        c0[i * 3 + j] = i < 2 ? xt.getDouble(i, j) : zt.getDouble(i - 2, j + 1);
                    }
                }
                CpuReference.assertSame(c0, out.get(2), "concat axis 0 " + t);
            }
        }
    }

    @Test
    void gatherAlongEveryAxis() {
        Shape xs = Shape.of(3, 4, 5);
        for (DType t : CpuReference.ALL) {
            for (DType it : new DType[] {DType.I32, DType.I64}) {
                for (int axis = 0; axis < 3; axis++) {
                    int extent = xs.dim(axis);
                    Graph g = new Graph("gather");
                    Value x = g.input("x", xs, t);
                    Value idx = g.input("idx", Shape.of(2, 3), it);
                    Value y = Ops.gather(x, idx, axis);
                    double[] iv = new double[6];
                    for (int i = 0; i < 6; i++) {
                        iv[i] = rnd.nextInt(extent);
                    }
                    iv[5] = iv[0]; // a repeated index
                    try (Tensor xt = CpuReference.random(rnd, t, xs, -5, 5); Tensor idxT = Tensor.of(iv, it, 2, 3)) {
                        double[] xv = xt.toDoubleArray();
                        double[] out = GraphRun.run(g, y, Map.of(x, xt, idx, idxT));
                        int[] od = y.shape().dims();
                        assertEquals(4, od.length);
                        double[] expected = new double[out.length];
                        for (int o = 0; o < out.length; o++) {
                            int[] oi = CpuReference.unravel(o, od);
                            int[] xi = new int[3];
                            for (int d = 0, k = 0; d < 3; d++) {
                                if (d == axis) {
                                    xi[d] = (int) iv[oi[k] * 3 + oi[k + 1]];
                                    k += 2;
                                } else {
                                    xi[d] = oi[k++];
                                }
                            }
                            expected[o] = xv[(int) CpuReference.ravel(xi, xs.dims())];
                        }
                        CpuReference.assertSame(expected, out, "gather " + t + " idx " + it + " axis " + axis + " seed " + seed);
                    }
                }
            }
        }
    }

    @Test
    void scatterAddSumsRepeatedIndices() {
        Shape outShape = Shape.of(4, 3, 5);
        for (DType t : CpuReference.NUMERIC) {
            for (int axis = 0; axis < 3; axis++) {
                int extent = outShape.dim(axis);
                int[] is = {6};
                int[] srcDims = outShape.dims();
                srcDims[axis] = 6;
                Graph g = new Graph("scatter");
                Value src = g.input("src", Shape.of(srcDims), t);
                Value idx = g.input("idx", Shape.of(is), DType.I64);
                Value y = Ops.scatterAdd(src, idx, axis, outShape);
                long[] iv = new long[6];
                for (int i = 0; i < 6; i++) {
                    iv[i] = rnd.nextInt(extent);
                }
                iv[4] = iv[1];
                iv[5] = iv[1];
                try (Tensor st = CpuReference.random(rnd, t, src.shape(), -3, 3); Tensor idxT = Tensor.ofLongs(iv, 6)) {
                    double[] sv = st.toDoubleArray();
                    double[] out = GraphRun.run(g, y, Map.of(src, st, idx, idxT));
                    // accumulate in index order: float32 for f32/f16/bf16 (rounded once at the end), double for f64, long for integers
                    double[] acc = new double[out.length];
                    float[] accF = new float[out.length];
                    long[] accL = new long[out.length];
                    for (int i = 0; i < sv.length; i++) {
                        int[] si = CpuReference.unravel(i, srcDims);
                        int[] oi = si.clone();
                        oi[axis] = (int) iv[si[axis]];
                        int o = (int) CpuReference.ravel(oi, outShape.dims());
                        acc[o] += sv[i];
                        accF[o] += (float) sv[i];
                        accL[o] += (long) sv[i];
                    }
                    double[] expected = new double[out.length];
                    for (int o = 0; o < out.length; o++) {
                        expected[o] = switch (t) {
                            case F64 -> acc[o];
                            case F32, F16, BF16 -> CpuReference.store(t, accF[o]);
                            default -> CpuReference.storeLong(t, accL[o]);
                        };
                    }
                    CpuReference.assertSame(expected, out, "scatter_add " + t + " axis " + axis + " seed " + seed);
                }
            }
        }
    }
}
