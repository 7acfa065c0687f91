package dev.frugal.trainer.prune;

import dev.frugal.models.zoo.ChannelGroup;
import dev.frugal.runtime.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Structured pruning: in each channel group, the {@link Pruning#channelsRemoved} channels whose source filters have the smallest L1 or L2 norm are removed. Channels removed
 * earlier have zero filters, so they rank first and a rising sparsity never brings one back;
 * equal norms go by index, so the choice is deterministic.
 */
final class ChannelMasks {
    private ChannelMasks() {
    }

    /**
     * Per group option, which channels stay.
     *
     * @param groups   the model's channel groups
     * @param state    the model's variables by full name
     * @param sparsity the share of each group's channels to remove, in [0, 1)
     * @param norm     the filter norm
     */
    static Map<String, boolean[]> keep(List<ChannelGroup> groups, Map<String, Tensor> state, double sparsity, PruningSpec.Norm norm) {
        Map<String, boolean[]> kept = new LinkedHashMap<>();
        for (ChannelGroup g : groups) {
            double[] score = new double[g.size()];
            for (ChannelGroup.Member source : g.members(ChannelGroup.Role.SOURCE)) {
                accumulate(score, state.get(source.variable()).toFloatArray(), g.size(), norm);
            }
            if (norm == PruningSpec.Norm.L2) {
                for (int c = 0; c < score.length; c++) {
                    score[c] = Math.sqrt(score[c]);
                }
            }
            int remove = Pruning.channelsRemoved(g.size(), sparsity);
            boolean[] keep = new boolean[g.size()];
            Arrays.fill(keep, true);
            IntStream.range(0, g.size()).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(c -> score[c]).thenComparingInt(c -> c))
                    .limit(remove)
                    .forEach(c -> keep[c] = false);
            kept.put(g.name(), keep);
        }
        return kept;
    }

    /** Adds each channel's |w| (L1) or w^2 (L2) sums; sources index channels along axis 0, one contiguous run each. */
    private static void accumulate(double[] score, float[] weights, int channels, PruningSpec.Norm norm) {
        int perChannel = weights.length / channels;
        for (int c = 0; c < channels; c++) {
            double s = 0;
            for (int i = c * perChannel; i < (c + 1) * perChannel; i++) {
                s += norm == PruningSpec.Norm.L1 ? Math.abs(weights[i]) : (double) weights[i] * weights[i];
            }
            score[c] += s;
        }
    }

    /**
     * The element mask of a source or follower tensor (channels along axis 0) for kept channels.
     *
     * @param shapeNumel the tensor's element count
     * @param keep which channels stay
     */
    static float[] expand(long shapeNumel, boolean[] keep) {
        int perChannel = (int) (shapeNumel / keep.length);
        float[] m = new float[(int) shapeNumel];
        for (int c = 0; c < keep.length; c++) {
            if (keep[c]) {
                Arrays.fill(m, c * perChannel, (c + 1) * perChannel, 1f);
            }
        }
        return m;
    }
}
