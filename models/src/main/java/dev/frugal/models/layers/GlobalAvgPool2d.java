package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/**
 * The mean over each channel's plane, {@code [N, C, H, W]} to {@code [N, C]}
 * ({@code nn.AdaptiveAvgPool2d(1)} followed by a flatten). No variables.
 */
public final class GlobalAvgPool2d extends Module {
    /** The pooling. */
    public GlobalAvgPool2d() {
    }

    /** {@code [N, C, H, W]} to {@code [N, C]}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        if (input.rank() != 4) {
            throw new IllegalArgumentException("GlobalAvgPool2d: expects an NCHW input of rank 4, got " + input.dtype() + input.shape());
        }
        return Functional.mean(input, false, 2, 3);
    }
}
