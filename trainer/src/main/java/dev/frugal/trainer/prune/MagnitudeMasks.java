package dev.frugal.trainer.prune;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Unstructured magnitude pruning: the masks that zero the weights of smallest absolute value,
 * ranked over all layers together ({@link PruningSpec.Scope#GLOBAL}) or within each layer. Exactly
 * {@code floor(sparsity * count)} weights are zeroed per ranking; among equal magnitudes the lower
 * index goes first, so the result is deterministic. Weights pruned earlier are zero and rank
 * first, so a rising sparsity never brings one back.
 */
final class MagnitudeMasks {
    private MagnitudeMasks() {
    }

    /**
     * The masks (1 keep, 0 prune) for {@code weights}.
     *
     * @param weights  per parameter, its values (the map's order is kept)
     * @param sparsity the share to zero, in [0, 1)
     * @param scope    global or per layer
     */
    static Map<String, float[]> compute(Map<String, float[]> weights, double sparsity, PruningSpec.Scope scope) {
        Map<String, float[]> masks = new LinkedHashMap<>();
        if (scope == PruningSpec.Scope.LAYER) {
            weights.forEach((name, w) -> masks.put(name, mask(List.of(w), sparsity).getFirst()));
            return masks;
        }
        List<float[]> all = List.copyOf(weights.values());
        List<float[]> computed = mask(all, sparsity);
        int i = 0;
        for (String name : weights.keySet()) {
            masks.put(name, computed.get(i++));
        }
        return masks;
    }

    /** Masks for tensors ranked together. */
    private static List<float[]> mask(List<float[]> tensors, double sparsity) {
        long total = 0;
        for (float[] t : tensors) {
            total += t.length;
        }
        int prune = (int) Math.floor(sparsity * total);
        float threshold = Float.NEGATIVE_INFINITY;
        if (prune > 0) {
            float[] magnitudes = new float[(int) total];
            int k = 0;
            for (float[] t : tensors) {
                for (float v : t) {
                    magnitudes[k++] = Math.abs(v);
                }
            }
            Arrays.sort(magnitudes);
            threshold = magnitudes[prune - 1];
        }
        // strictly below the threshold: pruned; at it: pruned in index order until the count is reached
        int below = 0;
        for (float[] t : tensors) {
            for (float v : t) {
                if (Math.abs(v) < threshold) {
                    below++;
                }
            }
        }
        int atThresholdLeft = prune - below;
        List<float[]> masks = new java.util.ArrayList<>(tensors.size());
        for (float[] t : tensors) {
            float[] m = new float[t.length];
            for (int i = 0; i < t.length; i++) {
                float a = Math.abs(t[i]);
                boolean pruned = a < threshold || (a == threshold && atThresholdLeft-- > 0);
                m[i] = pruned ? 0f : 1f;
            }
            masks.add(m);
        }
        return masks;
    }
}
