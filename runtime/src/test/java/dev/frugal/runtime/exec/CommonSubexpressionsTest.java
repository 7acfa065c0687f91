package dev.frugal.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.Precision;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Repeated nodes are merged before fusion ({@link CommonSubexpressions}): chains of repeats
 * collapse, inputs and assignments stay, results and bindings are those of the traced graph.
 */
class CommonSubexpressionsTest {

    /** Two parameters updated with the same step-dependent scalar chain, as an optimizer traces it per parameter. */
    private record Step(Graph graph, Value x, Value w1, Value w2, Value t, Value loss) {
    }

    private static Step step() {
        Graph g = new Graph("repeats");
        Value x = g.input("x", Shape.of(4, 3), DType.F32);
        Value w1 = g.parameter("w1", Shape.of(4, 3), DType.F32);
        Value w2 = g.parameter("w2", Shape.of(3), DType.F32);
        Value t = g.state("t", Shape.of(), DType.F32);
        Value loss = Ops.sum(Ops.mul(Ops.add(x, w1), w2), false);
        for (Value w : List.of(w1, w2)) {
            // 1 - 0.9^t, traced again for each parameter
            Value correction = Ops.sub(Ops.constant(g, 1, DType.F32), Ops.pow(Ops.constant(g, 0.9, DType.F32), t));
            Ops.assign(w, Ops.sub(w, Ops.mul(Ops.mul(w, Ops.constant(g, 0.01, DType.F32)), correction)));
        }
        Ops.assign(t, Ops.add(t, Ops.constant(g, 1, DType.F32)));
        return new Step(g, x, w1, w2, t, loss);
    }

    @Test
    void repeatedChainsCollapseAndInputsAndAssignmentsStay() {
        Step s = step();
        CommonSubexpressions.Result r = CommonSubexpressions.apply(s.graph(), List.of(s.loss()));
        // the second 1, 0.9, pow, sub and 0.01, and the third 1 (t + 1)
        assertEquals(6, r.merged(), r.graph().toString());
        List<dev.frugal.runtime.graph.Node> nodes = r.graph().nodes();
        assertEquals(3, nodes.stream().filter(n -> n.op() == Op.ASSIGN).count(), "assignments are never merged");
        assertEquals(4, nodes.stream().filter(n -> n.op() == Op.INPUT).count());
        assertEquals(1, nodes.stream().filter(n -> n.op() == Op.POW).count());
        assertEquals(3, nodes.stream().filter(n -> n.op() == Op.CONSTANT).count(), "1, 0.9 and 0.01 once each");
        assertSame(r.graph().inputNamed("w1"), r.inputFor(s.w1()));
    }

    @Test
    void tensorSizedElementwiseRepeatsStayForFusion() {
        // the autocast pass's per-reader widening casts: merged, one cast would be stored in float32
        Graph g = new Graph("casts");
        Value x = g.input("x", Shape.of(8, 16), DType.F16);
        Value a = Ops.sum(Ops.cast(x, DType.F32), false, 1);
        Value b = Ops.exp(Ops.cast(x, DType.F32));
        Value y = g.input("y", Shape.of(8, 16), DType.F32);
        Value w = g.input("w", Shape.of(16, 4), DType.F32);
        Value c = Ops.matmul(y, w);
        Value d = Ops.matmul(y, w);
        CommonSubexpressions.Result r = CommonSubexpressions.apply(g, List.of(a, b, c, d));
        assertEquals(2, r.graph().nodes().stream().filter(n -> n.op() == Op.CAST).count(), r.graph().toString());
        assertEquals(1, r.graph().nodes().stream().filter(n -> n.op() == Op.MATMUL).count(), "a repeated matmul is work saved");
    }

    @Test
    void aGraphWithoutRepeatsIsKeptAsItIs() {
        Graph g = new Graph("plain");
        Value x = g.input("x", Shape.of(3), DType.F32);
        Value y = Ops.exp(Ops.neg(x));
        CommonSubexpressions.Result r = CommonSubexpressions.apply(g, List.of(y));
        assertSame(g, r.graph());
        assertEquals(List.of(y), r.outputs());
        assertEquals(0, r.merged());
    }

    @Test
    void theMergedProgramComputesAndUpdatesWhatTheTracedOneDoes() {
        for (Precision precision : List.of(Precision.FP32, Precision.FP16)) {
            float[] merged = run(Executor.cpu().withAutocast(precision), precision);
            float[] plain = run(Executor.cpu().withAutocast(precision).withFusion(false), precision);
            assertArrayEquals(plain, merged, precision + ": loss, w1, w2 and t after two steps");
        }
        Step s = step();
        try (Program fused = Executor.cpu().compile(s.graph(), List.of(s.loss()));
             Program plain = Executor.cpu().withFusion(false).compile(s.graph(), List.of(s.loss()))) {
            assertTrue(fused.stepCount() < plain.stepCount(), fused.listing() + "\n" + plain.listing());
            assertEquals(1, fused.listing().lines().filter(l -> l.contains("fused(pow,sub)")).count(), "one bias correction: " + fused.listing());
            assertEquals(3, fused.listing().lines().filter(l -> l.startsWith("  once: constant")).count(), "three constants, made once: " + fused.listing());
        }
    }

    /** Two steps of {@link #step()}: the losses, then w1, w2 and t, flattened. */
    private static float[] run(Executor executor, Precision precision) {
        Step s = step();
        try (Program p = executor.compile(s.graph(), List.of(s.loss()));
             Tensor x = Tensor.of(new float[] {1, -2, 3, 0.5f, 2, -1, 4, 1, -3, 2, 0, 1}, 4, 3);
             Tensor w1 = Tensor.of(new float[] {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, 0.9f, -1, 1.1f, 1.2f}, 4, 3);
             Tensor w2 = Tensor.of(new float[] {0.5f, -1, 2}, 3);
             Tensor t = Tensor.of(new float[] {1}, new int[0])) {
            p.bind(s.w1(), w1);
            p.bind(s.w2(), w2);
            p.bind(s.t(), t);
            float first = p.run(Map.of(s.x(), x)).getFirst().toFloatArray()[0];
            float second = p.run(Map.of(s.x(), x)).getFirst().toFloatArray()[0];
            float[] a = w1.toFloatArray();
            float[] b = w2.toFloatArray();
            float[] out = new float[2 + a.length + b.length + 1];
            out[0] = first;
            out[1] = second;
            System.arraycopy(a, 0, out, 2, a.length);
            System.arraycopy(b, 0, out, 2 + a.length, b.length);
            out[out.length - 1] = t.toFloatArray()[0];
            return out;
        }
    }
}
