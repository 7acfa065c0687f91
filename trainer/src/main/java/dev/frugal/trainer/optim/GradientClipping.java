package dev.frugal.trainer.optim;

import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * Gradient clipping by global norm, in the graph, with {@code torch.nn.utils.clip_grad_norm_}
 * semantics: {@code total = ||(||g_1||, ..., ||g_n||)||}, every gradient is multiplied by
 * {@code min(1, maxNorm / (total + 1e-6))}.
 */
public final class GradientClipping {
    /** The scope clipping is traced in. */
    public static final String SCOPE = "grad_clip";

    private GradientClipping() {
    }

    /**
     * The clipped gradients and the total norm before clipping.
     *
     * @param gradients the gradients (one floating dtype)
     * @param totalNorm the global L2 norm before clipping, a scalar (what PyTorch returns)
     */
    public record Clipped(List<Value> gradients, Value totalNorm) {
    }

    /**
     * The global L2 norm of {@code gradients}, as a scalar of their dtype.
     *
     * @param gradients at least one gradient
     * @return the norm of the per-tensor norms
     */
    public static Value globalNorm(List<Value> gradients) {
        Value sumSq = null;
        for (Value g : gradients) {
            Value n = Ops.sum(g.mul(g), false).sqrt();
            Value sq = n.mul(n);
            sumSq = sumSq == null ? sq : sumSq.add(sq);
        }
        return sumSq.sqrt();
    }

    /**
     * Appends clipping to the gradients' graph.
     *
     * @param gradients the gradients
     * @param maxNorm the largest global norm allowed (> 0)
     * @return the scaled gradients and the norm before clipping
     */
    public static Clipped clip(List<Value> gradients, double maxNorm) {
        if (!(maxNorm > 0) || !Double.isFinite(maxNorm)) {
            throw new IllegalArgumentException("gradient clipping max norm " + maxNorm + ", expected a finite value > 0");
        }
        if (gradients.isEmpty()) {
            throw new IllegalArgumentException("gradient clipping: no gradients");
        }
        // in its own scope, which the autocast pass keeps in float32 like the optimizer that follows
        return gradients.getFirst().graph().inScope(SCOPE, () -> {
            Value total = globalNorm(gradients);
            Value coef = Ops.constant(total.graph(), maxNorm, total.dtype()).div(total.add(1e-6));
            Value clamped = Ops.minimum(coef, Ops.constant(total.graph(), 1.0, total.dtype()));
            List<Value> out = new ArrayList<>(gradients.size());
            for (Value g : gradients) {
                out.add(g.mul(clamped));
            }
            return new Clipped(List.copyOf(out), total);
        });
    }
}
