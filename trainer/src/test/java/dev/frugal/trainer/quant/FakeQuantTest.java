package dev.frugal.trainer.quant;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FakeQuant}'s forward values against a float64 reference of PyTorch's CPU kernels
 * (per-channel symmetric weights, per-tensor asymmetric activations, ties to even), and its
 * straight-through gradient inside and outside the range.
 */
class FakeQuantTest {

    /** PyTorch's fake_quantize kernel in float32 arithmetic: q = nearbyint(x * (1/s)) + zp, clamp, (q - zp) * s. */
    static float reference(float x, float scale, float zp, int qmin, int qmax) {
        float inv = 1f / scale;
        double q = Math.rint((float) (x * inv)) + zp;
        double c = Math.min(Math.max(q, qmin), qmax);
        return (float) (c - zp) * scale;
    }

    /** PyTorch's per-tensor affine qparams (uint8) from an observed range, in float32. */
    static float[] activationReference(float min, float max) {
        float minNeg = Math.min(min, 0f);
        float maxPos = Math.max(max, 0f);
        float scale = Math.max((maxPos - minNeg) / 255f, Math.ulp(1f));
        float zp = (float) Math.min(Math.max(0 - Math.rint(minNeg / scale), 0), 255);
        return new float[] {scale, zp};
    }

    private static List<Tensor> run(Graph g, List<Value> outputs, Map<Value, Tensor> feeds) {
        try (Program p = Executor.cpu().compile(g, outputs)) {
            List<Tensor> out = new ArrayList<>();
            for (Tensor t : p.run(feeds)) {
                out.add(Tensor.of(t.toFloatArray(), t.shape().dims()));
            }
            return out;
        }
    }

    @Test
    void perChannelSymmetricWeightsMatchTheReference() {
        SplittableRandom r = new SplittableRandom(1);
        int c = 6;
        int k = 50;
        float[] w = new float[c * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((r.nextDouble() * 2 - 1) * (1 + i / k)); // channels of different ranges
        }
        w[3 * k] = 0; // a channel whose maximum is a tie-breaking case is covered below; one all-zero channel:
        for (int i = 5 * k; i < 6 * k; i++) {
            w[i] = 0;
        }
        Graph g = new Graph("fq-weight");
        Value wv = g.input("w", Shape.of(c, k), DType.F32);
        Value y = FakeQuant.fakeQuantize(wv, FakeQuant.weightParams(wv, 0), FakeQuant.WEIGHT_QMIN, FakeQuant.WEIGHT_QMAX, false);
        try (Tensor wt = Tensor.of(w, c, k)) {
            float[] out = run(g, List.of(y), Map.of(wv, wt)).get(0).toFloatArray();
            for (int ch = 0; ch < c; ch++) {
                float amax = 0;
                for (int i = 0; i < k; i++) {
                    amax = Math.max(amax, Math.abs(w[ch * k + i]));
                }
                float scale = Math.max(amax / 127f, Math.ulp(1f));
                for (int i = 0; i < k; i++) {
                    float expected = reference(w[ch * k + i], scale, 0, -127, 127);
                    assertEquals(expected, out[ch * k + i], 0f, "channel " + ch + " element " + i);
                    // on the grid: at most half a step from the weight
                    assertTrue(Math.abs(out[ch * k + i] - w[ch * k + i]) <= scale * 0.5f + 1e-7f);
                }
            }
        }
    }

    @Test
    void perTensorAsymmetricActivationsMatchTheReferenceAndRoundTiesToEven() {
        float min = -1.3f;
        float max = 4.2f;
        float[] qp = activationReference(min, max);
        float scale = qp[0];
        float zp = qp[1];
        // values on exact half steps (ties), inside, and beyond both ends of the range
        float[] x = new float[64];
        for (int i = 0; i < 40; i++) {
            x[i] = (i - 12 + 0.5f) * scale;
        }
        for (int i = 40; i < 64; i++) {
            x[i] = -3f + i * 0.17f;
        }
        x[0] = -100f;
        x[1] = 100f;
        Graph g = new Graph("fq-act");
        Value xv = g.input("x", Shape.of(x.length), DType.F32);
        Value mn = g.input("min", Shape.of(), DType.F32);
        Value mx = g.input("max", Shape.of(), DType.F32);
        FakeQuant.Params p = FakeQuant.activationParams(mn, mx);
        Value y = FakeQuant.fakeQuantize(xv, p, 0, 255, false);
        try (Tensor xt = Tensor.of(x, x.length); Tensor mnt = Tensor.scalar(min, DType.F32); Tensor mxt = Tensor.scalar(max, DType.F32)) {
            List<Tensor> out = run(g, List.of(y, p.scale(), p.zeroPoint()), Map.of(xv, xt, mn, mnt, mx, mxt));
            assertEquals(scale, out.get(1).toFloatArray()[0], 0f, "scale");
            assertEquals(zp, out.get(2).toFloatArray()[0], 0f, "zero point");
            float[] yv = out.get(0).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertEquals(reference(x[i], scale, zp, 0, 255), yv[i], 0f, "element " + i + " x=" + x[i]);
            }
            assertEquals((0 - zp) * scale, yv[0], 0f, "clamped below");
            assertEquals((255 - zp) * scale, yv[1], 0f, "clamped above");
        }
        // ties to even, by hand: scale 1, zero point 0: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2
        Graph h = new Graph("ties");
        Value tv = h.input("x", Shape.of(4), DType.F32);
        Value one = Ops.constant(h, 1, DType.F32);
        Value zero = Ops.constant(h, 0, DType.F32);
        Value ty = FakeQuant.fakeQuantize(tv, new FakeQuant.Params(one, zero), 0, 255, false);
        try (Tensor t = Tensor.of(new float[] {0.5f, 1.5f, 2.5f, 3.5f}, 4)) {
            float[] o = run(h, List.of(ty), Map.of(tv, t)).get(0).toFloatArray();
            assertEquals(List.of(0f, 2f, 2f, 4f), List.of(o[0], o[1], o[2], o[3]));
        }
    }

    @Test
    void anObserverThatSawNothingGivesScaleOneAndZeroPointZero() {
        Graph g = new Graph("unseen");
        Value mn = g.input("min", Shape.of(), DType.F32);
        Value mx = g.input("max", Shape.of(), DType.F32);
        FakeQuant.Params p = FakeQuant.activationParams(mn, mx);
        try (Tensor a = Tensor.scalar(Double.POSITIVE_INFINITY, DType.F32); Tensor b = Tensor.scalar(Double.NEGATIVE_INFINITY, DType.F32)) {
            List<Tensor> out = run(g, List.of(p.scale(), p.zeroPoint()), Map.of(mn, a, mx, b));
            assertEquals(1f, out.get(0).toFloatArray()[0]);
            assertEquals(0f, out.get(1).toFloatArray()[0]);
        }
    }

    @Test
    void straightThroughGradientIsOneInsideTheRangeAndZeroOutside() {
        // scale 0.1, zero point 10: the range is [(0 - 10) * 0.1, (255 - 10) * 0.1] = [-1, 24.5]
        float[] x = {-3f, -1.2f, -0.5f, 0f, 0.33f, 12f, 24.4f, 24.6f, 30f};
        Graph g = new Graph("ste");
        Value xv = g.parameter("x", Shape.of(x.length), DType.F32);
        Value s = Ops.constant(g, 0.1f, DType.F32);
        Value z = Ops.constant(g, 10, DType.F32);
        Value y = FakeQuant.fakeQuantize(xv, new FakeQuant.Params(s, z), 0, 255, true);
        Value plain = FakeQuant.fakeQuantize(xv, new FakeQuant.Params(s, z), 0, 255, false);
        // d/dx sum(y * k) = k * mask
        float[] k = new float[x.length];
        for (int i = 0; i < k.length; i++) {
            k[i] = i + 1;
        }
        Value kv = g.input("k", Shape.of(x.length), DType.F32);
        Value loss = Ops.sum(Ops.mul(y, kv), false);
        Value grad = Autodiff.grad(loss, List.of(xv)).get(0);
        try (Program p = Executor.cpu().compile(g, List.of(y, plain, grad));
             Tensor xt = Tensor.of(x, x.length); Tensor kt = Tensor.of(k, k.length)) {
            p.bind(xv, xt);
            List<Tensor> out = p.run(Map.of(kv, kt));
            float[] yv = out.get(0).toFloatArray();
            float[] pv = out.get(1).toFloatArray();
            float[] gv = out.get(2).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertEquals(pv[i], yv[i], 0f, "the straight-through form is the same value, element " + i);
                double q = Math.rint((float) (x[i] * (1f / 0.1f))) + 10;
                float expected = q >= 0 && q <= 255 ? k[i] : 0f;
                assertEquals(expected, gv[i], 0f, "gradient at x=" + x[i]);
            }
        }
    }
}
