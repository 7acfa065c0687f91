package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.TraceException;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.GraphRun;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transformation itself: graph structure, accumulation, zeros, rejections and errors. */
class AutodiffTest {

    @Test
    void gradientsAreNodesOfTheSameGraphInTheGradScope() {
        Graph g = new Graph("mlp");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value w = g.parameter("w", Shape.of(4, 3), DType.F32);
        int before = g.nodes().size();
        Value loss = Ops.sum(Functional.linear(x, w, null).tanh(), false);
        List<Value> grads = Autodiff.grad(loss, List.of(w));
        assertSame(g, grads.get(0).graph());
        assertEquals(w.shape(), grads.get(0).shape());
        assertEquals(DType.F32, grads.get(0).dtype());
        long gradNodes = g.nodes().stream().skip(before).filter(n -> n.scope().equals(Autodiff.SCOPE)).count();
        assertTrue(gradNodes > 0, "no node was traced in the grad scope:\n" + g);
        String listing = g.toString();
        assertTrue(listing.contains("[grad]"), listing);
        assertTrue(listing.contains("[linear]"), listing);
        // the printed call site is the test's line, not the autodiff internals
        assertTrue(listing.contains("AutodiffTest."), listing);
    }

    @Test
    void unusedWrtGetsZeros() {
        Graph g = new Graph("unused");
        Value x = g.input("x", Shape.of(3), DType.F64);
        Value unused = g.input("unused", Shape.of(2, 2), DType.F64);
        Value loss = Ops.sum(Ops.mul(x, x), false);
        List<Value> grads = Autodiff.grad(loss, List.of(x, unused));
        try (Tensor xt = Tensor.of(new double[] {1, -2, 3}, DType.F64, 3);
             Tensor ut = Tensor.of(new double[] {5, 6, 7, 8}, DType.F64, 2, 2)) {
            List<double[]> out = GraphRun.run(g, grads, Map.of(x, xt, unused, ut));
            assertArrayEquals(new double[] {2, -4, 6}, out.get(0), 0);
            assertArrayEquals(new double[] {0, 0, 0, 0}, out.get(1), 0);
        }
    }

    @Test
    void fanOutAccumulatesEveryUse() {
        // y = x*x + 3x + exp(x): dy/dx = 2x + 3 + exp(x), from four uses of x
        Graph g = new Graph("fanout");
        Value x = g.input("x", Shape.of(4), DType.F64);
        Value y = Ops.add(Ops.add(Ops.mul(x, x), x.mul(3)), Ops.exp(x));
        Value dx = Autodiff.grad(Ops.sum(y, false), List.of(x)).get(0);
        double[] xs = {-1, 0, 0.5, 2};
        try (Tensor xt = Tensor.of(xs, DType.F64, 4)) {
            double[] got = GraphRun.run(g, dx, Map.of(x, xt));
            for (int i = 0; i < xs.length; i++) {
                assertEquals(2 * xs[i] + 3 + Math.exp(xs[i]), got[i], 1e-12);
            }
        }
    }

    @Test
    void vjpWithSeveralOutputsSumsTheirContributions() {
        Graph g = new Graph("vjp");
        Value x = g.input("x", Shape.of(2), DType.F64);
        Value ct1 = g.input("ct1", Shape.of(2), DType.F64);
        Value ct2 = g.input("ct2", Shape.of(2), DType.F64);
        Value y1 = Ops.mul(x, x);
        Value y2 = x.mul(5);
        Value dx = Autodiff.vjp(List.of(y1, y2), List.of(ct1, ct2), List.of(x)).get(0);
        try (Tensor xt = Tensor.of(new double[] {1, 2}, DType.F64, 2);
             Tensor c1 = Tensor.of(new double[] {1, 10}, DType.F64, 2);
             Tensor c2 = Tensor.of(new double[] {100, 1000}, DType.F64, 2)) {
            double[] got = GraphRun.run(g, dx, Map.of(x, xt, ct1, c1, ct2, c2));
            assertArrayEquals(new double[] {2 * 1 * 1 + 5 * 100, 2 * 2 * 10 + 5 * 1000}, got, 1e-12);
        }
    }

    @Test
    void gradientWithRespectToAnIntermediateValue() {
        Graph g = new Graph("intermediate");
        Value x = g.input("x", Shape.of(2), DType.F64);
        Value h = Ops.exp(x);
        Value loss = Ops.sum(Ops.mul(h, h), false);
        List<Value> grads = Autodiff.grad(loss, List.of(h, x));
        try (Tensor xt = Tensor.of(new double[] {0, 1}, DType.F64, 2)) {
            List<double[]> got = GraphRun.run(g, grads, Map.of(x, xt));
            assertArrayEquals(new double[] {2, 2 * Math.E}, got.get(0), 1e-12);
            assertArrayEquals(new double[] {2, 2 * Math.E * Math.E}, got.get(1), 1e-12);
        }
    }

    @Test
    void integerAndBoolWrtAreRejected() {
        Graph g = new Graph("ints");
        Value x = g.input("x", Shape.of(3), DType.F32);
        Value ids = g.input("ids", Shape.of(3), DType.I64);
        Value loss = Ops.sum(Ops.add(x, Ops.cast(ids, DType.F32)), false);
        TraceException e = assertThrows(TraceException.class, () -> Autodiff.grad(loss, List.of(x, ids)));
        assertTrue(e.getMessage().contains("ids") && e.getMessage().contains("i64"), e.getMessage());
        assertEquals("grad", e.operation());
        Value mask = Ops.gt(x, x);
        assertThrows(TraceException.class, () -> Autodiff.grad(loss, List.of(mask)));
    }

    @Test
    void integerPathsCarryNoGradient() {
        // x reaches the loss only through argmax (an index): its gradient is zero, not an error
        Graph g = new Graph("argmax");
        Value x = g.input("x", Shape.of(2, 3), DType.F64);
        Value table = g.input("table", Shape.of(3), DType.F64);
        Value picked = Ops.gather(table, Ops.argmax(x, 1, false), 0);
        List<Value> grads = Autodiff.grad(Ops.sum(picked, false), List.of(x, table));
        try (Tensor xt = Tensor.of(new double[] {1, 5, 2, 9, 0, 3}, DType.F64, 2, 3);
             Tensor tt = Tensor.of(new double[] {10, 20, 30}, DType.F64, 3)) {
            List<double[]> got = GraphRun.run(g, grads, Map.of(x, xt, table, tt));
            assertArrayEquals(new double[6], got.get(0), 0);
            assertArrayEquals(new double[] {1, 1, 0}, got.get(1), 0);
        }
    }

    @Test
    void lossMustBeAFloatingScalar() {
        Graph g = new Graph("loss");
        Value x = g.input("x", Shape.of(3), DType.F32);
        TraceException e = assertThrows(TraceException.class, () -> Autodiff.grad(Ops.exp(x), List.of(x)));
        assertTrue(e.getMessage().contains("scalar") && e.getMessage().contains("[3]"), e.getMessage());
    }

    @Test
    void cotangentMustMatchItsOutput() {
        Graph g = new Graph("ct");
        Value x = g.input("x", Shape.of(3), DType.F32);
        Value ct = g.input("ct", Shape.of(2), DType.F32);
        TraceException e = assertThrows(TraceException.class, () -> Autodiff.vjp(List.of(Ops.exp(x)), List.of(ct), List.of(x)));
        assertTrue(e.getMessage().contains("cotangent"), e.getMessage());
        assertThrows(TraceException.class, () -> Autodiff.vjp(List.of(Ops.exp(x)), List.of(), List.of(x)));
    }

    @Test
    void valuesOfAnotherGraphAreRejected() {
        Graph g = new Graph("one");
        Graph other = new Graph("two");
        Value x = g.input("x", Shape.of(3), DType.F32);
        Value y = other.input("y", Shape.of(3), DType.F32);
        TraceException e = assertThrows(TraceException.class, () -> Autodiff.grad(Ops.sum(x, false), List.of(y)));
        assertTrue(e.getMessage().contains("two"), e.getMessage());
    }

    @Test
    void anOpWithoutARuleIsNamed() {
        // differentiating max pooling's gradient (a second derivative) has no rule
        Graph g = new Graph("second");
        Value x = g.input("x", Shape.of(1, 1, 4, 4), DType.F64);
        OpAttrs.Pool2d p = new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false);
        Value y = Ops.maxPool2d(x, p);
        Value dy = g.input("dy", y.shape(), DType.F64);
        Value dx = Ops.maxPool2dGrad(x, dy, p);
        TraceException e = assertThrows(TraceException.class, () -> Autodiff.grad(Ops.sum(dx, false), List.of(dy)));
        assertTrue(e.getMessage().startsWith("max_pool2d_grad"), e.getMessage());
        assertEquals(Op.MAX_POOL2D_GRAD, e.op());
    }

    @Test
    void stopGradientBlocksTheFlow() {
        // loss = sum(stop(x*x) + x): d/dx = 1 everywhere, the stopped square contributes nothing
        Graph g = new Graph("stop");
        Value x = g.input("x", Shape.of(3), DType.F64);
        Value sq = Functional.stopGradient(g, () -> Ops.mul(x, x));
        Value dx = Autodiff.grad(Ops.sum(Ops.add(sq, x), false), List.of(x)).get(0);
        try (Tensor xt = Tensor.of(new double[] {1, 2, 3}, DType.F64, 3)) {
            assertArrayEquals(new double[] {1, 1, 1}, GraphRun.run(g, dx, Map.of(x, xt)), 0);
        }
        assertTrue(Functional.isGradientStopped(sq.node()));
    }

    @Test
    void softmaxBackwardHasNoMaxSelection() {
        // the max is stopped, so no eq/where nodes route a (zero) gradient back to the argmax
        Graph g = new Graph("softmax");
        Value x = g.input("x", Shape.of(2, 5), DType.F32);
        int before = g.nodes().size();
        Value loss = Ops.sum(Ops.mul(Functional.softmax(x, 1), Functional.softmax(x, 1)), false);
        Autodiff.grad(loss, List.of(x));
        for (Node n : g.nodes().subList(before, g.nodes().size())) {
            if (n.scope().startsWith(Autodiff.SCOPE)) {
                assertTrue(n.op() != Op.EQ && n.op() != Op.WHERE, "max-selection node in the backward graph: " + n + "\n" + g);
            }
        }
    }

    @Test
    void largeLogitsGiveFiniteSoftmaxAndGradients() {
        Graph g = new Graph("large");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value labels = g.input("labels", Shape.of(2), DType.I64);
        Value loss = Functional.crossEntropy(x, labels);
        Value dx = Autodiff.grad(loss, List.of(x)).get(0);
        Value p = Functional.softmax(x, 1);
        try (Tensor xt = Tensor.of(new double[] {1000, 999, -1000, 5000, 5001, 4000}, DType.F32, 2, 3);
             Tensor lt = Tensor.ofLongs(new long[] {0, 2}, 2)) {
            List<double[]> out = GraphRun.run(g, List.of(loss, dx, p), Map.of(x, xt, labels, lt));
            double e1 = Math.exp(-1);
            double lse0 = Math.log(1 + e1);
            double lse1 = Math.log(e1 + 1 + Math.exp(-1001));
            assertEquals((lse0 + (1001 + lse1)) / 2, out.get(0)[0], 1e-3);
            for (double[] arr : List.of(out.get(1), out.get(2))) {
                for (double v : arr) {
                    assertTrue(Double.isFinite(v), "non-finite value in " + java.util.Arrays.toString(arr));
                }
            }
            assertEquals(1 / (1 + e1), out.get(2)[0], 1e-6);
        }
    }

    @Test
    void secondDerivativeThroughTheGradientGraph() {
        // d/dx of d/dx sum(x^3) = 6x: autodiff applies to its own output
        Graph g = new Graph("hessian");
        Value x = g.input("x", Shape.of(3), DType.F64);
        Value y = Ops.sum(Ops.mul(x, Ops.mul(x, x)), false);
        Value dx = Autodiff.grad(y, List.of(x)).get(0);
        Value ddx = Autodiff.grad(Ops.sum(dx, false), List.of(x)).get(0);
        try (Tensor xt = Tensor.of(new double[] {1, -2, 0.5}, DType.F64, 3)) {
            assertArrayEquals(new double[] {6, -12, 3}, GraphRun.run(g, ddx, Map.of(x, xt)), 1e-12);
        }
    }
}
