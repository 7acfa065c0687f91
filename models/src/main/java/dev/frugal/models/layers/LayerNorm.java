package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/**
 * Layer normalisation over the last axis ({@code nn.LayerNorm(dim)}): parameters {@code weight}
 * (ones) and {@code bias} (zeros) of shape {@code [dim]}. Behaves the same in training and
 * evaluation.
 */
public final class LayerNorm extends Module {
    private final int dim;
    private final double eps;
    private final Variable weight;
    private final Variable bias;

    /** PyTorch's default eps, 1e-5. */
    public LayerNorm(int dim) {
        this(dim, 1e-5);
    }

    /** A layer norm over a last axis of size {@code dim} with the given eps (> 0). */
    public LayerNorm(int dim, double eps) {
        if (dim < 1 || !(eps > 0)) {
            throw new IllegalArgumentException("LayerNorm: dim must be >= 1 and eps > 0, got " + dim + " and " + eps);
        }
        this.dim = dim;
        this.eps = eps;
        this.weight = addParameter("weight", Shape.of(dim), Initializer.ones());
        this.bias = addParameter("bias", Shape.of(dim), Initializer.zeros());
    }

    /** The size of the normalised last axis. */
    public int dim() {
        return dim;
    }

    /** {@code [..., dim]} to the same shape. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Functional.layerNorm(input, Shape.of(dim), trace.value(weight), trace.value(bias), eps);
    }
}
