package dev.frugal.trainer.optim;

import dev.frugal.runtime.graph.Value;
import java.util.List;

/** Argument checks shared by the optimizers. */
final class OptimizerUpdates {
    private OptimizerUpdates() {
    }

    /** Checks that names, parameters and gradients line up and the parameters are floating. */
    static void checkLists(List<String> names, List<Value> parameters, List<Value> gradients) {
        if (parameters.isEmpty()) {
            throw new IllegalArgumentException("optimizer: no parameters to update");
        }
        if (names.size() != parameters.size() || gradients.size() != parameters.size()) {
            throw new IllegalArgumentException("optimizer: " + names.size() + " names, " + parameters.size() + " parameters and "
                    + gradients.size() + " gradients; expected one of each per parameter");
        }
        for (int i = 0; i < parameters.size(); i++) {
            Value p = parameters.get(i);
            Value g = gradients.get(i);
            if (!p.dtype().isFloating() || !p.shape().equals(g.shape()) || p.dtype() != g.dtype()) {
                throw new IllegalArgumentException("optimizer: parameter '" + names.get(i) + "' is " + p.dtype() + p.shape()
                        + " and its gradient " + g.dtype() + g.shape() + "; expected one floating dtype and shape");
            }
        }
    }
}
