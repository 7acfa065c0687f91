package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.runtime.Shape;

import java.util.List;
import java.util.function.Function;

/**
 * One model of the zoo: its name, a one-line description, the per-sample input shape and class
 * count it is built for, its options, and how to build its (uninitialised) module from a spec.
 *
 * @param name        the name used in specs and by {@code frugal models}
 * @param description one line for tables
 * @param inputShape  one sample's shape, without the batch axis (e.g. {@code [1, 28, 28]})
 * @param classes     the number of output logits
 * @param options     the accepted options, in the order they are listed
 * @param builder     builds the module for a validated spec of this entry
 */
public record ZooEntry(String name, String description, Shape inputShape, int classes, List<ModelOption> options,
                       Function<ModelSpec, Module> builder) {
    /** Copies the option list. */
    public ZooEntry {
        options = List.copyOf(options);
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
