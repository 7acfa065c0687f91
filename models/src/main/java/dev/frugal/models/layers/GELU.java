package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/**
 * The activation {@code nn.GELU}, the exact {@code x/2 * (1 + erf(x/sqrt 2))}, as a module so that it can sit in a {@link Sequential}. No
 * variables; the same in training and evaluation.
 */
public final class GELU extends Module {
    /** The activation. */
    public GELU() {
    }

    /** Applies the activation elementwise; the output has the input's shape. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Functional.gelu(input);
    }
}
