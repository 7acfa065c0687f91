package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/**
 * The activation {@code nn.SiLU}, {@code x * sigmoid(x)}, as a module so that it can sit in a {@link Sequential}. No
 * variables; the same in training and evaluation.
 */
public final class SiLU extends Module {
    /** The activation. */
    public SiLU() {
    }

    /** Applies the activation elementwise; the output has the input's shape. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Functional.silu(input);
    }
}
