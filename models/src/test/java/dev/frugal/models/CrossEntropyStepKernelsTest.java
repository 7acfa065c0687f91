package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The zoo's classification training steps run fewer kernels with the hand-fused cross-entropy
 * (one forward and one backward node) than with the primitive composition it replaced (written
 * out here), fused or not.
 */
class CrossEntropyStepKernelsTest {
    /** The old traced composition: log-softmax, an index-checked one-hot target, a sum and a scale. */
    private static Value oldCrossEntropy(Value logits, Value labels) {
        Graph g = logits.graph();
        int n = logits.shape().dim(0);
        int c = logits.shape().dim(1);
        Value max = Functional.stopGradient(g, () -> Ops.max(logits, true, 1));
        Value z = Ops.sub(logits, max);
        Value logProb = Ops.sub(z, Ops.log(Ops.sum(Ops.exp(z), true, 1)));
        Value checked = Ops.gather(Ops.iota(g, Shape.of(c), 0, labels.dtype()), labels, 0);
        Value hit = Ops.eq(Ops.iota(g, logits.shape(), 1, labels.dtype()), Ops.reshape(checked, n, 1));
        Value total = Ops.sum(Ops.mul(Ops.cast(hit, logits.dtype()), logProb), false);
        return Ops.mul(total, Ops.constant(g, -1.0 / n, logits.dtype()));
    }

    private static int steps(Model m, boolean fused, boolean fusion) {
        int batch = 8;
        int[] dims = new int[m.inputShape().rank() + 1];
        dims[0] = batch;
        System.arraycopy(m.inputShape().dims(), 0, dims, 1, m.inputShape().rank());
        Graph g = new Graph("step");
        ModuleTrace trace = ModuleTrace.of(g, m.module());
        Value x = g.input("x", Shape.of(dims), m.inputDType());
        Value y = g.input("y", Shape.of(batch), DType.I32);
        Value logits = trace.forward(x);
        Value loss = fused ? Functional.crossEntropy(logits, y) : oldCrossEntropy(logits, y);
        List<Value> params = trace.parameterValues();
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Value p = params.get(i);
            Ops.assign(p, Ops.sub(p, Ops.mul(grads.get(i), Ops.constant(g, 0.1, DType.F32))));
        }
        try (Program program = Executor.cpu().withFusion(fusion).compile(g, List.of(loss))) {
            return program.stepCount();
        }
    }

    @Test
    void theZooClassifiersRunFewerKernelsPerStep() {
        for (String name : List.of("mlp", "cnn-small")) {
            try (Model m = ModelZoo.create(name, 1)) {
                for (boolean fusion : new boolean[] {false, true}) {
                    int before = steps(m, false, fusion);
                    int after = steps(m, true, fusion);
                    assertTrue(after < before, name + (fusion ? " fused" : " unfused") + ": " + after + " kernels with the fused loss, " + before + " before");
                }
            }
        }
    }
}
