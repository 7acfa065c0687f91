package dev.frugal.runtime.precision;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutocastTest {

    /** A two-layer perceptron's training step: linear, relu, batch-norm-free linear, cross-entropy, SGD. */
    private record Step(Graph g, Value x, Value labels, Value w1, Value b1, Value w2, Value b2, Value loss, List<Value> grads) {
    }

    private static Step mlpStep(int batch, int in, int hidden, int classes) {
        Graph g = new Graph("mlp-step");
        Value x = g.input("x", Shape.of(batch, in), DType.F32);
        Value labels = g.input("labels", Shape.of(batch), DType.I32);
        Value w1 = g.parameter("w1", Shape.of(hidden, in), DType.F32);
        Value b1 = g.parameter("b1", Shape.of(hidden), DType.F32);
        Value w2 = g.parameter("w2", Shape.of(classes, hidden), DType.F32);
        Value b2 = g.parameter("b2", Shape.of(classes), DType.F32);
        Value h = Functional.linear(x, w1, b1).relu();
        Value loss = Functional.crossEntropy(Functional.linear(h, w2, b2), labels);
        List<Value> grads = Autodiff.grad(loss, List.of(w1, b1, w2, b2));
        List<Value> params = List.of(w1, b1, w2, b2);
        g.inScope("optimizer", () -> {
            for (int i = 0; i < params.size(); i++) {
                Ops.assign(params.get(i), params.get(i).sub(grads.get(i).mul(0.1)));
            }
            return null;
        });
        return new Step(g, x, labels, w1, b1, w2, b2, loss, grads);
    }

    private static Map<Node, DType> dtypesByOp(AutocastResult r, Op op) {
        Map<Node, DType> m = new HashMap<>();
        for (Node n : r.graph().nodes()) {
            if (n.op() == op) {
                m.put(n, n.output() == null ? null : n.output().dtype());
            }
        }
        return m;
    }

    @Test
    void contractionsRunInHalfLossesAndSumsInFloat32() {
        Step s = mlpStep(8, 12, 16, 5);
        AutocastResult r = Autocast.apply(s.g(), List.of(s.loss()), Precision.FP16, AutocastPolicy.standard());
        // 2 forward matmuls, 2 input gradients... (the first layer's input gradient is not needed) 3 backward
        assertTrue(dtypesByOp(r, Op.MATMUL).values().stream().allMatch(t -> t == DType.F16), r.graph().toString());
        assertEquals(5, dtypesByOp(r, Op.MATMUL).size());
        assertTrue(dtypesByOp(r, Op.REDUCE_SUM).values().stream().allMatch(t -> t == DType.F32), r.graph().toString());
        assertTrue(dtypesByOp(r, Op.EXP).values().stream().allMatch(t -> t == DType.F32));
        for (Node n : r.graph().nodes()) {
            if (n.scope().contains("cross_entropy") && n.output() != null && n.output().dtype().isFloating()) {
                assertEquals(DType.F32, n.output().dtype(), "cross-entropy runs in f32: " + n);
            }
            if (n.scope().equals("optimizer") && n.output() != null && n.op() != Op.CAST) {
                assertEquals(DType.F32, n.output().dtype(), "the update runs on f32 master weights: " + n);
            }
        }
        // the bias add after a half matmul stays half; relu follows it
        assertEquals(DType.F16, r.valueOf(s.g().nodes().stream().filter(n -> n.op() == Op.RELU).findFirst().orElseThrow().output()).dtype());
        // outputs keep their traced dtypes; inputs are not cast in place
        assertEquals(DType.F32, r.outputs().get(0).dtype());
        assertEquals(DType.F32, r.valueOf(s.w1()).dtype());
    }

    @Test
    void eachWeightIsCastOnceForForwardAndBackward() {
        Step s = mlpStep(8, 12, 16, 5);
        AutocastResult r = Autocast.apply(s.g(), List.of(s.loss()), Precision.BF16, AutocastPolicy.standard());
        for (Value w : List.of(s.w1(), s.w2())) {
            Value copy = r.valueOf(w);
            long castsOfW = r.graph().nodes().stream().filter(n -> n.op() == Op.CAST && n.input(0) == copy).count();
            assertEquals(1, castsOfW, "one bf16 copy of " + w.ref() + " per step\n" + r.graph());
        }
        // w2 is read by the forward matmul and the hidden-gradient matmul: both read the one cast
        Value w2Cast = r.graph().nodes().stream().filter(n -> n.op() == Op.CAST && n.input(0) == r.valueOf(s.w2())).findFirst().orElseThrow().output();
        long readers = r.graph().nodes().stream().filter(n -> n.op() == Op.MATMUL && n.inputs().contains(w2Cast)).count();
        assertEquals(2, readers);
        assertEquals(4, r.report().parameterCasts(), "weights and biases, each cast once");
        assertTrue(r.report().lines().get(0).startsWith("autocast bf16:"), r.report().lines().toString());
    }

    @Test
    void gradientsReachTheOptimizerInFloat32() {
        Step s = mlpStep(8, 12, 16, 5);
        AutocastResult r = Autocast.apply(s.g(), List.of(s.loss()), Precision.FP16, AutocastPolicy.standard());
        for (Node n : r.graph().effects()) {
            assertEquals(DType.F32, n.input(1).dtype(), "assignment of " + n.input(0).ref());
        }
        // the weight gradient itself comes out of a half matmul and is widened where the update reads it
        Value dw1 = r.valueOf(s.grads().get(0));
        assertEquals(DType.F16, dw1.dtype());
        assertTrue(r.graph().nodes().stream().anyMatch(n -> n.op() == Op.CAST && n.input(0) == dw1 && n.output().dtype() == DType.F32));
    }

    @Test
    void halfStepMatchesTheFloat32StepWithinHalfPrecision() {
        int batch = 16;
        Step s = mlpStep(batch, 20, 24, 6);
        Random rnd = new Random(7);
        Map<Value, Tensor> params = new HashMap<>();
        for (Value p : List.of(s.w1(), s.b1(), s.w2(), s.b2())) {
            float[] v = new float[(int) p.shape().numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rnd.nextGaussian() * 0.3);
            }
            params.put(p, Tensor.of(v, p.shape().dims()));
        }
        float[] xs = new float[batch * 20];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) rnd.nextGaussian();
        }
        int[] ys = new int[batch];
        for (int i = 0; i < batch; i++) {
            ys[i] = rnd.nextInt(6);
        }
        List<Double> losses = new ArrayList<>();
        List<float[]> w1After = new ArrayList<>();
        for (Precision precision : List.of(Precision.FP32, Precision.FP16, Precision.BF16)) {
            Map<Value, Tensor> copies = new HashMap<>();
            params.forEach((k, v) -> copies.put(k, Tensor.of(v.toFloatArray(), k.shape().dims())));
            try (Program p = Executor.cpu().withAutocast(precision).compile(s.g(), List.of(s.loss()));
                 Tensor x = Tensor.of(xs, batch, 20); Tensor y = Tensor.ofInts(ys, batch)) {
                copies.forEach(p::bind);
                Tensor loss = p.run(Map.of(s.x(), x, s.labels(), y)).get(0);
                assertEquals(DType.F32, loss.dtype());
                losses.add(loss.getFlat(0));
                w1After.add(copies.get(s.w1()).toFloatArray());
                assertEquals(precision, p.autocastReport().precision());
            } finally {
                copies.values().forEach(Tensor::close);
            }
        }
        float[] w1Initial = params.get(s.w1()).toFloatArray();
        params.values().forEach(Tensor::close);
        assertEquals(losses.get(0), losses.get(1), 5e-3 * Math.abs(losses.get(0)), "fp16 loss " + losses);
        assertEquals(losses.get(0), losses.get(2), 3e-2 * Math.abs(losses.get(0)), "bf16 loss " + losses);
        // the updates agree in direction and size (a relu near zero may flip in half precision)
        float[] before = w1Initial;
        for (int k = 1; k < 3; k++) {
            double dot = 0;
            double refNorm = 0;
            double gotNorm = 0;
            for (int i = 0; i < before.length; i++) {
                double ref = w1After.get(0)[i] - before[i];
                double got = w1After.get(k)[i] - before[i];
                dot += ref * got;
                refNorm += ref * ref;
                gotNorm += got * got;
            }
            double cosine = dot / Math.sqrt(refNorm * gotNorm);
            assertTrue(cosine > 0.99, "w1 update in " + (k == 1 ? "fp16" : "bf16") + " has cosine " + cosine + " to the fp32 update");
            assertEquals(1.0, Math.sqrt(gotNorm / refNorm), 0.03);
        }
    }

    @Test
    void fp32IsTheIdentityAndFloat64IsNeverLowered() {
        Step s = mlpStep(4, 6, 8, 3);
        AutocastResult same = Autocast.apply(s.g(), List.of(s.loss()), Precision.FP32, AutocastPolicy.standard());
        assertSame(s.g(), same.graph());
        assertSame(s.loss(), same.outputs().get(0));

        Graph g = new Graph("f64");
        Value a = g.input("a", Shape.of(3, 4), DType.F64);
        Value b = g.parameter("b", Shape.of(4, 2), DType.F64);
        Value y = Ops.matmul(a, b).exp().sum();
        AutocastResult r = Autocast.apply(g, List.of(y), Precision.FP16, AutocastPolicy.standard());
        for (Node n : r.graph().nodes()) {
            if (n.output() != null) {
                assertEquals(DType.F64, n.output().dtype(), n.toString());
            }
        }
    }

    @Test
    void batchNormStatisticsAreFloat32AndItsOutputFollowsTheInput() {
        Graph g = new Graph("bn");
        Value x = g.input("x", Shape.of(4, 3, 5, 5), DType.F32);
        Value w = g.parameter("w", Shape.of(3, 3, 3, 3), DType.F32);
        Value gamma = g.parameter("gamma", Shape.of(3), DType.F32);
        Value beta = g.parameter("beta", Shape.of(3), DType.F32);
        Value conv = Ops.conv2d(x, w, new dev.frugal.runtime.graph.OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 1));
        Functional.BatchNormResult bn = Functional.batchNorm2dTrain(conv, gamma, beta, null, null, 0.1, 1e-5);
        Value y = bn.output().relu().sum();
        AutocastResult r = Autocast.apply(g, List.of(y), Precision.FP16, AutocastPolicy.standard());
        assertEquals(DType.F16, r.valueOf(conv).dtype());
        assertEquals(DType.F16, r.valueOf(bn.output()).dtype(), r.graph().toString());
        for (Node n : r.graph().nodes()) {
            if (n.op() == Op.REDUCE_SUM) {
                assertEquals(DType.F32, n.output().dtype());
            }
            if (n.op() == Op.MUL && n.scope().contains("batch_norm") && n.output().shape().numel() == conv.shape().numel()
                    && n.inputs().get(0) == n.inputs().get(1)) {
                assertEquals(DType.F32, n.output().dtype(), "the squared deviations are summed: computed in f32 " + n);
            }
        }
    }

    @Test
    void outputsOfAnotherGraphAreRefused() {
        Step s = mlpStep(4, 6, 8, 3);
        Graph other = new Graph("other");
        Value v = other.input("v", Shape.of(2), DType.F32);
        assertThrows(IllegalArgumentException.class, () -> Autocast.apply(s.g(), List.of(v), Precision.FP16, AutocastPolicy.standard()));
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp8"));
        assertEquals(Precision.BF16, Precision.parse("BF16"));
    }
}
