package dev.frugal.trainer.prune;

import dev.frugal.models.Module;
import dev.frugal.models.layers.Conv2d;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.zoo.ChannelGroup;
import dev.frugal.models.zoo.ModelSpec;
import dev.frugal.models.zoo.PrunableChannels;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pruning as a run configures it: the {@link PruningSpec} and, for structured pruning, the
 * model's channel groups ({@link PrunableChannels}).
 *
 * @param spec   what {@code --prune} asked for
 * @param groups the channel groups structured pruning ranks and removes; empty for magnitude pruning
 */
public record Pruning(PruningSpec spec, List<ChannelGroup> groups) {
    /** Copies the groups; structured pruning needs at least one. */
    public Pruning {
        groups = List.copyOf(groups);
        if (spec.method() == PruningSpec.Method.STRUCTURED && groups.isEmpty()) {
            throw new IllegalArgumentException("structured pruning needs the model's channel groups");
        }
    }

    /**
     * The pruning of {@code spec} for a zoo model.
     *
     * @throws IllegalArgumentException for structured pruning of a model without channel groups (naming the models with them)
     */
    public static Pruning of(PruningSpec spec, ModelSpec model) {
        return new Pruning(spec, spec.method() == PruningSpec.Method.STRUCTURED ? PrunableChannels.of(model) : List.of());
    }

    /**
     * How many of a group's {@code size} channels structured pruning at {@code sparsity} removes:
     * {@code round(sparsity * size)}, but never the last one.
     */
    public static int channelsRemoved(int size, double sparsity) {
        return (int) Math.min(size - 1, Math.round(sparsity * size));
    }

    /** Whether channels are removed (structured) rather than single weights. */
    public boolean structured() {
        return spec.method() == PruningSpec.Method.STRUCTURED;
    }

    /**
     * The parameters the masks cover, in the model's order: for magnitude pruning the weights of
     * every convolution and linear layer (not biases, norms or embeddings); for structured pruning
     * the parameters among the groups' sources and followers (buffers need no mask: their channel
     * is zero once its source and followers are).
     *
     * @throws IllegalArgumentException when a group names a parameter the model lacks, or there is nothing to prune
     */
    public List<String> targets(Module model) {
        Map<String, ?> parameters = model.namedParameters();
        Set<String> wanted = new LinkedHashSet<>();
        if (structured()) {
            for (ChannelGroup g : groups) {
                for (ChannelGroup.Member m : g.members()) {
                    if (m.role() == ChannelGroup.Role.CONSUMER) {
                        continue;
                    }
                    if (!model.namedVariables().containsKey(m.variable())) {
                        throw new IllegalArgumentException("channel group " + g.name() + " names " + m.variable() + ", which the model does not have");
                    }
                    if (parameters.containsKey(m.variable())) {
                        wanted.add(m.variable());
                    }
                }
            }
        } else {
            model.namedModules().forEach((name, module) -> {
                if (module instanceof Conv2d || module instanceof Linear) {
                    wanted.add(name.isEmpty() ? "weight" : name + ".weight");
                }
            });
        }
        List<String> ordered = new ArrayList<>();
        for (String name : parameters.keySet()) {
            if (wanted.contains(name)) {
                ordered.add(name);
            }
        }
        if (ordered.isEmpty()) {
            throw new IllegalArgumentException("--prune " + spec + ": the model has no convolution or linear weights to prune");
        }
        return ordered;
    }
}
