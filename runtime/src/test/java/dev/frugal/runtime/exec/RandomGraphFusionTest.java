package dev.frugal.runtime.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.testing.Bits;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Property: on random programs of elementwise ops with broadcasting, casts, masks, selects and
 * reductions in F32, F16 and BF16 ({@link RandomElementwiseGraphs}), the fused program computes
 * exactly what the unfused one does, bit for bit, on every output.
 */
class RandomGraphFusionTest {
    static final int PROGRAMS = 60;

    @Test
    void fusedEqualsUnfusedOnRandomPrograms() {
        int fusedGroups = 0;
        for (long seed = 1; seed <= PROGRAMS; seed++) {
            RandomElementwiseGraphs p = RandomElementwiseGraphs.of(seed);
            try (Program fused = Executor.cpu().withReductionFusion(true).compile(p.graph(), p.outputs());
                 Program unfused = Executor.cpu().withFusion(false).compile(p.graph(), p.outputs())) {
                fusedGroups += fused.fusedGroups().size();
                List<Tensor> a = fused.run(p.feeds());
                List<Tensor> b = unfused.run(p.feeds());
                for (int i = 0; i < a.size(); i++) {
                    Value out = p.outputs().get(i);
                    assertArrayEquals(Bits.of(b.get(i)), Bits.of(a.get(i)), "seed " + seed + ", output " + out + "\n" + p.graph());
                }
            } finally {
                p.feeds().values().forEach(Tensor::close);
            }
        }
        assertTrue(fusedGroups > PROGRAMS, "the programs exercise fusion: " + fusedGroups + " groups");
    }
}
