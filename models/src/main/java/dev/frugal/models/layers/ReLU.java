package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * The activation {@code nn.ReLU}, {@code max(x, 0)}, as a module so that it can sit in a {@link Sequential}. No
 * variables; the same in training and evaluation.
 */
public final class ReLU extends Module {
    /** The activation. */
    public ReLU() {
    }

    /** Applies the activation elementwise; the output has the input's shape. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Ops.relu(input);
    }
}
