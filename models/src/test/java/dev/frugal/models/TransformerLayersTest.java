package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.layers.CausalSelfAttention;
import dev.frugal.models.layers.TransformerBlock;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The transformer layers: variable names and shapes as GPT-2 (and the PyTorch twin) lay them out,
 * the refusal of a width the heads do not divide, and causality through the head split: changing
 * the last position's input changes the last position's output only.
 */
class TransformerLayersTest {

    @Test
    void variablesAreDeclaredByShape() {
        CausalSelfAttention a = new CausalSelfAttention(12, 3);
        Map<String, Variable> av = a.namedParameters();
        assertEquals(List.of("qkv.weight", "qkv.bias", "proj.weight", "proj.bias"), List.copyOf(av.keySet()));
        assertEquals(Shape.of(36, 12), av.get("qkv.weight").shape());
        assertEquals(Shape.of(12, 12), av.get("proj.weight").shape());
        TransformerBlock b = new TransformerBlock(12, 3);
        Map<String, Variable> bv = b.namedParameters();
        assertEquals(List.of("norm1.weight", "norm1.bias", "attention.qkv.weight", "attention.qkv.bias", "attention.proj.weight",
                "attention.proj.bias", "norm2.weight", "norm2.bias", "mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias"),
                List.copyOf(bv.keySet()));
        assertEquals(Shape.of(48, 12), bv.get("mlp.0.weight").shape());
        assertEquals(Shape.of(12, 48), bv.get("mlp.2.weight").shape());
        assertEquals(12L * 2 * 2 + 36 * 12 + 36 + 12 * 12 + 12 + 48 * 12 + 48 + 12 * 48 + 12, b.parameterCount());
    }

    @Test
    void aWidthTheHeadsDoNotDivideIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CausalSelfAttention(10, 4));
        assertTrue(e.getMessage().contains("width 10 is not divisible by heads 4"), e.getMessage());
        CausalSelfAttention a = new CausalSelfAttention(12, 3);
        Graph g = new Graph();
        ModuleTrace trace = ModuleTrace.of(g, a);
        e = assertThrows(IllegalArgumentException.class, () -> trace.forward(g.input("x", Shape.of(2, 5, 8), DType.F32)));
        assertTrue(e.getMessage().contains("[batch, positions, 12]") && e.getMessage().contains("[2,5,8]"), e.getMessage());
    }

    @Test
    void laterPositionsDoNotReachEarlierOnes() {
        for (Module m : List.of(new CausalSelfAttention(12, 3), new TransformerBlock(12, 3))) {
            m.initialize(7);
            Graph g = new Graph();
            ModuleTrace trace = ModuleTrace.of(g, m);
            Value x = g.input("x", Shape.of(2, 7, 12), DType.F32);
            Value y = trace.forward(x);
            assertEquals(x.shape(), y.shape());
            SplittableRandom rnd = new SplittableRandom(3);
            try (Program p = Executor.cpu().compile(g, List.of(y)); Tensor xs = Tensor.zeros(x.shape(), DType.F32)) {
                trace.bind(p);
                for (long i = 0; i < xs.numel(); i++) {
                    xs.setFlat(i, rnd.nextDouble(-1, 1));
                }
                double[] before = p.run(Map.of(x, xs)).get(0).toDoubleArray();
                for (int c = 0; c < 12; c++) {
                    xs.setDouble(3.0, 1, 6, c);
                }
                double[] after = p.run(Map.of(x, xs)).get(0).toDoubleArray();
                for (int n = 0; n < 2; n++) {
                    for (int t = 0; t < 7; t++) {
                        for (int c = 0; c < 12; c++) {
                            int at = (n * 7 + t) * 12 + c;
                            if (n == 1 && t == 6) {
                                assertNotEquals(before[at], after[at], m + ": the changed position's own output changes");
                            } else {
                                assertEquals(before[at], after[at], 0.0, m + ": sample " + n + " position " + t + " feature " + c);
                            }
                        }
                    }
                }
            } finally {
                m.close();
            }
        }
    }
}
