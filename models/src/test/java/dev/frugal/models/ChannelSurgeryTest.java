package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.ChannelGroup;
import dev.frugal.models.zoo.ChannelSurgery;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.models.zoo.PrunableChannels;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Removing channels must not change what the network computes when those channels were already
 * zeroed (their sources and followers), which is how pruning masks them during training.
 */
class ChannelSurgeryTest {
    @Test
    void removingZeroedChannelsKeepsTheLogits() {
        check("cnn-small:channels1=6,channels2=8,hidden=12", Map.of(
                "channels1", new int[] {0, 2, 5}, "channels2", new int[] {1, 2, 3, 6, 7}, "hidden", new int[] {0, 4, 5, 11}),
                "cnn-small:channels1=3,channels2=5,hidden=4,width=1");
        check("mlp:hidden1=10,hidden2=6", Map.of("hidden1", new int[] {1, 3, 9}, "hidden2", new int[] {0, 5}),
                "mlp:hidden1=3,hidden2=2");
        // depthwise filters follow the channels they read; the classifier reads the last block after pooling
        check("mobilenet-tiny:width=4", Map.of(
                "width", new int[] {1, 3}, "block1", new int[] {0, 2, 5, 7}, "block2", new int[] {3},
                "block3", new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, "block4", new int[] {2, 9, 15},
                "block5", new int[] {0, 8, 16, 24, 31}, "block6", new int[] {4, 5, 6, 30}),
                "mobilenet-tiny:width=2,block1=4,block2=1,block3=15,block4=3,block5=5,block6=4");
        // each residual block keeps its own units, as many in every block: one hidden option
        check("deep-mlp:depth=2,width=8", Map.of("blocks.0.hidden", new int[] {0, 3, 5, 7}, "blocks.1.hidden", new int[] {1, 2, 4, 6}),
                "deep-mlp:depth=2,width=8,hidden=4");
    }

    @Test
    void mobilenetTinyGroupsFollowItsBlockOptions() {
        try (Model m = ModelZoo.create("mobilenet-tiny:width=3,block2=5,block6=7", 1)) {
            assertEquals(List.of(3, 6, 5, 12, 12, 24, 7), PrunableChannels.of(m.spec()).stream().map(ChannelGroup::size).toList());
        }
    }

    @Test
    void widthMultiplierIsResolvedIntoAbsoluteCounts() {
        try (Model m = ModelZoo.create("cnn-small:channels1=2,channels2=3,hidden=4,width=2", 1)) {
            List<ChannelGroup> groups = PrunableChannels.of(m.spec());
            assertEquals(List.of(4, 6, 8), groups.stream().map(ChannelGroup::size).toList());
            try (Model p = ChannelSurgery.keep(m, Map.of("channels1", new int[] {0, 1}, "channels2", new int[] {0, 1, 2},
                    "hidden", new int[] {0, 1, 2, 3}), 1)) {
                assertEquals("cnn-small:channels1=2,channels2=3,hidden=4,width=1", p.spec().toString());
                assertTrue(p.forwardFlops() < m.forwardFlops() / 2, "halving every group more than halves the FLOPs");
            }
        }
    }

    @Test
    void badRequestsNameTheGroupOrModel() {
        try (Model m = ModelZoo.create("mlp:hidden1=4,hidden2=4", 1)) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ChannelSurgery.keep(m, Map.of("hidden1", new int[] {2, 1}, "hidden2", new int[] {0}), 1));
            assertTrue(e.getMessage().contains("hidden1") && e.getMessage().contains("ascending"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ChannelSurgery.keep(m, Map.of("hidden1", new int[] {0}), 1));
            assertTrue(e.getMessage().contains("hidden2"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> PrunableChannels.of(ModelZoo.parse("deep-mlp:depth=0")));
        assertTrue(e.getMessage().contains("no residual blocks"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PrunableChannels.of(ModelZoo.parse("tiny-gpt:layers=0")));
        assertTrue(e.getMessage().contains("no transformer blocks"), e.getMessage());
        try (Model deep = ModelZoo.create("deep-mlp:depth=2,width=4", 1)) {
            e = assertThrows(IllegalArgumentException.class, () -> ChannelSurgery.keep(deep,
                    Map.of("blocks.0.hidden", new int[] {0, 1}, "blocks.1.hidden", new int[] {2}), 1));
            assertTrue(e.getMessage().contains("share option hidden"), e.getMessage());
        }
    }

    @Test
    void transformerBlocksLoseMlpUnitsOnly() {
        // GELU(0) = 0: a unit with zeroed weights and bias adds nothing to the residual stream
        check("tiny-gpt:layers=2,width=8,heads=2,context=6,vocab=11",
                Map.of("blocks.0.hidden", new int[] {0, 5, 9, 17, 20, 31}, "blocks.1.hidden", new int[] {1, 2, 3, 4, 8, 30}),
                "tiny-gpt:layers=2,width=8,heads=2,context=6,vocab=11,hidden=6");
    }

    private static void check(String specText, Map<String, int[]> kept, String expectedSpec) {
        try (Model m = ModelZoo.create(specText, 3)) {
            randomiseBatchNormStatistics(m);
            zeroRemovedChannels(m, kept);
            m.module().eval();
            try (Model p = ChannelSurgery.keep(m, kept, 3);
                 Tensor x = m.inputDType() == DType.F32 ? randomImages(5) : randomTokens(5, m)) {
                p.module().eval();
                assertEquals(expectedSpec, p.spec().toString());
                assertTrue(p.parameterCount() < m.parameterCount());
                double[] full = logits(m, x);
                double[] small = logits(p, x);
                assertEquals(full.length, small.length);
                for (int i = 0; i < full.length; i++) {
                    assertEquals(full[i], small[i], 1e-5 * Math.max(1, Math.abs(full[i])), specText + " logit " + i);
                }
            }
        }
    }

    /** Non-trivial running statistics, so a wrongly sliced buffer would show in eval mode. */
    private static void randomiseBatchNormStatistics(Model m) {
        SplittableRandom r = new SplittableRandom(11);
        m.module().state().forEach((name, t) -> {
            if (name.endsWith("running_mean") || name.endsWith("running_var") || name.matches(".*(\\.1|bn\\d?)\\.(weight|bias)")) {
                for (long i = 0; i < t.numel(); i++) {
                    t.setFlat(i, name.endsWith("running_var") ? 0.5 + r.nextDouble() : r.nextDouble() - 0.5);
                }
            }
        });
    }

    /** Zeroes the sources and followers of every channel not kept, as a pruning mask does. */
    private static void zeroRemovedChannels(Model m, Map<String, int[]> kept) {
        Map<String, Tensor> state = m.module().state();
        for (ChannelGroup g : PrunableChannels.of(m.spec())) {
            boolean[] keep = new boolean[g.size()];
            for (int c : kept.get(g.name())) {
                keep[c] = true;
            }
            for (ChannelGroup.Member member : g.members()) {
                if (member.role() == ChannelGroup.Role.CONSUMER || member.variable().contains("running")) {
                    continue;
                }
                Tensor t = state.get(member.variable());
                long perChannel = t.numel() / g.size();
                for (int c = 0; c < g.size(); c++) {
                    if (!keep[c]) {
                        for (long i = 0; i < perChannel; i++) {
                            t.setFlat(c * perChannel + i, 0); // axis 0: channel c is one contiguous run
                        }
                    }
                }
            }
        }
    }

    private static Tensor randomImages(int n) {
        SplittableRandom r = new SplittableRandom(5);
        float[] v = new float[n * 28 * 28];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(v, n, 1, 28, 28);
    }

    /** {@code n} windows of random token ids for a language model. */
    private static Tensor randomTokens(int n, Model m) {
        SplittableRandom r = new SplittableRandom(5);
        int context = m.spec().get("context");
        int[] ids = new int[n * context];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(m.spec().get("vocab"));
        }
        return Tensor.ofInts(ids, n, context);
    }

    private static double[] logits(Model m, Tensor x) {
        Graph g = new Graph("eval");
        ModuleTrace trace = ModuleTrace.of(g, m.module());
        Value in = g.input("x", x.shape(), x.dtype());
        Value out = trace.forward(in);
        try (Program p = Executor.cpu().compile(g, List.of(out))) {
            trace.bind(p);
            return p.run(Map.of(in, x)).get(0).toDoubleArray();
        }
    }
}
