package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.runtime.Shape;

import java.util.List;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * One model of the zoo: its name, a one-line description, the per-sample input shape and class
 * count it is built for, its options, and how to build its (uninitialised) module from a spec.
 * For a model whose input shape or logit count follows its options (tiny-gpt: {@code [context]}
 * token ids in, {@code vocab} logits per position out), {@link #inputShape()} and
 * {@link #classes()} are those of the default spec and {@link #inputShape(ModelSpec)} and
 * {@link #classes(ModelSpec)} give them for any spec.
 *
 * @param name        the name used in specs and by {@code frugal models}
 * @param description one line for tables
 * @param inputShape  one sample's shape, without the batch axis (e.g. {@code [1, 28, 28]}), for the default spec
 * @param classes     the number of output logits (per position for a language model), for the default spec
 * @param options     the accepted options, in the order they are listed
 * @param builder     builds the module for a validated spec of this entry
 * @param inputShapeOf one sample's shape for a validated spec
 * @param classesOf   the number of output logits for a validated spec
 */
public record ZooEntry(String name, String description, Shape inputShape, int classes, List<ModelOption> options,
                       Function<ModelSpec, Module> builder, Function<ModelSpec, Shape> inputShapeOf, ToIntFunction<ModelSpec> classesOf) {
    /** Copies the option list. */
    public ZooEntry {
        options = List.copyOf(options);
    }

    /** An entry whose input shape and class count are the same for every spec (the image classifiers). */
    public ZooEntry(String name, String description, Shape inputShape, int classes, List<ModelOption> options,
                    Function<ModelSpec, Module> builder) {
        this(name, description, inputShape, classes, options, builder, spec -> inputShape, spec -> classes);
    }

    /** One sample's input shape, without the batch axis, for {@code spec} (a spec of this entry). */
    public Shape inputShape(ModelSpec spec) {
        return inputShapeOf.apply(spec);
    }

    /** The number of output logits for {@code spec} (a spec of this entry). */
    public int classes(ModelSpec spec) {
        return classesOf.applyAsInt(spec);
    }

    /** The option with this key, or null. */
    public ModelOption option(String key) {
        for (ModelOption o : options) {
            if (o.name().equals(key)) {
                return o;
            }
        }
        return null;
    }
}
