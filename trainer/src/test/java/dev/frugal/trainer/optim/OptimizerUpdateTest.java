package dev.frugal.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The optimizer state an update declares, how it is restored, and bad hyperparameters. */
class OptimizerUpdateTest {

    private static List<Value> problem(Graph g) {
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value w = g.parameter("fc.weight", Shape.of(3, 2), DType.F32);
        Value loss = Ops.sum(Ops.matmul(x, w), false);
        return List.of(w, Autodiff.grad(loss, List.of(w)).getFirst());
    }

    @Test
    void adamWDeclaresAStepCountAndBothMomentsPerParameter() {
        Graph g = new Graph();
        List<Value> wg = problem(g);
        try (OptimizerUpdate u = AdamW.defaults().append(List.of("fc.weight"), List.of(wg.get(0)), List.of(wg.get(1)))) {
            assertEquals(List.of("step", "exp_avg/fc.weight", "exp_avg_sq/fc.weight"), List.copyOf(u.state().keySet()));
            assertEquals(Shape.scalar(), u.state().get("step").shape());
            assertEquals(DType.F64, u.learningRate().dtype());
            assertTrue(g.toString().contains("optim.exp_avg/fc.weight"), g::toString);
        }
    }

    @Test
    void sgdWithoutMomentumHasNoStateAndWithMomentumOneBuffer() {
        Graph g = new Graph();
        List<Value> wg = problem(g);
        try (OptimizerUpdate u = Sgd.plain().append(List.of("fc.weight"), List.of(wg.get(0)), List.of(wg.get(1)))) {
            assertTrue(u.state().isEmpty());
        }
        Graph g2 = new Graph();
        List<Value> wg2 = problem(g2);
        try (OptimizerUpdate u = new Sgd(0.9, true, 0).append(List.of("fc.weight"), List.of(wg2.get(0)), List.of(wg2.get(1)))) {
            assertEquals(List.of("momentum_buffer/fc.weight"), List.copyOf(u.state().keySet()));
        }
    }

    @Test
    void loadStateCopiesValuesAndNamesWhatDoesNotFit() {
        Graph g = new Graph();
        List<Value> wg = problem(g);
        try (OptimizerUpdate u = new Sgd(0.9, false, 0).append(List.of("fc.weight"), List.of(wg.get(0)), List.of(wg.get(1)));
             Tensor good = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
             Tensor wrong = Tensor.zeros(Shape.of(2, 3), DType.F32)) {
            u.loadState(Map.of("momentum_buffer/fc.weight", good));
            assertEquals(6.0, u.state().get("momentum_buffer/fc.weight").getFlat(5));
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> u.loadState(Map.of("momentum_buffer/fc.weight", wrong)));
            assertTrue(shape.getMessage().contains("momentum_buffer/fc.weight"), shape.getMessage());
            IllegalArgumentException extra = assertThrows(IllegalArgumentException.class,
                    () -> u.loadState(Map.of("exp_avg/fc.weight", good)));
            assertTrue(extra.getMessage().contains("unknown"), extra.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> u.loadState(Map.of()));
            assertTrue(missing.getMessage().contains("missing"), missing.getMessage());
        }
    }

    @Test
    void badHyperparametersAreRejectedWithTheirName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sgd(0, true, 0)).getMessage().contains("Nesterov"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new AdamW(1.0, 0.999, 1e-8, 0)).getMessage().contains("betas"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GradientClipping.clip(List.of(), 1.0)).getMessage().contains("no gradients"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sgd(-0.1, false, 0)).getMessage().contains("momentum"));
    }
}
