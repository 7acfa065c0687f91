package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;

/**
 * A model built from the zoo: the module tree together with what it was built from (its
 * {@link ModelSpec}) and for (per-sample input shape, class count). Closing it frees the
 * module's tensors.
 */
public final class Model implements AutoCloseable {
    private final ZooEntry entry;
    private final ModelSpec spec;
    private final Module module;
    private long forwardFlops = -1;

    Model(ZooEntry entry, ModelSpec spec, Module module) {
        this.entry = entry;
        this.spec = spec;
        this.module = module;
    }

    /** The zoo name, e.g. {@code cnn-small}. */
    public String name() {
        return spec.name();
    }

    /** The resolved spec (every option with its value). */
    public ModelSpec spec() {
        return spec;
    }

    /** The zoo entry the model was built from. */
    public ZooEntry entry() {
        return entry;
    }

    /** The module tree. */
    public Module module() {
        return module;
    }

    /** One sample's input shape, without the batch axis (for tiny-gpt, {@code [context]} token ids). */
    public Shape inputShape() {
        return entry.inputShape(spec);
    }

    /** The dtype of the model's input: F32 images, or I32 token ids for a language model. */
    public DType inputDType() {
        return module.inputDType();
    }

    /** The number of output logits (per position, for a language model: its vocabulary). */
    public int classes() {
        return entry.classes(spec);
    }

    /** The number of trainable scalars. */
    public long parameterCount() {
        return module.parameterCount();
    }

    /** Forward FLOPs per sample (matmuls, convolutions and attention, 2 per multiply-add; see {@link dev.frugal.models.FlopCounter}). */
    public long forwardFlops() {
        if (forwardFlops < 0) {
            forwardFlops = module.forwardFlops(inputShape());
        }
        return forwardFlops;
    }

    /**
     * The same model (entry, spec, input shape, classes) with {@code replacement} as its module
     * tree: a wrapper around this model's module whose variables keep their full names, such as
     * int8 fake quantization's. The returned model owns the tree; close it instead of this one.
     */
    public Model withModule(Module replacement) {
        return new Model(entry, spec, replacement);
    }

    /** Frees the module's tensors. */
    @Override
    public void close() {
        module.close();
    }

    /** The spec, parameter count and FLOPs in one line. */
    @Override
    public String toString() {
        return spec + " (" + parameterCount() + " parameters, " + forwardFlops() + " forward FLOPs per sample)";
    }
}
