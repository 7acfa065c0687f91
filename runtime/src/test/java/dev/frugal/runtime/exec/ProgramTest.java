package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Executor} and {@link Program}: compile once and replay, feed and bind errors, closed
 * programs, output lifetime, ASSIGN semantics (in place, after every read), the non-finite check
 * on reductions, and data-dependent errors at the first step.
 */
class ProgramTest {

    private static void assertMessage(Throwable e, String... fragments) {
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain '" + f + "': " + e.getMessage());
        }
    }

    @Test
    void compilesOnceAndReplaysWithNewFeeds() {
        Graph g = new Graph("affine");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value b = g.parameter("b", Shape.of(3), DType.F32);
        Value y = Ops.relu(Ops.add(Ops.mul(x, Ops.constant(g, 2, DType.F32)), b));
        Value s = Ops.sum(y, false, 0);
        try (Program p = Executor.cpu().compile(g, List.of(y, s)); Tensor bias = Tensor.of(new float[] {1, -1, 0}, 3)) {
            assertSame(g, p.graph());
            assertEquals(List.of(y, s), p.outputs());
            assertEquals(2, p.stepCount(), p.listing()); // fused(mul,add,relu), reduce_sum; the constant is made once
            String listing = p.listing();
            assertTrue(listing.startsWith("program affine on cpu ("), listing);
            assertTrue(listing.contains("fused(mul,add,relu)") && listing.contains("reduce_sum") && listing.contains("outputs:"), listing);
            p.bind(b, bias);
            for (int step = 0; step < 3; step++) {
                float[] xv = new float[6];
                for (int i = 0; i < 6; i++) {
                    xv[i] = (i - 3) * (step + 1);
                }
                try (Tensor xt = Tensor.of(xv, 2, 3)) {
                    List<Tensor> out = p.run(Map.of(x, xt));
                    float[] expected = new float[6];
                    float[] colSums = new float[3];
                    for (int i = 0; i < 6; i++) {
                        expected[i] = Math.max(0, 2 * xv[i] + bias.toFloatArray()[i % 3]);
                        colSums[i % 3] += expected[i];
                    }
                    assertArrayEquals(expected, out.get(0).toFloatArray(), "step " + step);
                    assertArrayEquals(colSums, out.get(1).toFloatArray(), "step " + step);
                    assertEquals(Shape.of(2, 3), out.get(0).shape());
                    assertEquals(DType.F32, out.get(1).dtype());
                }
            }
        }
    }

    /** runQueued runs a step without reading its outputs; readOutputs reads the latest run's. */
    @Test
    void queuedRunsAreReadLater() {
        Graph g = new Graph("counter");
        Value x = g.input("x", Shape.of(2), DType.F32);
        Value total = g.state("total", Shape.of(2), DType.F32);
        Value next = Ops.add(total, x);
        Ops.assign(total, next);
        try (Program p = Executor.cpu().compile(g, List.of(next));
             Tensor t = Tensor.zeros(Shape.of(2), DType.F32);
             Tensor one = Tensor.of(new float[] {1, 2}, 2)) {
            IllegalStateException none = assertThrows(IllegalStateException.class, p::readOutputs);
            assertMessage(none, "counter", "has not run yet");
            p.bind(total, t);
            p.runQueued(Map.of(x, one));
            p.runQueued(Map.of(x, one));
            assertArrayEquals(new float[] {2, 4}, p.readOutputs().getFirst().toFloatArray());
            assertArrayEquals(new float[] {3, 6}, p.run(Map.of(x, one)).getFirst().toFloatArray());
            assertArrayEquals(new float[] {3, 6}, p.readOutputs().getFirst().toFloatArray(), "read again: the same run");
            assertThrows(IllegalArgumentException.class, () -> p.runQueued(Map.of()), "a missing feed is refused as by run");
        }
    }

    @Test
    void feedsMayBeStridedViews() {
        Graph g = new Graph("strided");
        Value x = g.input("x", Shape.of(3, 2), DType.F64);
        Value y = Ops.neg(x);
        try (Program p = Executor.cpu().compile(g, List.of(y));
             Tensor base = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, DType.F64, 2, 3)) {
            Tensor view = base.permute(1, 0);
            assertArrayEquals(new double[] {-1, -4, -2, -5, -3, -6}, p.run(Map.of(x, view)).get(0).toDoubleArray());
            Tensor wide = base.expand(Shape.of(2, 3)).slice(1, 1, 3, 1); // [2,2] with an offset
            Graph g2 = new Graph("offset");
            Value x2 = g2.input("x", Shape.of(2, 2), DType.F64);
            try (Program p2 = Executor.cpu().compile(g2, List.of(Ops.abs(x2)))) {
                assertArrayEquals(new double[] {2, 3, 5, 6}, p2.run(Map.of(x2, wide)).get(0).toDoubleArray());
            }
        }
    }

    @Test
    void outputsAreValidUntilTheNextRunAndCopiesSurvive() {
        Graph g = new Graph("lifetime");
        Value x = g.input("x", Shape.of(2), DType.F32);
        Value y = Ops.exp(x);
        Program p = Executor.cpu().compile(g, List.of(y));
        try (Tensor a = Tensor.of(new float[] {0, 1}, 2); Tensor b = Tensor.of(new float[] {2, 3}, 2)) {
            Tensor first = p.run(Map.of(x, a)).get(0);
            try (Tensor kept = first.contiguous()) {
                Tensor second = p.run(Map.of(x, b)).get(0);
                assertArrayEquals(new float[] {(float) Math.exp(2), (float) Math.exp(3)}, second.toFloatArray(), 1e-6f);
                assertArrayEquals(new float[] {1, (float) Math.E}, kept.toFloatArray(), 1e-6f, "a copy keeps the first step's values");
                p.close();
                // the program's memory is gone: reading an old output fails cleanly instead of reading freed memory
                assertThrows(IllegalStateException.class, second::toFloatArray);
            }
        }
    }

    @Test
    void feedErrorsNameTheInput() {
        Graph g = new Graph("feeds");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value unused = g.input("unused", Shape.of(1), DType.F32);
        Value w = g.parameter("w", Shape.of(3), DType.F32);
        Value y = Ops.add(x, w);
        Graph other = new Graph("other");
        Value ox = other.input("x", Shape.of(2, 3), DType.F32);
        try (Program p = Executor.cpu().compile(g, List.of(y));
             Tensor wt = Tensor.zeros(Shape.of(3), DType.F32);
             Tensor good = Tensor.zeros(Shape.of(2, 3), DType.F32);
             Tensor wrongShape = Tensor.zeros(Shape.of(3, 2), DType.F32);
             Tensor wrongType = Tensor.zeros(Shape.of(2, 3), DType.F64)) {
            p.bind(w, wt);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.run(Map.of())), "'x'", "f32[2,3]", "not fed");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.run(Map.of(x, wrongShape))), "'x'", "f32[2,3]", "f32[3,2]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.run(Map.of(x, wrongType))), "'x'", "f32[2,3]", "f64[2,3]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.run(Map.of(x, good, w, wt))), "w", "not a data input");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.run(Map.of(ox, good))), "not a data input of graph 'feeds'");
            Tensor closed = Tensor.zeros(Shape.of(2, 3), DType.F32);
            closed.close();
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.run(Map.of(x, closed))), "'x'", "closed");
            // an input the outputs do not need may be left out, or fed
            assertDoesNotThrow(() -> p.run(Map.of(x, good)));
            Map<Value, Tensor> both = new HashMap<>();
            both.put(x, good);
            both.put(unused, Tensor.zeros(Shape.of(1), DType.F32));
            assertDoesNotThrow(() -> p.run(both));
        }
    }

    @Test
    void bindErrorsNameTheInput() {
        Graph g = new Graph("binds");
        Value x = g.input("x", Shape.of(3), DType.F32);
        Value w = g.parameter("w", Shape.of(3), DType.F32);
        Value s = g.state("s", Shape.of(3), DType.F32);
        Value notUsed = g.parameter("spare", Shape.of(2), DType.F32);
        Value y = Ops.add(Ops.mul(x, w), s);
        Graph other = new Graph("other");
        Value ow = other.parameter("w", Shape.of(3), DType.F32);
        try (Program p = Executor.cpu().compile(g, List.of(y));
             Tensor xt = Tensor.of(new float[] {1, 2, 3}, 3);
             Tensor wt = Tensor.of(new float[] {2, 2, 2}, 3);
             Tensor st = Tensor.of(new float[] {1, 1, 1}, 3);
             Tensor big = Tensor.zeros(Shape.of(4), DType.F32);
             Tensor f64 = Tensor.zeros(Shape.of(3), DType.F64);
             Tensor strided = Tensor.zeros(Shape.of(6), DType.F32)) {
            assertMessage(assertThrows(IllegalStateException.class, () -> p.run(Map.of(x, xt))), "parameter input 'w' is not bound", "bind(w");
            p.bind(w, wt);
            assertMessage(assertThrows(IllegalStateException.class, () -> p.run(Map.of(x, xt))), "state input 's' is not bound");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.bind(s, big)), "'s'", "f32[3]", "f32[4]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.bind(s, f64)), "'s'", "f64[3]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.bind(s, strided.slice(0, 0, 6, 2))), "'s'", "contiguous", "[2]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.bind(x, xt)), "x", "not a parameter or state input");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.bind(ow, wt)), "not a parameter or state input of graph 'binds'");
            Tensor closed = Tensor.zeros(Shape.of(3), DType.F32);
            closed.close();
            assertMessage(assertThrows(IllegalArgumentException.class, () -> p.bind(s, closed)), "'s'", "closed");
            assertDoesNotThrow(() -> p.bind(notUsed, Tensor.zeros(Shape.of(2), DType.F32)), "binding an unused input is allowed");
            p.bind(s, st);
            assertArrayEquals(new float[] {3, 5, 7}, p.run(Map.of(x, xt)).get(0).toFloatArray());
            // rebinding replaces the tensor
            try (Tensor w3 = Tensor.of(new float[] {3, 3, 3}, 3)) {
                p.bind(w, w3);
                assertArrayEquals(new float[] {4, 7, 10}, p.run(Map.of(x, xt)).get(0).toFloatArray());
                w3.close();
                assertMessage(assertThrows(IllegalStateException.class, () -> p.run(Map.of(x, xt))), "'w'", "closed");
            }
        }
    }

    @Test
    void closedProgramRefusesWork() {
        Graph g = new Graph("closing");
        Value x = g.input("x", Shape.of(1), DType.F32);
        Value w = g.parameter("w", Shape.of(1), DType.F32);
        Program p = Executor.cpu().compile(g, List.of(Ops.add(x, w)));
        assertTrue(p.allocatedBytes() > 0);
        assertFalse(p.isClosed());
        p.close();
        assertTrue(p.isClosed());
        assertDoesNotThrow(p::close);
        try (Tensor t = Tensor.zeros(Shape.of(1), DType.F32)) {
            assertMessage(assertThrows(IllegalStateException.class, () -> p.run(Map.of(x, t))), "run", "closing", "closed");
            assertMessage(assertThrows(IllegalStateException.class, () -> p.bind(w, t)), "bind", "closed");
            assertFalse(t.isClosed(), "closing a program leaves the caller's tensors alone");
        }
    }

    @Test
    void compileErrors() {
        Graph g = new Graph("g");
        Value p = g.parameter("p", Shape.of(2), DType.F32);
        Graph other = new Graph("h");
        Value o = other.input("o", Shape.of(2), DType.F32);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Executor.cpu().compile(g, List.of(o))), "belongs to graph 'h'");
        Ops.assign(p, Ops.neg(p));
        Ops.assign(p, Ops.exp(p));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Executor.cpu().compile(g, List.of())), "p", "assigned twice");
    }

    @Test
    void valuesTooLargeForTheCpuKernelsAreRejectedAtCompileTime() {
        Graph g = new Graph("huge");
        Value x = g.input("x", Shape.of(1 << 16, 1 << 16), DType.U8); // 2^32 elements: never allocated
        Value y = Ops.neg(x);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> Executor.cpu().compile(g, List.of(y)));
        assertMessage(e, "neg", "u8[65536,65536]", "4294967296 elements", "ProgramTest.java");
    }

    @Test
    void assignmentsHappenInPlaceAfterEveryRead() {
        Graph g = new Graph("sgd");
        Value x = g.input("x", Shape.of(2), DType.F32);
        Value w = g.parameter("w", Shape.of(2), DType.F32);
        Value steps = g.state("steps", Shape.scalar(), DType.I64);
        Value loss = Ops.sum(Ops.mul(w, x), false);
        Value newW = Ops.sub(w, Ops.mul(x, Ops.constant(g, 0.5, DType.F32))); // gradient of loss is x
        Ops.assign(w, newW);
        Ops.assign(steps, Ops.add(steps, Ops.constant(g, 1, DType.I64)));
        Value wOut = Ops.reshape(w, Shape.of(1, 2)); // returns the value the step read
        try (Program p = Executor.cpu().compile(g, List.of(loss, w, wOut, steps));
             Tensor wt = Tensor.of(new float[] {1, 2}, 2);
             Tensor st = Tensor.ofLongs(new long[] {0});
             Tensor xt = Tensor.of(new float[] {2, 4}, 2)) {
            Tensor stBound = st.reshape();
            p.bind(w, wt);
            p.bind(steps, stBound);
            List<Tensor> out = p.run(Map.of(x, xt));
            assertEquals(10.0, out.get(0).item(), "loss reads the old w");
            assertArrayEquals(new float[] {1, 2}, out.get(1).toFloatArray(), "a parameter output is the value before the update");
            assertArrayEquals(new float[] {1, 2}, out.get(2).toFloatArray(), "so is a reshape of it");
            assertEquals(0, out.get(3).item(), "state output before the update");
            assertArrayEquals(new float[] {0, 0}, wt.toFloatArray(), "the bound tensor is updated in place");
            assertEquals(1, st.toLongArray()[0]);
            out = p.run(Map.of(x, xt));
            assertEquals(0.0, out.get(0).item());
            assertArrayEquals(new float[] {-1, -2}, wt.toFloatArray());
            assertEquals(2, st.toLongArray()[0]);
        }
    }

    @Test
    void swappingAssignmentsReadTheOldValues() {
        Graph g = new Graph("swap");
        Value a = g.state("a", Shape.of(2), DType.F64);
        Value b = g.state("b", Shape.of(2), DType.F64);
        Value c = g.state("c", Shape.of(2), DType.F64);
        Ops.assign(a, b);
        Ops.assign(b, a);
        Ops.assign(c, c); // a no-op
        try (Program p = Executor.cpu().compile(g, List.of());
             Tensor at = Tensor.of(new double[] {1, 2}, DType.F64, 2);
             Tensor bt = Tensor.of(new double[] {3, 4}, DType.F64, 2);
             Tensor ct = Tensor.of(new double[] {5, 6}, DType.F64, 2)) {
            p.bind(a, at);
            p.bind(b, bt);
            p.bind(c, ct);
            assertEquals(0, p.run(Map.of()).size());
            assertArrayEquals(new double[] {3, 4}, at.toDoubleArray());
            assertArrayEquals(new double[] {1, 2}, bt.toDoubleArray());
            assertArrayEquals(new double[] {5, 6}, ct.toDoubleArray());
            p.run(Map.of());
            assertArrayEquals(new double[] {1, 2}, at.toDoubleArray());
        }
    }

    @Test
    void bufferReuseKeepsEveryLiveValueIntact() {
        // A chain with long-lived values read late (x, t1) and many short-lived ones: reused slots
        // must never overwrite a value that is still needed.
        Graph g = new Graph("chain");
        Value x = g.input("x", Shape.of(64), DType.F64);
        Value t1 = Ops.mul(x, x);
        Value cur = t1;
        for (int i = 0; i < 12; i++) {
            cur = Ops.add(Ops.neg(cur), Ops.mul(x, Ops.constant(g, i, DType.F64)));
        }
        Value out = Ops.add(Ops.add(cur, t1), Ops.reshape(Ops.reshape(x, Shape.of(8, 8)), Shape.of(64)));
        double[] xv = new double[64];
        for (int i = 0; i < 64; i++) {
            xv[i] = i * 0.25 - 3;
        }
        try (Program p = Executor.cpu().compile(g, List.of(out, t1)); Tensor xt = Tensor.of(xv, DType.F64, 64)) {
            List<Tensor> res = p.run(Map.of(x, xt));
            for (int e = 0; e < 64; e++) {
                double v = xv[e] * xv[e];
                double t = v;
                for (int i = 0; i < 12; i++) {
                    v = -v + xv[e] * i;
                }
                assertEquals(v + t + xv[e], res.get(0).getFlat(e), 1e-12, "element " + e);
                assertEquals(t, res.get(1).getFlat(e), 0.0);
            }
            assertTrue(p.allocatedBytes() < 27L * 64 * 8, "intermediate buffers are reused: " + p.allocatedBytes() + " bytes\n" + p.listing());
        }
    }

    @Test
    void nonFiniteReductionThrowsAtTheFirstStepNamingTheOp() {
        Graph g = new Graph("nan");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value s = Ops.sum(x, false, 1);
        Executor ex = Executor.cpu();
        assertTrue(ex.checksNonFinite(), "the check is on by default");
        try (Program p = ex.compile(g, List.of(s));
             Tensor ok = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
             Tensor bad = Tensor.of(new float[] {1, 2, 3, 4, Float.NaN, 6}, 2, 3)) {
            assertArrayEquals(new float[] {6, 15}, p.run(Map.of(x, ok)).get(0).toFloatArray());
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> p.run(Map.of(x, bad)));
            assertEquals(Op.REDUCE_SUM, e.op());
            assertEquals(1, e.outputIndex());
            assertEquals(4, e.inputIndex());
            assertMessage(e, "reduce_sum produced NaN at output index 1", "input element at index 4", "ProgramTest.nonFiniteReductionThrowsAtTheFirstStepNamingTheOp(ProgramTest.java:");
            assertTrue(e.node().contains("reduce_sum(x; axes=[1])"), e.node());
        }
        try (Program p = ex.withNonFiniteCheck(false).compile(g, List.of(s));
             Tensor bad = Tensor.of(new float[] {1, 2, 3, 4, Float.NaN, 6}, 2, 3)) {
            float[] r = p.run(Map.of(x, bad)).get(0).toFloatArray();
            assertEquals(6f, r[0]);
            assertTrue(Float.isNaN(r[1]), "with the check off the NaN comes through");
        }
        assertFalse(ex.withNonFiniteCheck(false).checksNonFinite());
        // a failed step performs none of its assignments: the parameters keep their values
        Graph sgd = new Graph("failed-step");
        Value in = sgd.input("in", Shape.of(3), DType.F32);
        Value w = sgd.parameter("w", Shape.of(3), DType.F32);
        Value loss = Ops.sum(Ops.mul(w, in), false);
        Ops.assign(w, Ops.sub(w, in));
        try (Program p = ex.compile(sgd, List.of(loss));
             Tensor wt = Tensor.of(new float[] {1, 2, 3}, 3);
             Tensor bad = Tensor.of(new float[] {1, Float.POSITIVE_INFINITY, 1}, 3)) {
            p.bind(w, wt);
            assertThrows(NonFiniteException.class, () -> p.run(Map.of(in, bad)));
            assertArrayEquals(new float[] {1, 2, 3}, wt.toFloatArray(), "no assignment after a failed step");
        }
        assertTrue(new Executor(ex.backend()).checksNonFinite());
    }

    @Test
    void nonFiniteCheckCoversOverflowAndMaxMin() {
        Graph g = new Graph("overflow");
        Value h = g.input("h", Shape.of(4), DType.F16);
        Value f = g.input("f", Shape.of(3), DType.F64);
        Value sumH = Ops.sum(h, false);
        Value maxF = Ops.max(f, false);
        try (Program p1 = Executor.cpu().compile(g, List.of(sumH));
             Program p2 = Executor.cpu().compile(g, List.of(maxF));
             Tensor big = Tensor.of(new double[] {60000, 60000, 1, 1}, DType.F16, 4);
             Tensor inf = Tensor.of(new double[] {1, Double.NEGATIVE_INFINITY, 2}, DType.F64, 3)) {
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> p1.run(Map.of(h, big)));
            assertEquals(-1, e.inputIndex());
            assertMessage(e, "reduce_sum produced Infinity", "overflowed");
            // max over a -inf is finite (2): no error; min would not be
            assertEquals(2.0, p2.run(Map.of(f, inf)).get(0).item());
        }
        Value minF = Ops.min(f, false);
        try (Program p3 = Executor.cpu().compile(g, List.of(minF));
             Tensor inf = Tensor.of(new double[] {1, Double.NEGATIVE_INFINITY, 2}, DType.F64, 3)) {
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> p3.run(Map.of(f, inf)));
            assertEquals(Op.REDUCE_MIN, e.op());
            assertEquals(1, e.inputIndex());
        }
    }

    @Test
    void outOfRangeIndicesFailAtTheFirstStepNamingOpAndIndex() {
        Graph g = new Graph("index");
        Value table = g.input("table", Shape.of(4, 2), DType.F32);
        Value ids = g.input("ids", Shape.of(3), DType.I64);
        Value rows = Ops.gather(table, ids, 0);
        Value back = Ops.scatterAdd(rows, ids, 0, Shape.of(4, 2));
        try (Program p = Executor.cpu().compile(g, List.of(rows));
             Program q = Executor.cpu().compile(g, List.of(back));
             Tensor t = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 4, 2);
             Tensor good = Tensor.ofLongs(new long[] {3, 0, 3}, 3);
             Tensor bad = Tensor.ofLongs(new long[] {1, 7, 0}, 3);
             Tensor negative = Tensor.ofLongs(new long[] {0, 1, -1}, 3)) {
            assertArrayEquals(new float[] {6, 7, 0, 1, 6, 7}, p.run(Map.of(table, t, ids, good)).get(0).toFloatArray());
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> p.run(Map.of(table, t, ids, bad)));
            assertMessage(e, "gather", "index 7", "position 1", "[0, 4)", "ProgramTest.java");
            e = assertThrows(IndexOutOfBoundsException.class, () -> p.run(Map.of(table, t, ids, negative)));
            assertMessage(e, "gather", "index -1", "position 2");
            e = assertThrows(IndexOutOfBoundsException.class, () -> q.run(Map.of(table, t, ids, bad)));
            assertMessage(e, "index 7");
            assertArrayEquals(new float[] {0, 1, 0, 0, 0, 0, 12, 14}, q.run(Map.of(table, t, ids, good)).get(0).toFloatArray());
        }
    }

    @Test
    void integerDivisionByZeroNamesTheOp() {
        Graph g = new Graph("idiv");
        Value a = g.input("a", Shape.of(3), DType.I32);
        Value b = g.input("b", Shape.of(3), DType.I32);
        try (Program p = Executor.cpu().compile(g, List.of(Ops.div(a, b)));
             Tensor at = Tensor.ofInts(new int[] {7, -7, 1}, 3);
             Tensor bt = Tensor.ofInts(new int[] {2, 2, 0}, 3);
             Tensor ok = Tensor.ofInts(new int[] {2, 2, 1}, 3)) {
            assertArrayEquals(new long[] {3, -3, 1}, p.run(Map.of(a, at, b, ok)).get(0).toLongArray(), "truncating division");
            ArithmeticException e = assertThrows(ArithmeticException.class, () -> p.run(Map.of(a, at, b, bt)));
            assertMessage(e, "div", "division by zero", "1 / 0");
        }
    }
}
