package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Value;

/**
 * A lookup table of learned vectors ({@code nn.Embedding}): parameter {@code weight
 * [vocabulary, dim]}, initialised normal(0, 1) as PyTorch does.
 */
public final class Embedding extends Module {
    private final int vocabulary;
    private final int dim;
    private final Variable weight;

    /** A table of {@code vocabulary} vectors of size {@code dim}. */
    public Embedding(int vocabulary, int dim) {
        if (vocabulary < 1 || dim < 1) {
            throw new IllegalArgumentException("Embedding: vocabulary and dim must be >= 1, got " + vocabulary + " and " + dim);
        }
        this.vocabulary = vocabulary;
        this.dim = dim;
        this.weight = addParameter("weight", Shape.of(vocabulary, dim), Initializer.normal(0, 1));
    }

    /** The number of rows. */
    public int vocabulary() {
        return vocabulary;
    }

    /** The size of each vector. */
    public int dim() {
        return dim;
    }

    /** I32 or I64 ids of any shape to {@code ids.shape + [dim]}; an id outside the table fails at run time. */
    @Override
    public Value forward(ModuleTrace trace, Value ids) {
        return Functional.embedding(trace.value(weight), ids);
    }
}
