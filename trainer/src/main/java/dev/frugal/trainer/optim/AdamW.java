package dev.frugal.trainer.optim;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * AdamW with PyTorch's {@code torch.optim.AdamW} semantics (not amsgrad, not maximize):
 * {@code p *= 1 - lr * wd} (decoupled decay), {@code m += (1 - beta1) (g - m)},
 * {@code v = beta2 v + (1 - beta2) g^2}, {@code p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)}.
 * The step count {@code t} is an F64 state so the bias corrections are computed in double, as
 * PyTorch computes them on the host.
 *
 * @param beta1 first-moment decay
 * @param beta2 second-moment decay
 * @param eps added to the denominator
 * @param weightDecay decoupled weight decay
 */
public record AdamW(double beta1, double beta2, double eps, double weightDecay) implements Optimizer {

    /** Checks the hyperparameters. */
    public AdamW {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("adamw betas (" + beta1 + ", " + beta2 + "), expected each in [0, 1)");
        }
        if (!(eps >= 0) || !Double.isFinite(eps)) {
            throw new IllegalArgumentException("adamw eps " + eps + ", expected a finite value >= 0");
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("adamw weight decay " + weightDecay + ", expected a finite value >= 0");
        }
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public static AdamW defaults() {
        return new AdamW(0.9, 0.999, 1e-8, 0.01);
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
        var graph = parameters.getFirst().graph();
        Value step = update.declareState("step", Shape.scalar(), DType.F64, graph);
        Value t = step.add(1.0);
        update.assign(step, t);
        Value lr = update.learningRate();
        Value bc1 = Ops.constant(graph, 1.0, DType.F64).sub(Ops.pow(Ops.constant(graph, beta1, DType.F64), t));
        Value bc2 = Ops.constant(graph, 1.0, DType.F64).sub(Ops.pow(Ops.constant(graph, beta2, DType.F64), t));
        Value stepSize = lr.div(bc1);
        Value bc2Sqrt = bc2.sqrt();
        for (int i = 0; i < parameters.size(); i++) {
            Value p = parameters.get(i);
            Value g = gradients.get(i);
            DType dt = p.dtype();
            Value m = update.declareState("exp_avg/" + names.get(i), p, dt);
            Value v = update.declareState("exp_avg_sq/" + names.get(i), p, dt);
            Value decayed = weightDecay == 0 ? p : p.mul(Ops.cast(lr.mul(weightDecay).neg().add(1.0), dt));
            Value newM = m.add(g.sub(m).mul(1 - beta1));
            Value newV = v.mul(beta2).add(g.mul(g).mul(1 - beta2));
            Value denom = newV.sqrt().div(Ops.cast(bc2Sqrt, dt)).add(eps);
            Value newP = decayed.sub(newM.div(denom).mul(Ops.cast(stepSize, dt)));
            update.assign(m, newM);
            update.assign(v, newV);
            update.assign(p, newP);
        }
    }

    @Override
    public String describe() {
        return "adamw(betas=(" + beta1 + ", " + beta2 + "), eps=" + eps + ", weight_decay=" + weightDecay + ")";
    }
}
