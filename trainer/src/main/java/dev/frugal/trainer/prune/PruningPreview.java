package dev.frugal.trainer.prune;

import dev.frugal.models.Variable;
import dev.frugal.models.zoo.ChannelGroup;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.models.zoo.PrunableChannels;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What pruning a model would leave, from shapes alone (nothing is allocated): for structured
 * pruning the smaller zoo model with its parameters and FLOPs, for magnitude pruning the non-zero
 * parameters (FLOPs stay those of the dense shapes). {@code frugal models --prune} prints it.
 *
 * @param spec             the pruning
 * @param prunedModel      the spec of the smaller model (structured), or the model's own spec (magnitude)
 * @param parametersBefore the model's parameters
 * @param parametersAfter  parameters of the smaller model, or the non-zero ones
 * @param flopsBefore      forward FLOPs per sample of the model
 * @param flopsAfter       forward FLOPs per sample of the smaller model (equal for magnitude pruning)
 */
public record PruningPreview(PruningSpec spec, String prunedModel, long parametersBefore, long parametersAfter,
                             long flopsBefore, long flopsAfter) {
    /**
     * The preview for a zoo model (built but not initialised: {@link ModelZoo#build}).
     *
     * @throws IllegalArgumentException for structured pruning of a model without channel groups
     */
    public static PruningPreview of(Model model, PruningSpec spec) {
        Pruning pruning = Pruning.of(spec, model.spec());
        if (pruning.structured()) {
            Map<String, Integer> kept = new LinkedHashMap<>();
            for (ChannelGroup g : pruning.groups()) {
                kept.put(g.name(), g.size() - Pruning.channelsRemoved(g.size(), spec.sparsity()));
            }
            try (Model small = ModelZoo.build(PrunableChannels.prunedSpec(model.spec(), kept).toString())) {
                return new PruningPreview(spec, small.spec().toString(), model.parameterCount(), small.parameterCount(),
                        model.forwardFlops(), small.forwardFlops());
            }
        }
        Map<String, Variable> params = model.module().namedParameters();
        // as MagnitudeMasks counts: floor(s * all weights) ranked together, or floor(s * each layer's)
        long zeroed = spec.scope() == PruningSpec.Scope.GLOBAL
                ? (long) Math.floor(spec.sparsity() * pruning.targets(model.module()).stream().mapToLong(n -> params.get(n).numel()).sum())
                : pruning.targets(model.module()).stream().mapToLong(n -> (long) Math.floor(spec.sparsity() * params.get(n).numel())).sum();
        return new PruningPreview(spec, model.spec().toString(), model.parameterCount(), model.parameterCount() - zeroed,
                model.forwardFlops(), model.forwardFlops());
    }

    /** FLOPs after over before. */
    public double flopsRatio() {
        return (double) flopsAfter / flopsBefore;
    }
}
