package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/** Flattens every axis after the batch axis ({@code nn.Flatten}): {@code [N, ...]} to {@code [N, prod(...)]}. No variables. */
public final class Flatten extends Module {
    /** The flatten. */
    public Flatten() {
    }

    /** {@code [N, ...]} to {@code [N, prod(...)]}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Functional.flatten(input);
    }
}
