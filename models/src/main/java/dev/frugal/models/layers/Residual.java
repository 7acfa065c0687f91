package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * A residual block {@code x + body(x)} (the skip connection of ResNets and pre-norm transformer
 * blocks); {@code body} must keep the input's shape. The body is the child {@code body}.
 */
public final class Residual extends Module {
    private final Module body;

    /** {@code x + body(x)}. */
    public Residual(Module body) {
        this.body = addModule("body", body);
    }

    /** The wrapped module. */
    public Module body() {
        return body;
    }

    /** {@code input + body(input)}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value y = body.forward(trace, input);
        if (!y.shape().equals(input.shape()) || y.dtype() != input.dtype()) {
            throw new IllegalArgumentException("Residual: the body must keep the input's shape and dtype, got " + input.dtype() + input.shape()
                    + " -> " + y.dtype() + y.shape());
        }
        return Ops.add(input, y);
    }
}
