package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.TraceException;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.Distribution;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Finite-difference checks in float64 of fused attention's gradient (the ATTENTION_GRAD node,
 * sliced into dq, dk and dv). The float64 kernels use key blocks of 3, so sequences of 4 to 8
 * positions cross several blocks, the online rescaling and, when causal, the diagonal.
 */
class AttentionGradientTest {

    @Test
    void causal() {
        GradientCheck.of("attention_causal").input("q", Shape.of(2, 1, 7, 4)).input("k", Shape.of(2, 1, 7, 4)).input("v", Shape.of(2, 1, 7, 4))
                .check(in -> Functional.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), true));
    }

    @Test
    void notCausal() {
        GradientCheck.of("attention").input("q", Shape.of(1, 2, 5, 3)).input("k", Shape.of(1, 2, 5, 3)).input("v", Shape.of(1, 2, 5, 3))
                .check(in -> Functional.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), false));
    }

    @Test
    void onePositionAndAnExplicitScale() {
        GradientCheck.of("attention_t1").input("q", Shape.of(2, 2, 1, 3)).input("k", Shape.of(2, 2, 1, 3)).input("v", Shape.of(2, 2, 1, 3))
                .check(in -> Functional.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), true, 0.7));
    }

    @Test
    void peakedScoresAndTheSameValueAsQueryAndKey() {
        // q = k = x: gradients from both operands add up; large scores make the softmax peaked
        GradientCheck.of("self_attention").input("x", Shape.of(1, 1, 8, 2), Distribution.uniform(-2, 2)).input("v", Shape.of(1, 1, 8, 2))
                .check(in -> Functional.scaledDotProductAttention(in.get(0), in.get(0), in.get(1), true, 2.0));
    }

    @Test
    void onlyTheInputsThatNeedAGradientAreSliced() {
        Graph g = new Graph("partial");
        Value q = g.input("q", Shape.of(1, 1, 4, 2), DType.F64);
        Value k = g.input("k", Shape.of(1, 1, 4, 2), DType.F64);
        Value v = g.input("v", Shape.of(1, 1, 4, 2), DType.F64);
        Value loss = Ops.sum(Functional.scaledDotProductAttention(q, k, v, false), false);
        Autodiff.grad(loss, List.of(v));
        long slices = g.nodes().stream().filter(n -> n.op() == dev.frugal.runtime.graph.Op.SLICE).count();
        assertTrue(slices == 1, "one slice (dv) expected:\n" + g);
    }

    @Test
    void secondDerivativesAreRefusedNamingTheOp() {
        Graph g = new Graph("second");
        Value q = g.input("q", Shape.of(1, 1, 3, 2), DType.F64);
        Value loss = Ops.sum(Functional.scaledDotProductAttention(q, q, q, true), false);
        Value dq = Autodiff.grad(loss, List.of(q)).get(0);
        TraceException e = assertThrows(TraceException.class, () -> Autodiff.grad(Ops.sum(dq, false), List.of(q)));
        assertTrue(e.getMessage().startsWith("attention_grad: has no gradient rule"), e.getMessage());
    }
}
