package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.AutocastReport;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused ATTENTION and ATTENTION_GRAD kernels against the unfused reference traced from
 * primitives ({@code matmul}, a causal mask from {@code iota} and {@code where},
 * {@link Functional#softmax}, {@code matmul}) and its autodiff gradients, computed in float64 from
 * the same (rounded) inputs: shapes with one position, odd T and D, several query and key blocks
 * with partial tails, causal and not, in F64, F32, F16 and BF16 with per-dtype tolerances. Then
 * what the passes make of the op: FLOPs, printing, autocast, the arena for a long sequence (no
 * T x T buffer), and checkpointed recomputation.
 */
class CpuAttentionTest {

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 1, 8}, {2, 2, 7, 5}, {1, 2, 33, 17}, {1, 1, 64, 16}, {2, 1, 97, 64}, {1, 1, 130, 3},
            {1, 2, 200, 40}};
        for (int[] s : shapes) {
            for (boolean causal : new boolean[] {false, true}) {
                for (DType t : new DType[] {DType.F64, DType.F32, DType.F16, DType.BF16}) {
                    if (t == DType.F64 && s[2] > 64) {
                        continue; // the float64 path is a scalar reference; long sequences only need the float kernels
                    }
                    out.add(Arguments.of(Shape.of(s), causal, t));
                }
            }
        }
        return out.stream();
    }

    /**
     * Relative error allowed, against the largest magnitude of the expected values: float64 and
     * float32 accumulate in their own precision; half types round their inputs to the op and the
     * result once (F16 has 11 significant bits, BF16 8).
     */
    private static double tolerance(DType t) {
        return switch (t) {
            case F64 -> 1e-12;
            case F32 -> 2e-5;
            case F16 -> 4e-3;
            default -> 3e-2;
        };
    }

    @ParameterizedTest(name = "{0} causal={1} {2}")
    @MethodSource("cases")
    void forwardAndGradientsMatchTheUnfusedReference(Shape shape, boolean causal, DType t) {
        Random rnd = new Random(shape.hashCode() * 31L + (causal ? 1 : 0) + t.ordinal() * 7L);
        Graph g = new Graph("attention");
        Value q = g.input("q", shape, t);
        Value k = g.input("k", shape, t);
        Value v = g.input("v", shape, t);
        Value r = g.input("r", shape, DType.F64);
        Value fused = Functional.scaledDotProductAttention(q, k, v, causal);
        Value fusedLoss = Ops.sum(Ops.mul(Ops.cast(fused, DType.F64), r), false);
        List<Value> fusedGrads = Autodiff.grad(fusedLoss, List.of(q, k, v));

        Value q64 = Ops.cast(q, DType.F64);
        Value k64 = Ops.cast(k, DType.F64);
        Value v64 = Ops.cast(v, DType.F64);
        Value ref = reference(q64, k64, v64, causal, 1.0 / Math.sqrt(shape.dim(3)));
        Value refLoss = Ops.sum(Ops.mul(ref, r), false);
        List<Value> refGrads = Autodiff.grad(refLoss, List.of(q64, k64, v64));

        List<Value> outs = new ArrayList<>(List.of(fused, ref));
        outs.addAll(fusedGrads);
        outs.addAll(refGrads);
        Map<Value, Tensor> feeds = new HashMap<>();
        feeds.put(q, CpuReference.random(rnd, t, shape, -2, 2));
        feeds.put(k, CpuReference.random(rnd, t, shape, -2, 2));
        feeds.put(v, CpuReference.random(rnd, t, shape, -1, 1));
        feeds.put(r, CpuReference.random(rnd, DType.F64, shape, -1, 1));
        try {
            List<double[]> res = GraphRun.run(g, outs, feeds);
            String what = shape + " causal=" + causal + " " + t;
            assertClose(res.get(1), res.get(0), tolerance(t), what + " output");
            String[] names = {"dq", "dk", "dv"};
            for (int i = 0; i < 3; i++) {
                assertClose(res.get(5 + i), res.get(2 + i), 2 * tolerance(t), what + " " + names[i]);
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    /** {@code softmax(q kᵀ * scale + mask) v} from primitives: the T x T scores exist as a value. */
    static Value reference(Value q, Value k, Value v, boolean causal, double scale) {
        Graph g = q.graph();
        Value s = Ops.mul(Ops.matmul(q, k, false, true), Ops.constant(g, scale, q.dtype()));
        if (causal) {
            int t = q.shape().dim(2);
            Shape square = Shape.of(t, t);
            Value visible = Ops.ge(Ops.iota(g, square, 0, DType.I32), Ops.iota(g, square, 1, DType.I32));
            s = Ops.where(visible, s, Ops.constant(g, Double.NEGATIVE_INFINITY, q.dtype()));
        }
        return Ops.matmul(Functional.softmax(s, -1), v);
    }

    /** Largest error within {@code tol} times the largest expected magnitude (at least 1e-3 of it for tiny outputs). */
    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        scale = Math.max(scale, 1e-3);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]);
            if (!(err <= tol * scale)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[i]
                        + " (error " + err + " > " + tol + " x " + scale + ")");
            }
        }
    }

    @Test
    void causalAttentionIgnoresTheFuture() {
        // Changing the last key and value changes only the last query's output.
        Shape shape = Shape.of(1, 2, 70, 9);
        Random rnd = new Random(3);
        Graph g = new Graph("future");
        Value q = g.input("q", shape, DType.F32);
        Value k = g.input("k", shape, DType.F32);
        Value v = g.input("v", shape, DType.F32);
        Value out = Functional.scaledDotProductAttention(q, k, v, true);
        try (Tensor qt = CpuReference.random(rnd, DType.F32, shape, -1, 1);
             Tensor kt = CpuReference.random(rnd, DType.F32, shape, -1, 1);
             Tensor vt = CpuReference.random(rnd, DType.F32, shape, -1, 1);
             Program p = Executor.cpu().compile(g, List.of(out))) {
            double[] before = p.run(Map.of(q, qt, k, kt, v, vt)).get(0).toDoubleArray();
            for (int h = 0; h < 2; h++) {
                for (int d = 0; d < 9; d++) {
                    kt.setDouble(5, 0, h, 69, d);
                    vt.setDouble(-7, 0, h, 69, d);
                }
            }
            double[] after = p.run(Map.of(q, qt, k, kt, v, vt)).get(0).toDoubleArray();
            for (int h = 0; h < 2; h++) {
                for (int i = 0; i < 70; i++) {
                    for (int d = 0; d < 9; d++) {
                        int at = (h * 70 + i) * 9 + d;
                        if (i < 69) {
                            assertEquals(before[at], after[at], 0.0, "query " + i + " must not see key 69");
                        } else {
                            assertTrue(before[at] != after[at], "query 69 sees key 69");
                        }
                    }
                }
            }
        }
    }

    @Test
    void graphShowsTheFusedNodesAndTheirFlops() {
        Graph g = new Graph("flops");
        Shape shape = Shape.of(2, 3, 10, 4);
        Value q = g.input("q", shape, DType.F32);
        Value k = g.input("k", shape, DType.F32);
        Value v = g.input("v", shape, DType.F32);
        Value causal = Functional.scaledDotProductAttention(q, k, v, true);
        Value full = Functional.scaledDotProductAttention(q, k, v, false);
        String listing = g.toString();
        assertTrue(listing.contains("attention(q, k, v; causal scale=0.5) : f32[2,3,10,4]"), listing);
        assertTrue(listing.contains("[scaled_dot_product_attention]"), listing);
        long pairs = 10 * 10;
        long causalPairs = 10 * 11 / 2;
        assertEquals(4L * 2 * 3 * 4 * causalPairs, Executor.cpu().plan(g, List.of(causal)).stepFlops());
        assertEquals(4L * 2 * 3 * 4 * pairs, Executor.cpu().plan(g, List.of(full)).stepFlops());
        Value loss = Ops.sum(causal, false);
        List<Value> grads = Autodiff.grad(loss, List.of(q, k, v));
        String withGrad = g.toString();
        assertTrue(withGrad.contains("attention_grad(q, k, v, %"), withGrad);
        assertTrue(withGrad.contains(": f32[3,2,3,10,4]"), withGrad);
        long attentionGrad = g.nodes().stream().filter(n -> n.op() == Op.ATTENTION_GRAD).count();
        assertEquals(1, attentionGrad, "dq, dk and dv come from one fused node");
        long forward = 4L * 2 * 3 * 4 * causalPairs;
        long stepFlops = Executor.cpu().plan(g, grads).stepFlops();
        assertTrue(stepFlops >= forward + 3 * forward && stepFlops < forward + 3 * forward + 2000, "step FLOPs " + stepFlops);
    }

    @Test
    void autocastRunsAttentionInHalfPrecisionWithFloat32Softmax() {
        Shape shape = Shape.of(2, 2, 40, 16);
        Random rnd = new Random(9);
        Graph g = new Graph("autocast");
        Value q = g.parameter("q", shape, DType.F32);
        Value k = g.parameter("k", shape, DType.F32);
        Value v = g.parameter("v", shape, DType.F32);
        Value out = Functional.scaledDotProductAttention(q, k, v, true);
        Value loss = Ops.sum(Ops.mul(out, out), false);
        List<Value> outs = new ArrayList<>(List.of(loss));
        outs.addAll(Autodiff.grad(loss, List.of(q, k, v)));
        for (Precision precision : new Precision[] {Precision.FP16, Precision.BF16}) {
            Executor ex = Executor.cpu().withAutocast(precision);
            AutocastReport report = ex.autocastReport(g, outs);
            assertEquals(1, report.opsIn(Op.ATTENTION, precision.lowDtype()), report.lines().toString());
            assertEquals(1, report.opsIn(Op.ATTENTION_GRAD, precision.lowDtype()), report.lines().toString());
            try (Tensor qt = CpuReference.random(rnd, DType.F32, shape, -1, 1);
                 Tensor kt = CpuReference.random(rnd, DType.F32, shape, -1, 1);
                 Tensor vt = CpuReference.random(rnd, DType.F32, shape, -1, 1);
                 Program low = ex.compile(g, outs);
                 Program full = Executor.cpu().compile(g, outs)) {
                for (Program p : List.of(low, full)) {
                    p.bind(q, qt);
                    p.bind(k, kt);
                    p.bind(v, vt);
                }
                List<double[]> a = copies(low.run(Map.of()));
                List<double[]> b = copies(full.run(Map.of()));
                double tol = precision == Precision.FP16 ? 1e-2 : 5e-2;
                for (int i = 0; i < a.size(); i++) {
                    assertClose(b.get(i), a.get(i), tol, precision + " output " + i);
                }
            }
        }
    }

    private static List<double[]> copies(List<Tensor> ts) {
        List<double[]> out = new ArrayList<>();
        for (Tensor t : ts) {
            out.add(t.toDoubleArray());
        }
        return out;
    }

    @Test
    void theArenaOfALongSequenceHasNoTxTBuffer() {
        int b = 1;
        int h = 2;
        int t = 2048;
        int d = 16;
        long fused = arena(t, b, h, d, true);
        long unfused = arena(t, b, h, d, false);
        long scores = 4L * b * h * t * t; // one float32 T x T score matrix
        long operand = 4L * b * h * t * d;
        assertTrue(unfused >= scores, "the unfused program holds T x T scores: " + unfused);
        assertTrue(fused < scores / 8, "fused arena " + fused + " vs one T x T matrix " + scores);
        assertTrue(fused <= 16 * operand, "fused arena " + fused + " is a few [B,H,T,D] values (" + operand + " bytes each)");
        assertTrue(fused * 20 < unfused, "fused " + fused + " vs unfused " + unfused);
    }

    /** The activation arena of a forward and backward pass (loss sum(out * r), gradients of q, k, v). */
    private static long arena(int t, int b, int h, int d, boolean fused) {
        Graph g = new Graph("arena");
        Shape shape = Shape.of(b, h, t, d);
        Value q = g.parameter("q", shape, DType.F32);
        Value k = g.parameter("k", shape, DType.F32);
        Value v = g.parameter("v", shape, DType.F32);
        Value r = g.input("r", shape, DType.F32);
        Value out = fused ? Functional.scaledDotProductAttention(q, k, v, true) : reference(q, k, v, true, 1.0 / Math.sqrt(d));
        Value loss = Ops.sum(Ops.mul(out, r), false);
        List<Value> outs = new ArrayList<>(List.of(loss));
        outs.addAll(Autodiff.grad(loss, List.of(q, k, v)));
        MemoryPlan plan = Executor.cpu().plan(g, outs);
        return plan.activationBytes();
    }

    @Test
    void checkpointedTrainingStepIsBitIdentical() {
        // Residual blocks of fused causal attention with SGD updates, compiled plainly and under a
        // budget that forces recomputation: the recomputed attention gives the same bits.
        Step plain = step(8);
        List<float[]> expected = runStep(Executor.cpu(), plain);
        MemoryPlan unplanned = Executor.cpu().plan(plain.graph, plain.outputs);
        MemoryPlan smallest = Executor.cpu().withMemoryBudget(unplanned.boundBytes()).plan(plain.graph, plain.outputs);
        long budget = (smallest.smallestPeakBytes() + unplanned.predictedPeakBytes()) / 2;
        Step again = step(8);
        Executor budgeted = Executor.cpu().withMemoryBudget(budget);
        MemoryPlan planned = budgeted.plan(again.graph, again.outputs);
        assertTrue(planned.checkpointed() && planned.fits(), planned.explain());
        List<float[]> actual = runStep(budgeted, again);
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "output/parameter " + i + " differs when recomputed");
        }
    }

    private record Step(Graph graph, List<Value> outputs, Map<Value, Tensor> bound, Map<Value, Tensor> feeds) {
    }

    private static Step step(int depth) {
        Random rnd = new Random(17);
        int b = 2;
        int t = 24;
        int heads = 2;
        int width = 16;
        Graph g = new Graph("fused-attention-step");
        Value x = g.input("x", Shape.of(b, t, width), DType.F32);
        Map<Value, Tensor> bound = new HashMap<>();
        List<Value> params = new ArrayList<>();
        Value h = x;
        for (int i = 0; i < depth; i++) {
            Value wqkv = g.parameter("wqkv" + i, Shape.of(3 * width, width), DType.F32);
            Value wo = g.parameter("wo" + i, Shape.of(width, width), DType.F32);
            bound.put(wqkv, CpuReference.random(rnd, DType.F32, wqkv.shape(), -0.25, 0.25));
            bound.put(wo, CpuReference.random(rnd, DType.F32, wo.shape(), -0.25, 0.25));
            params.add(wqkv);
            params.add(wo);
            Value qkv = Ops.permute(Ops.reshape(Functional.linear(h, wqkv, null), b, t, 3, heads, width / heads), 2, 0, 3, 1, 4);
            Value[] parts = new Value[3];
            for (int j = 0; j < 3; j++) {
                parts[j] = Ops.reshape(Ops.slice(qkv, 0, j, j + 1, 1), b, heads, t, width / heads);
            }
            Value att = Functional.scaledDotProductAttention(parts[0], parts[1], parts[2], true);
            Value merged = Ops.reshape(Ops.permute(att, 0, 2, 1, 3), b, t, width);
            h = Ops.add(h, Functional.linear(merged, wo, null));
        }
        Value loss = Ops.mean(Ops.mul(h, h), false);
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Ops.assign(params.get(i), Ops.sub(params.get(i), Ops.mul(grads.get(i), Ops.constant(g, 0.05, DType.F32))));
        }
        Map<Value, Tensor> feeds = Map.of(x, CpuReference.random(rnd, DType.F32, x.shape(), -1, 1));
        return new Step(g, List.of(loss), bound, feeds);
    }

    private static List<float[]> runStep(Executor ex, Step s) {
        try (Program p = ex.compile(s.graph, s.outputs)) {
            s.bound.forEach(p::bind);
            List<float[]> out = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                out.add(p.run(s.feeds).get(0).toFloatArray());
            }
            s.bound.entrySet().stream().sorted((a, c) -> a.getKey().ref().compareTo(c.getKey().ref()))
                    .forEach(e -> out.add(e.getValue().toFloatArray()));
            return out;
        } finally {
            s.bound.values().forEach(Tensor::close);
            s.feeds.values().forEach(Tensor::close);
        }
    }
}
