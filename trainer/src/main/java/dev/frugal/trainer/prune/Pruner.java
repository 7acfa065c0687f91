package dev.frugal.trainer.prune;

import dev.frugal.models.zoo.ChannelGroup;
import dev.frugal.runtime.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives a run's pruning between optimizer steps: at the schedule's steps it ranks the current
 * weights, rewrites the masks ({@link PruningMasks}, held in the optimizer state) and zeroes the
 * pruned weights at once, so the next forward pass already runs the pruned network. Between
 * updates the step itself keeps pruned weights at zero. Everything here is host work on the
 * bound tensors, a few times per run.
 */
public final class Pruner {
    private static final Logger LOG = LoggerFactory.getLogger(Pruner.class);

    private final Pruning pruning;
    private final PruningSchedule schedule;
    /** The model's variables by full name (live). */
    private final Map<String, Tensor> modelState;
    /** Per masked parameter, its mask tensor (live, in the optimizer state). */
    private final Map<String, Tensor> masks = new LinkedHashMap<>();

    /**
     * A pruner for a compiled step.
     *
     * @param masks          the step's masks
     * @param modelState     the model's variables by full name ({@code Module.state()})
     * @param optimizerState the optimizer state tensors by name (holding the masks)
     * @param totalSteps     the optimizer steps the run is configured for
     */
    public Pruner(PruningMasks masks, Map<String, Tensor> modelState, Map<String, Tensor> optimizerState, long totalSteps) {
        this.pruning = masks.pruning();
        this.schedule = new PruningSchedule(pruning.spec(), totalSteps);
        this.modelState = modelState;
        masks.stateByParameter().forEach((param, state) -> {
            Tensor m = optimizerState.get(state);
            if (m == null || modelState.get(param) == null) {
                throw new IllegalArgumentException("pruning: no mask or parameter for " + param);
            }
            this.masks.put(param, m);
        });
    }

    /** The schedule. */
    public PruningSchedule schedule() {
        return schedule;
    }

    /** The run's pruning. */
    public Pruning pruning() {
        return pruning;
    }

    /** Whether {@link #beforeStep} changes the masks before optimizer step {@code step}. */
    public boolean updatesAt(long step) {
        return schedule.updatesAt(step);
    }

    /**
     * Updates the masks when the schedule says so before optimizer step {@code step} (0-based:
     * the number of steps done).
     *
     * @return whether the masks changed
     */
    public boolean beforeStep(long step) {
        if (!schedule.updatesAt(step)) {
            return false;
        }
        double target = schedule.sparsityAt(step);
        pruneTo(target);
        LOG.info("pruning before step {}: target sparsity {}, {} of the pruned parameters now zero", step + 1,
                String.format("%.4f", target), String.format("%.4f", maskedShare()));
        return true;
    }

    /** Rewrites the masks for {@code sparsity} from the current weights and zeroes the pruned weights. */
    public void pruneTo(double sparsity) {
        Map<String, float[]> newMasks;
        if (pruning.structured()) {
            newMasks = new LinkedHashMap<>();
            Map<String, boolean[]> kept = ChannelMasks.keep(pruning.groups(), modelState, sparsity, pruning.spec().norm());
            for (ChannelGroup g : pruning.groups()) {
                for (ChannelGroup.Member m : g.members()) {
                    // a consumer is masked by its own group (if any), never by the channels it reads
                    if (m.role() == ChannelGroup.Role.CONSUMER || !masks.containsKey(m.variable())) {
                        continue;
                    }
                    if (m.axis() != 0) {
                        throw new IllegalStateException("channel group " + g.name() + ": masked member " + m.variable()
                                + " indexes channels along axis " + m.axis() + ", expected 0");
                    }
                    float[] mask = ChannelMasks.expand(masks.get(m.variable()).numel(), kept.get(g.name()));
                    newMasks.merge(m.variable(), mask, Pruner::product);
                }
            }
        } else {
            Map<String, float[]> weights = new LinkedHashMap<>();
            masks.keySet().forEach(name -> weights.put(name, modelState.get(name).toFloatArray()));
            newMasks = MagnitudeMasks.compute(weights, sparsity, pruning.spec().scope());
        }
        newMasks.forEach((name, mask) -> {
            Tensor maskTensor = masks.get(name);
            Tensor weight = modelState.get(name);
            float[] w = weight.toFloatArray();
            for (int i = 0; i < w.length; i++) {
                w[i] *= mask[i];
            }
            write(maskTensor, mask);
            write(weight, w);
        });
    }

    /** The share of masked elements over all masked parameters. */
    public double maskedShare() {
        long total = masks.values().stream().mapToLong(Tensor::numel).sum();
        return total == 0 ? 0 : (double) zeroedParameters() / total;
    }

    /**
     * Structured pruning: per group option, the indices of the channels the masks keep (read from
     * the first source's mask).
     *
     * @throws IllegalStateException for magnitude pruning
     */
    public Map<String, int[]> keptChannels() {
        if (!pruning.structured()) {
            throw new IllegalStateException("kept channels exist only for structured pruning");
        }
        Map<String, int[]> kept = new LinkedHashMap<>();
        for (ChannelGroup g : pruning.groups()) {
            ChannelGroup.Member source = g.members(ChannelGroup.Role.SOURCE).getFirst();
            float[] mask = masks.get(source.variable()).toFloatArray();
            int perChannel = mask.length / g.size();
            kept.put(g.name(), IntStream.range(0, g.size()).filter(c -> mask[c * perChannel] != 0).toArray());
        }
        return kept;
    }

    /** Elements the masks zero, over all masked parameters. */
    public long zeroedParameters() {
        long zeros = 0;
        for (Tensor m : masks.values()) {
            for (float x : m.toFloatArray()) {
                if (x == 0) {
                    zeros++;
                }
            }
        }
        return zeros;
    }

    /** Element-wise product, for a tensor two groups mask. */
    private static float[] product(float[] a, float[] b) {
        float[] p = a.clone();
        for (int i = 0; i < p.length; i++) {
            p[i] *= b[i];
        }
        return p;
    }

    private static void write(Tensor dst, float[] values) {
        try (Tensor src = Tensor.of(values, dst.shape().dims())) {
            dst.copyFrom(src);
        }
    }
}
