package dev.frugal.trainer.optim;

import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * An optimizer as a graph transformation: given the parameters and their gradients in a training
 * graph, it appends the update (new parameter values written by {@code ASSIGN}) and declares the
 * state it needs (momentum buffers, moments, a step count) as {@code STATE} inputs, so the whole
 * step compiles into one program. The learning rate is a scalar data input fed every step, so a
 * schedule never recompiles anything.
 */
public interface Optimizer {

    /**
     * Appends the update of every parameter to the parameters' graph, inside the scope
     * {@code "optimizer"} (which the autocast pass keeps in float32), writing each new value with
     * {@link OptimizerUpdate#assign} so that a step the loss scaler skips changes nothing.
     *
     * @param update where the update's learning-rate input and state live (made by the caller, who
     *     may have declared state of its own in it, such as the loss scale)
     * @param names the parameters' names, used to name the state ({@code exp_avg/NAME})
     * @param parameters the parameter inputs, one per name
     * @param gradients the gradient of the loss with respect to each parameter, same order
     * @return {@code update}
     */
    OptimizerUpdate append(OptimizerUpdate update, List<String> names, List<Value> parameters, List<Value> gradients);

    /**
     * Appends the update into a new {@link OptimizerUpdate} of the parameters' graph.
     *
     * @see #append(OptimizerUpdate, List, List, List)
     */
    default OptimizerUpdate append(List<String> names, List<Value> parameters, List<Value> gradients) {
        OptimizerUpdates.checkLists(names, parameters, gradients);
        OptimizerUpdate update = new OptimizerUpdate(parameters.getFirst().graph());
        try {
            return append(update, names, parameters, gradients);
        } catch (RuntimeException | Error e) {
            update.close();
            throw e;
        }
    }

    /** A short description for logs and run configurations, e.g. {@code sgd(momentum=0.9)}. */
    String describe();
}
