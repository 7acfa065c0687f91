package dev.frugal.trainer.prune;

import dev.frugal.models.zoo.ChannelGroup;
import dev.frugal.models.zoo.Model;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code pruning} block of a run's {@code summary.json}: what was asked, what the masks reached,
 * and parameters and FLOPs before and after. For structured pruning "after" is the smaller model
 * written to {@code pruned/}; magnitude pruning keeps the dense shapes, so its FLOPs are unchanged
 * on dense kernels and its parameters after are the non-zero ones.
 */
public final class PruningSummary {
    private PruningSummary() {
    }

    /**
     * The block.
     *
     * @param model          the trained model (full size, masked)
     * @param pruner         its pruner after the run
     * @param pruned         the smaller model (structured pruning), or null
     * @param prunedAccuracy the smaller model's test accuracy; null when not evaluated or when the
     *                       task has none (a language model)
     * @param prunedValLoss  a language model's held-out loss with the smaller model, in nats per
     *                       token; null for a classifier or when not evaluated
     * @param stepsDone      the optimizer steps the run made
     */
    public static Map<String, Object> of(Model model, Pruner pruner, Model pruned, Double prunedAccuracy, Double prunedValLoss,
                                         long stepsDone) {
        Map<String, Object> s = new LinkedHashMap<>();
        PruningSpec spec = pruner.pruning().spec();
        s.put("spec", spec.toString());
        s.put("method", spec.method().name().toLowerCase(Locale.ROOT));
        s.put("target_sparsity", spec.sparsity());
        // below the target when a budget ended the run before the schedule's last update
        s.put("sparsity_reached", pruner.schedule().sparsityAfter(stepsDone));
        s.put("masked_share", pruner.maskedShare());
        s.put("parameters_before", model.parameterCount());
        s.put("flops_before", model.forwardFlops());
        if (pruned != null) {
            s.put("parameters_after", pruned.parameterCount());
            s.put("flops_after", pruned.forwardFlops());
            s.put("pruned_model", pruned.spec().toString());
            Map<String, Object> channels = new LinkedHashMap<>();
            Map<String, int[]> kept = pruner.keptChannels();
            for (ChannelGroup g : pruner.pruning().groups()) {
                channels.put(g.name(), kept.get(g.name()).length + "/" + g.size());
            }
            s.put("kept_channels", channels);
            s.put("pruned_model_file", PrunedModel.DIRECTORY + "/" + PrunedModel.FILE);
            if (prunedValLoss != null) {
                s.put("val_loss_pruned_model", prunedValLoss);
            } else {
                s.put("test_accuracy_pruned_model", prunedAccuracy);
            }
        } else {
            s.put("parameters_after", model.parameterCount() - pruner.zeroedParameters());
            s.put("flops_after", model.forwardFlops());
        }
        s.put("flops_ratio", ((Number) s.get("flops_after")).doubleValue() / model.forwardFlops());
        return s;
    }
}
