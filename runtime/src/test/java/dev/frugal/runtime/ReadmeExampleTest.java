package dev.frugal.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Runs README.md's first program, so the example stays true: least-squares regression traced,
 * differentiated, compiled and trained with plain gradient descent on the CPU backend.
 */
class ReadmeExampleTest {

    @Test
    void readmeProgramTrainsALinearRegression() {
        Graph g = new Graph("regression");
        Value x = g.input("x", Shape.of(64, 3), DType.F32);
        Value y = g.input("y", Shape.of(64, 1), DType.F32);
        Value w = g.parameter("w", Shape.of(3, 1), DType.F32);
        Value err = Ops.matmul(x, w).sub(y);
        Value loss = Ops.mean(err.mul(err), false);
        Value dw = Autodiff.grad(loss, List.of(w)).get(0);
        assertTrue(g.toString().contains("matmul"), g::toString);

        double[] truth = {0.5, -1.25, 2.0};
        SplittableRandom rnd = new SplittableRandom(7);
        try (Tensor weights = Tensor.zeros(Shape.of(3, 1), DType.F32);
             Tensor batchX = Tensor.zeros(Shape.of(64, 3), DType.F32);
             Tensor batchY = Tensor.zeros(Shape.of(64, 1), DType.F32)) {
            for (int i = 0; i < 64; i++) {
                double target = 0;
                for (int j = 0; j < 3; j++) {
                    double v = rnd.nextDouble(-1, 1);
                    batchX.setFlat(i * 3L + j, v);
                    target += truth[j] * v;
                }
                batchY.setFlat(i, target);
            }
            Executor exec = Executor.cpu();
            double firstLoss = Double.NaN;
            double lastLoss = Double.NaN;
            try (Program step = exec.compile(g, List.of(loss, dw))) {
                step.bind(w, weights);
                for (int it = 0; it < 300; it++) {
                    List<Tensor> out = step.run(Map.of(x, batchX, y, batchY));
                    lastLoss = out.get(0).getFlat(0);
                    if (it == 0) {
                        firstLoss = lastLoss;
                    }
                    for (int j = 0; j < 3; j++) {
                        weights.setFlat(j, weights.getFlat(j) - 0.3 * out.get(1).getFlat(j));
                    }
                }
            }
            assertTrue(lastLoss < firstLoss * 1e-4, "loss " + firstLoss + " -> " + lastLoss);
            for (int j = 0; j < 3; j++) {
                assertEquals(truth[j], weights.getFlat(j), 1e-3, "w[" + j + "]");
            }
        }
    }
}
