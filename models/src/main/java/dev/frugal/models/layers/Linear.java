package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/**
 * A fully connected layer {@code y = x · weightᵀ + bias} ({@code nn.Linear}): variables
 * {@code weight [out, in]} and, optionally, {@code bias [out]}, both initialised as PyTorch does,
 * uniform on {@code ±1/sqrt(in)}, unless other initialisers are given.
 */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Variable weight;
    private final Variable bias;

    /** A linear layer with a bias. */
    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    /** A linear layer, with or without a bias. */
    public Linear(int inFeatures, int outFeatures, boolean withBias) {
        this(inFeatures, outFeatures, withBias, null, null);
    }

    /**
     * A linear layer with its own initialisers (e.g. GPT-2's normal(0, 0.02) weights and zero
     * biases); a null initialiser means PyTorch's default, uniform on {@code ±1/sqrt(in)}.
     */
    public Linear(int inFeatures, int outFeatures, boolean withBias, Initializer weightInit, Initializer biasInit) {
        if (inFeatures < 1 || outFeatures < 1) {
            throw new IllegalArgumentException("Linear: in and out features must be >= 1, got " + inFeatures + " and " + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        Initializer byDefault = Initializer.kaimingUniform(inFeatures);
        this.weight = addParameter("weight", Shape.of(outFeatures, inFeatures), weightInit != null ? weightInit : byDefault);
        this.bias = withBias ? addParameter("bias", Shape.of(outFeatures), biasInit != null ? biasInit : byDefault) : null;
    }

    /** Input features. */
    public int inFeatures() {
        return inFeatures;
    }

    /** Output features. */
    public int outFeatures() {
        return outFeatures;
    }

    /** {@code [..., in]} to {@code [..., out]}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Functional.linear(input, trace.value(weight), bias == null ? null : trace.value(bias));
    }
}
