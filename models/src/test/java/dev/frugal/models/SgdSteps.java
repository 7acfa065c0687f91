package dev.frugal.models;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Test helper: plain SGD on one fixed synthetic batch, with the update traced into the step
 * graph as assignments (so a step is one program run), returning the loss of every step.
 */
final class SgdSteps {
    private SgdSteps() {
    }

    /** Runs {@code steps} SGD steps of {@code module} (in its current mode) on a random batch; returns each step's loss. */
    static double[] run(Module module, Shape sampleShape, int classes, int batch, int steps, double lr, long dataSeed) {
        int[] dims = new int[sampleShape.rank() + 1];
        dims[0] = batch;
        System.arraycopy(sampleShape.dims(), 0, dims, 1, sampleShape.rank());
        SplittableRandom rnd = new SplittableRandom(dataSeed);
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = rnd.nextInt(classes);
        }
        try (Tensor xs = Tensor.zeros(Shape.of(dims), DType.F32); Tensor ys = Tensor.ofInts(labels, batch)) {
            for (long i = 0; i < xs.numel(); i++) {
                xs.setFlat(i, rnd.nextDouble(-1, 1));
            }
            return run(module, xs, ys, steps, lr);
        }
    }

    /** Runs {@code steps} SGD steps of {@code module} (in its current mode) on the batch {@code xs} with I32 labels {@code ys}. */
    static double[] run(Module module, Tensor xs, Tensor ys, int steps, double lr) {
        Graph g = new Graph("sgd");
        ModuleTrace trace = ModuleTrace.of(g, module);
        Value x = g.input("x", xs.shape(), DType.F32);
        Value y = g.input("y", ys.shape(), DType.I32);
        Value loss = Functional.crossEntropy(trace.forward(x), y);
        List<Value> params = trace.parameterValues();
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Value p = params.get(i);
            Ops.assign(p, Ops.sub(p, Ops.mul(grads.get(i), Ops.constant(g, lr, DType.F32))));
        }
        double[] losses = new double[steps];
        try (Program program = Executor.cpu().compile(g, List.of(loss))) {
            trace.bind(program);
            for (int s = 0; s < steps; s++) {
                losses[s] = program.run(Map.of(x, xs, y, ys)).get(0).item();
            }
        }
        return losses;
    }
}
