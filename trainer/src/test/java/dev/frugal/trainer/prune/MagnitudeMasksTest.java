package dev.frugal.trainer.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MagnitudeMasksTest {
    @Test
    void globalRankingZeroesTheSmallestAcrossLayers() {
        Map<String, float[]> w = new LinkedHashMap<>();
        w.put("a", new float[] {0.1f, -5f, 0.2f, 3f});
        w.put("b", new float[] {-0.05f, 4f, 0.3f, 2f});
        Map<String, float[]> m = MagnitudeMasks.compute(w, 0.5, PruningSpec.Scope.GLOBAL);
        assertArrayEquals(new float[] {0, 1, 0, 1}, m.get("a"));
        assertArrayEquals(new float[] {0, 1, 0, 1}, m.get("b"));
        m = MagnitudeMasks.compute(w, 0.3, PruningSpec.Scope.GLOBAL); // floor(0.3 * 8) = 2: -0.05 and 0.1
        assertArrayEquals(new float[] {0, 1, 1, 1}, m.get("a"));
        assertArrayEquals(new float[] {0, 1, 1, 1}, m.get("b"));
    }

    @Test
    void layerRankingPrunesEachLayerByTheSameShare() {
        Map<String, float[]> w = new LinkedHashMap<>();
        w.put("small", new float[] {0.01f, 0.02f, 0.03f, 0.04f});
        w.put("large", new float[] {10f, 20f, 30f, 40f});
        Map<String, float[]> m = MagnitudeMasks.compute(w, 0.5, PruningSpec.Scope.LAYER);
        assertArrayEquals(new float[] {0, 0, 1, 1}, m.get("small"));
        assertArrayEquals(new float[] {0, 0, 1, 1}, m.get("large"));
        m = MagnitudeMasks.compute(w, 0.5, PruningSpec.Scope.GLOBAL);
        assertArrayEquals(new float[] {0, 0, 0, 0}, m.get("small"));
        assertArrayEquals(new float[] {1, 1, 1, 1}, m.get("large"));
    }

    @Test
    void exactCountWithTiesBrokenByIndex() {
        Map<String, float[]> w = Map.of("t", new float[] {1f, -1f, 1f, 1f, 2f});
        assertArrayEquals(new float[] {0, 0, 1, 1, 1}, MagnitudeMasks.compute(w, 0.4, PruningSpec.Scope.GLOBAL).get("t"));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1}, MagnitudeMasks.compute(w, 0.0, PruningSpec.Scope.GLOBAL).get("t"));
    }

    @Test
    void randomWeightsGetExactlyTheRequestedShare() {
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[10_007];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        v[17] = 0; // a weight pruned before ranks first
        for (double s : new double[] {0.1, 0.5, 0.9, 0.99}) {
            float[] mask = MagnitudeMasks.compute(Map.of("w", v), s, PruningSpec.Scope.GLOBAL).get("w");
            int zeros = 0;
            for (float x : mask) {
                zeros += x == 0 ? 1 : 0;
            }
            assertEquals((int) Math.floor(s * v.length), zeros, "sparsity " + s);
            assertEquals(0, mask[17]);
        }
    }
}
