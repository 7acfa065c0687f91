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
     * Appends the update of every parameter to the parameters' graph.
     *
     * @param names the parameters' names, used to name the state ({@code exp_avg/NAME})
     * @param parameters the parameter inputs, one per name
     * @param gradients the gradient of the loss with respect to each parameter, same order
     * @return the appended update: its learning-rate input and its state
     */
    OptimizerUpdate append(List<String> names, List<Value> parameters, List<Value> gradients);

    /** A short description for logs and run configurations, e.g. {@code sgd(momentum=0.9)}. */
    String describe();
}
