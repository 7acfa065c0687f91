package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link StagedFunction}: one trace and compile per input signature, replay otherwise, bindings by name. */
class StagedFunctionTest {

    @Test
    void tracesOncePerSignatureAndReplays() {
        List<Shape> traced = new ArrayList<>();
        try (StagedFunction f = Executor.cpu().stage("scale", (g, in) -> {
            Value x = in.get("x");
            traced.add(x.shape());
            return List.of(Ops.mul(x, Ops.constant(g, 3, x.dtype())), Ops.sum(x, false));
        })) {
            assertEquals("scale", f.name());
            try (Tensor a = Tensor.of(new float[] {1, 2}, 2);
                 Tensor b = Tensor.of(new float[] {5, 6}, 2);
                 Tensor c = Tensor.of(new float[] {1, 2, 3}, 3);
                 Tensor d = Tensor.of(new double[] {1, 2}, DType.F64, 2);
                 Tensor e = Tensor.of(new float[] {1, 2}, 1, 2)) {
                assertArrayEquals(new float[] {3, 6}, f.call(Map.of("x", a)).get(0).toFloatArray());
                assertEquals(1, f.traceCount());
                List<Tensor> out = f.call(Map.of("x", b));
                assertArrayEquals(new float[] {15, 18}, out.get(0).toFloatArray());
                assertEquals(11.0, out.get(1).item());
                assertEquals(1, f.traceCount(), "same signature: replayed, not traced");
                assertEquals(1, f.cachedPrograms());
                assertArrayEquals(new float[] {3, 6, 9}, f.call(Map.of("x", c)).get(0).toFloatArray());
                assertEquals(2, f.traceCount(), "new shape: traced again");
                List<Tensor> od = f.call(Map.of("x", d));
                assertEquals(DType.F64, od.get(0).dtype());
                assertArrayEquals(new double[] {3, 6}, od.get(0).toDoubleArray());
                assertEquals(3, f.traceCount(), "new dtype: traced again");
                assertArrayEquals(new float[] {3, 6}, f.call(Map.of("x", e)).get(0).toFloatArray());
                assertEquals(4, f.traceCount(), "same element count, different rank: a new signature");
                f.call(Map.of("x", a.permute(0)));
                f.call(Map.of("x", c));
                f.call(Map.of("x", d));
                assertEquals(4, f.traceCount(), "every earlier signature replays its cached program");
                assertEquals(4, f.cachedPrograms());
                assertEquals(List.of(Shape.of(2), Shape.of(3), Shape.of(2), Shape.of(1, 2)), traced);
            }
        }
    }

    @Test
    void signatureIncludesFeedNames() {
        try (StagedFunction f = Executor.cpu().stage("two", (g, in) -> List.of(Ops.add(in.get("a"), in.get("b"))));
             Tensor one = Tensor.of(new float[] {1}, 1);
             Tensor two = Tensor.of(new float[] {2}, 1);
             Tensor row = Tensor.of(new float[] {10, 20}, 2)) {
            assertEquals(3.0, f.call(Map.of("a", one, "b", two)).get(0).item());
            assertEquals(3.0, f.call(Map.of("b", one, "a", two)).get(0).item());
            assertEquals(1, f.traceCount());
            assertArrayEquals(new float[] {11, 21}, f.call(Map.of("a", one, "b", row)).get(0).toFloatArray());
            assertEquals(2, f.traceCount());
        }
    }

    @Test
    void bindingsApplyToPresentAndFutureProgramsAndAssignmentsPersist() {
        try (StagedFunction f = Executor.cpu().stage("acc", (g, in) -> {
            Value x = in.get("x");
            Value total = g.state("total", Shape.scalar(), DType.F32);
            Value next = Ops.add(total, Ops.sum(x, false));
            Ops.assign(total, next);
            return List.of(next);
        }); Tensor total = Tensor.scalar(0, DType.F32);
             Tensor two = Tensor.of(new float[] {1, 1}, 2);
             Tensor three = Tensor.of(new float[] {1, 1, 1}, 3)) {
            IllegalStateException unbound = assertThrows(IllegalStateException.class, () -> f.call(Map.of("x", two)));
            assertTrue(unbound.getMessage().contains("'total' is not bound"), unbound.getMessage());
            f.bind("total", total); // binds the program already compiled
            assertEquals(2.0, f.call(Map.of("x", two)).get(0).item());
            assertEquals(5.0, f.call(Map.of("x", three)).get(0).item(), "a program compiled later gets the binding too");
            assertEquals(7.0, f.call(Map.of("x", two)).get(0).item());
            assertEquals(7.0, total.item(), "state is updated in place across programs");
        }
    }

    @Test
    void errors() {
        StagedFunction f = Executor.cpu().stage("neg", (g, in) -> List.of(Ops.neg(in.get("x"))));
        Tensor closed = Tensor.zeros(Shape.of(2), DType.F32);
        closed.close();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.call(Map.of("x", closed)));
        assertTrue(e.getMessage().contains("neg") && e.getMessage().contains("'x'") && e.getMessage().contains("closed"), e.getMessage());
        assertEquals(0, f.traceCount());
        f.close();
        f.close();
        try (Tensor t = Tensor.zeros(Shape.of(2), DType.F32)) {
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> f.call(Map.of("x", t)));
            assertTrue(s.getMessage().contains("'neg' is closed"), s.getMessage());
            assertThrows(IllegalStateException.class, () -> f.bind("w", t));
        }
        assertEquals(0, f.cachedPrograms());
    }
}
