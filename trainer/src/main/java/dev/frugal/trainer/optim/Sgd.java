package dev.frugal.trainer.optim;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * Stochastic gradient descent with PyTorch's {@code torch.optim.SGD} semantics (dampening 0):
 * {@code g = grad + wd * p}; with momentum {@code buf = momentum * buf + g} (the buffer starts
 * at zero, which equals PyTorch's "first step copies g" because dampening is 0); Nesterov uses
 * {@code g + momentum * buf}, otherwise {@code buf}; then {@code p -= lr * g}.
 *
 * @param momentum momentum factor (0 disables the buffer)
 * @param nesterov Nesterov momentum (requires momentum > 0)
 * @param weightDecay L2 penalty added to the gradient
 */
public record Sgd(double momentum, boolean nesterov, double weightDecay) implements Optimizer {

    /** Checks the hyperparameters. */
    public Sgd {
        if (!(momentum >= 0) || !Double.isFinite(momentum)) {
            throw new IllegalArgumentException("sgd momentum " + momentum + ", expected a finite value >= 0");
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("sgd weight decay " + weightDecay + ", expected a finite value >= 0");
        }
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("sgd: Nesterov momentum requires momentum > 0");
        }
    }

    /** Plain SGD: no momentum, no weight decay. */
    public static Sgd plain() {
        return new Sgd(0, false, 0);
    }

    @Override
    public OptimizerUpdate append(OptimizerUpdate update, List<String> names, List<Value> parameters, List<Value> gradients) {
        OptimizerUpdates.checkLists(names, parameters, gradients);
        return parameters.getFirst().graph().inScope(OptimizerUpdate.SCOPE, () -> {
            appendTo(update, names, parameters, gradients);
            return update;
        });
    }

    private void appendTo(OptimizerUpdate update, List<String> names, List<Value> parameters, List<Value> gradients) {
        for (int i = 0; i < parameters.size(); i++) {
            Value p = parameters.get(i);
            Value g = gradients.get(i);
            DType dt = p.dtype();
            if (weightDecay != 0) {
                g = g.add(p.mul(weightDecay));
            }
            if (momentum != 0) {
                Value buf = update.declareState("momentum_buffer/" + names.get(i), p, dt);
                Value newBuf = buf.mul(momentum).add(g);
                update.assign(buf, newBuf);
                g = nesterov ? g.add(newBuf.mul(momentum)) : newBuf;
            }
            Value lr = Ops.cast(update.learningRate(), dt);
            update.assign(p, p.sub(g.mul(lr)));
        }
    }

    @Override
    public String describe() {
        return "sgd(momentum=" + momentum + ", nesterov=" + nesterov + ", weight_decay=" + weightDecay + ")";
    }
}
