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

/**
 * Test helper for language models ([B, T] I32 token ids to [B, T, vocab] logits): plain SGD steps
 * on one batch, with next-token cross-entropy over the flattened [B*T, vocab] logits and the
 * update traced as assignments (optimizers live in the trainer, which models does not depend on),
 * and evaluation-mode logits.
 */
final class LanguageModelSteps {
    private LanguageModelSteps() {
    }

    /** The traced step: the loss of {@code tokens} predicting {@code targets}, and an SGD update of every parameter. */
    record Step(Graph graph, ModuleTrace trace, Value tokens, Value targets, Value loss) {
    }

    /** Traces the forward pass, the loss, its gradients and the SGD assignments. */
    static Step trace(Module module, int batch, int positions, double lr) {
        Graph g = new Graph("lm-sgd");
        ModuleTrace trace = ModuleTrace.of(g, module);
        Value x = g.input("tokens", Shape.of(batch, positions), DType.I32);
        Value y = g.input("targets", Shape.of(batch, positions), DType.I32);
        Value logits = trace.forward(x);
        int vocab = logits.shape().dim(2);
        Value loss = Functional.crossEntropy(Ops.reshape(logits, batch * positions, vocab), Ops.reshape(y, batch * positions));
        List<Value> params = trace.parameterValues();
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Value p = params.get(i);
            Ops.assign(p, Ops.sub(p, Ops.mul(grads.get(i), Ops.constant(g, lr, DType.F32))));
        }
        return new Step(g, trace, x, y, loss);
    }

    /** Runs {@code steps} SGD steps of {@code module} on one batch with {@code executor}; returns each step's loss. */
    static double[] sgd(Executor executor, Module module, Tensor tokens, Tensor targets, int steps, double lr) {
        Step s = trace(module, tokens.shape().dim(0), tokens.shape().dim(1), lr);
        double[] losses = new double[steps];
        try (Program program = executor.compile(s.graph(), List.of(s.loss()))) {
            s.trace().bind(program);
            for (int i = 0; i < steps; i++) {
                losses[i] = program.run(Map.of(s.tokens(), tokens, s.targets(), targets)).get(0).item();
            }
        }
        return losses;
    }

    /** {@link #sgd(Executor, Module, Tensor, Tensor, int, double)} on the CPU executor. */
    static double[] sgd(Module module, Tensor tokens, Tensor targets, int steps, double lr) {
        return sgd(Executor.cpu(), module, tokens, targets, steps, lr);
    }

    /** The module's logits for {@code tokens}, row-major [B, T, vocab], in its current mode. */
    static double[] logits(Module module, Tensor tokens) {
        Graph g = new Graph("lm-logits");
        ModuleTrace trace = ModuleTrace.of(g, module);
        Value x = g.input("tokens", tokens.shape(), tokens.dtype());
        Value out = trace.forward(x);
        try (Program p = Executor.cpu().compile(g, List.of(out))) {
            trace.bind(p);
            return p.run(Map.of(x, tokens)).get(0).toDoubleArray();
        }
    }
}
