package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.layers.Flatten;
import dev.frugal.models.layers.Linear;
import dev.frugal.runtime.graph.Value;

/**
 * The zoo's {@code mlp}: flatten, then {@code fc1} (in to hidden1), ReLU, {@code fc2} (hidden1 to
 * hidden2), ReLU, {@code fc3} (hidden2 to classes). With the defaults, 784-256-128-10.
 */
public final class Mlp extends Module {
    private final Flatten flatten;
    private final Linear fc1;
    private final Linear fc2;
    private final Linear fc3;

    /** An MLP from {@code inFeatures} through two hidden layers to {@code classes} logits. */
    public Mlp(int inFeatures, int hidden1, int hidden2, int classes) {
        this.flatten = addModule("flatten", new Flatten());
        this.fc1 = addModule("fc1", new Linear(inFeatures, hidden1));
        this.fc2 = addModule("fc2", new Linear(hidden1, hidden2));
        this.fc3 = addModule("fc3", new Linear(hidden2, classes));
    }

    /** {@code [N, ...]} (any trailing shape with {@code inFeatures} elements) to {@code [N, classes]} logits. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = flatten.forward(trace, input);
        x = fc1.forward(trace, x).relu();
        x = fc2.forward(trace, x).relu();
        return fc3.forward(trace, x);
    }
}
