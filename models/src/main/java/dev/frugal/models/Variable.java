package dev.frugal.models;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;

/**
 * One tensor a {@link Module} owns: a trainable parameter (a weight, a bias) or a buffer (state
 * that is saved with the model but not trained, such as batch-norm running statistics).
 *
 * <p>A variable is declared with its shape, dtype and {@link Initializer} when the module is
 * built; its value is allocated by {@link Module#initialize(long)}, which fills it from a random
 * stream keyed by the seed and the variable's hierarchical name. The value stays owned by the
 * module: {@link Module#close()} frees it.
 */
public final class Variable {
    /** Whether a variable is trained (gets a gradient) or is state carried between steps. */
    public enum Kind {
        /** Trainable: traced as a graph parameter and differentiated. */
        PARAMETER,
        /** Not trainable: traced as graph state and updated, if at all, by assignments. */
        BUFFER
    }

    private final String localName;
    private final Kind kind;
    private final Shape shape;
    private final DType dtype;
    private final Initializer initializer;
    private Tensor value;

    Variable(String localName, Kind kind, Shape shape, DType dtype, Initializer initializer) {
        this.localName = localName;
        this.kind = kind;
        this.shape = shape;
        this.dtype = dtype;
        this.initializer = initializer;
    }

    /** The name inside its module, e.g. {@code weight}; the full name is the path from the root. */
    public String localName() {
        return localName;
    }

    /** Parameter or buffer. */
    public Kind kind() {
        return kind;
    }

    /** The shape of the value. */
    public Shape shape() {
        return shape;
    }

    /** The element type of the value. */
    public DType dtype() {
        return dtype;
    }

    /** How the value is filled by {@link Module#initialize(long)}. */
    public Initializer initializer() {
        return initializer;
    }

    /** The number of elements. */
    public long numel() {
        return shape.numel();
    }

    /**
     * The current value, owned by the module.
     *
     * @throws IllegalStateException when the module was not initialised yet or was closed
     */
    public Tensor value() {
        if (value == null || value.isClosed()) {
            throw new IllegalStateException("variable '" + localName + "' has no value: call initialize(seed) on the root module first"
                    + (value != null ? " (the module was closed)" : ""));
        }
        return value;
    }

    /** True when a value is allocated and open. */
    public boolean hasValue() {
        return value != null && !value.isClosed();
    }

    /**
     * Copies {@code source}'s values into this variable (allocating the value first when the module
     * was not initialised), e.g. when loading a checkpoint. The source stays the caller's.
     *
     * @throws IllegalArgumentException when the source's shape or dtype differs from the variable's
     */
    public void load(Tensor source) {
        if (!source.shape().equals(shape) || source.dtype() != dtype) {
            throw new IllegalArgumentException("variable '" + localName + "' is " + dtype + shape + ", cannot load a " + source.dtype() + source.shape()
                    + " tensor into it");
        }
        if (!hasValue()) {
            setValue(Tensor.zeros(shape, dtype));
        }
        value.copyFrom(source);
    }

    /** Replaces the value (freeing the previous one); the module owns the new tensor. */
    void setValue(Tensor tensor) {
        freeValue();
        value = tensor;
    }

    /** Frees the value, if any. */
    void freeValue() {
        if (value != null && !value.isClosed()) {
            value.close();
        }
        value = null;
    }
}
