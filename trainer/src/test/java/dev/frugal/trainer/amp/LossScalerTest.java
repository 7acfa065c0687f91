package dev.frugal.trainer.amp;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.models.Module;
import dev.frugal.models.layers.Flatten;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.ReLU;
import dev.frugal.models.layers.Sequential;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.TrainerConfig;
import dev.frugal.trainer.TrainingStepGraph;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.optim.Optimizer;
import dev.frugal.trainer.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dynamic loss scaling on the CPU with the exact FP16/BF16 rounding of the CPU backend: skipped
 * steps change nothing, the scale follows GradScaler's rules, scaling rescues gradients that
 * underflow in plain FP16, and mixed precision halves the activation memory.
 */
class LossScalerTest {
    private static final Shape SAMPLE = Shape.of(1, 4, 4);
    private static final int BATCH = 32;

    /** A compiled training step of a small perceptron, with its feeds. */
    private static final class Step implements AutoCloseable {
        final Module model;
        final TrainingStepGraph graph;
        final Program program;
        final Tensor images = Tensor.zeros(Shape.of(BATCH, 1, 4, 4), DType.F32);
        final Tensor labels = Tensor.zeros(Shape.of(BATCH), DType.I32);
        final SplittableRandom data;
        final double inputScale;

        Step(TrainerConfig config, long seed, double inputScale) {
            this.model = new Sequential(new Flatten(), new Linear(16, 12), new ReLU(), new Linear(12, 3)).initialize(seed);
            this.graph = TrainingStepGraph.trace(model, SAMPLE, BATCH, config);
            this.program = TrainingStepGraph.executor(Executor.cpu(), config).compile(graph.graph(), graph.outputs());
            graph.bind(program);
            this.data = new SplittableRandom(seed + 100);
            this.inputScale = inputScale;
        }

        /** One step on a fresh batch; {@code poison} puts a NaN in the batch. */
        double run(boolean poison) {
            for (int i = 0; i < BATCH; i++) {
                double sum = 0;
                for (int p = 0; p < 16; p++) {
                    double v = data.nextDouble() * 2 - 1;
                    sum += p < 8 ? v : -v;
                    images.setFlat(i * 16 + p, v * inputScale);
                }
                labels.setFlat(i, sum > 0.3 ? 0 : sum < -0.3 ? 1 : 2);
            }
            if (poison) {
                images.setFlat(5, Double.NaN);
            }
            Map<Value, Tensor> feeds = new HashMap<>();
            feeds.put(graph.images(), images);
            feeds.put(graph.labels(), labels);
            graph.update().feedLearningRate(feeds, 0.05);
            return program.run(feeds).getFirst().getFlat(0);
        }

        double scale() {
            return LossScaler.scale(graph.update().state());
        }

        double tracker() {
            return graph.update().state().get(LossScaler.GROWTH_TRACKER).getFlat(0);
        }

        /** Bits of every parameter, buffer and optimizer state tensor (the scaler's own left out). */
        Map<String, int[]> snapshot() {
            Map<String, int[]> out = new LinkedHashMap<>();
            model.state().forEach((k, t) -> out.put("model." + k, bits(t)));
            graph.update().state().forEach((k, t) -> {
                if (!k.startsWith("amp/")) {
                    out.put("optim." + k, bits(t));
                }
            });
            return out;
        }

        float[] weight(String name) {
            return model.state().get(name).toFloatArray();
        }

        @Override
        public void close() {
            program.close();
            graph.close();
            model.close();
            images.close();
            labels.close();
        }
    }

    private static int[] bits(Tensor t) {
        double[] d = new double[(int) t.numel()];
        int[] out = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = Float.floatToRawIntBits((float) t.getFlat(i));
        }
        return out;
    }

    private static TrainerConfig config(Optimizer optimizer, MixedPrecision amp) {
        return TrainerConfig.defaults().withOptimizer(optimizer).withMixedPrecision(amp);
    }

    @Test
    void anOverflowSkipsTheStepLeavesEveryWeightAndStateBitIdenticalAndHalvesTheScale() {
        for (Optimizer opt : List.of(new Sgd(0.9, true, 1e-4), AdamW.defaults())) {
            try (Step s = new Step(config(opt, MixedPrecision.of(Precision.FP16)), 7, 1.0)) {
                for (int i = 0; i < 3; i++) {
                    assertTrue(Double.isFinite(s.run(false)));
                }
                assertEquals(65536.0, s.scale());
                assertEquals(3.0, s.tracker());
                Map<String, int[]> before = s.snapshot();
                s.run(true); // a NaN in the batch: every gradient is NaN
                Map<String, int[]> after = s.snapshot();
                assertEquals(before.keySet(), after.keySet());
                before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k + " changed in a skipped step (" + opt.describe() + ")"));
                assertEquals(32768.0, s.scale(), "backed off by 0.5");
                assertEquals(0.0, s.tracker(), "growth tracker reset");
                assertEquals(1, LossScaler.skippedSteps(s.graph.update().state()));
                s.run(false);
                assertFalse(java.util.Arrays.equals(before.get("model.1.weight"), s.snapshot().get("model.1.weight")), "the next step updates again");
                assertEquals(1.0, s.tracker());
            }
        }
    }

    @Test
    void aScaleTooLargeForHalfPrecisionBacksOffUntilTheGradientsFit() {
        LossScaling huge = new LossScaling(Math.pow(2, 40), 2, 0.5, 2000);
        try (Step s = new Step(config(new Sgd(0.9, false, 0), new MixedPrecision(Precision.FP16, huge)), 3, 1.0)) {
            Map<String, int[]> start = s.snapshot();
            int steps = 0;
            while (LossScaler.skippedSteps(s.graph.update().state()) == steps && steps < 60) {
                s.run(false);
                steps++;
            }
            // gradients times 2^k overflow float16 (65504) until the scale has come down far enough
            long skipped = LossScaler.skippedSteps(s.graph.update().state());
            assertTrue(skipped >= 20, "skipped " + skipped);
            Map<String, int[]> now = s.snapshot();
            if (skipped == steps) {
                start.forEach((k, v) -> assertArrayEquals(v, now.get(k), k));
            }
            for (int i = 0; i < 40; i++) {
                s.run(false);
            }
            long total = LossScaler.skippedSteps(s.graph.update().state());
            double scale = s.scale();
            assertTrue(total < skipped + 5, "training proceeds once the scale fits: " + total + " skipped in all");
            assertEquals(Math.pow(2, 40 - total), scale, "each skipped step halved the scale, and none grew it (interval 2000)");
            assertTrue(scale > 1, "settled at " + scale);
        }
    }

    @Test
    void theScaleGrowsAfterEachGrowthIntervalWithoutOverflow() {
        LossScaling quick = new LossScaling(8, 2, 0.5, 3);
        try (Step s = new Step(config(new Sgd(0, false, 0), new MixedPrecision(Precision.FP16, quick)), 5, 1.0)) {
            List<Double> scales = new ArrayList<>();
            List<Double> trackers = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                s.run(false);
                scales.add(s.scale());
                trackers.add(s.tracker());
            }
            assertEquals(List.of(8.0, 8.0, 16.0, 16.0, 16.0, 32.0, 32.0), scales);
            assertEquals(List.of(1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0), trackers);
            s.run(true);
            assertEquals(16.0, s.scale());
            assertEquals(0.0, s.tracker());
        }
        // bf16 needs no scaling: by default it has none
        assertFalse(MixedPrecision.of(Precision.BF16).scalesLoss());
        assertTrue(MixedPrecision.of(Precision.FP16).scalesLoss());
    }

    @Test
    void gradientsThatUnderflowInPlainHalfPrecisionTrainWithLossScaling() {
        // inputs of 1e-7: the first layer's weight gradients (about 1e-9) are below float16's
        // smallest subnormal (6e-8), so without scaling they round to zero
        double tiny = 1e-7;
        Map<String, float[]> updates = new HashMap<>();
        for (String run : List.of("fp32", "fp16-unscaled", "fp16-scaled")) {
            MixedPrecision amp = switch (run) {
                case "fp32" -> MixedPrecision.FP32;
                case "fp16-unscaled" -> new MixedPrecision(Precision.FP16, null);
                default -> MixedPrecision.of(Precision.FP16);
            };
            try (Step s = new Step(config(Sgd.plain(), amp), 11, tiny)) {
                float[] before = s.weight("1.weight");
                for (int i = 0; i < 5; i++) {
                    s.run(false);
                }
                float[] after = s.weight("1.weight");
                float[] delta = new float[before.length];
                for (int i = 0; i < delta.length; i++) {
                    delta[i] = after[i] - before[i];
                }
                updates.put(run, delta);
            }
        }
        for (float d : updates.get("fp16-unscaled")) {
            assertEquals(0f, d, "without scaling the first layer never moves");
        }
        float[] ref = updates.get("fp32");
        float[] got = updates.get("fp16-scaled");
        double dot = 0;
        double nr = 0;
        double ng = 0;
        for (int i = 0; i < ref.length; i++) {
            dot += (double) ref[i] * got[i];
            nr += (double) ref[i] * ref[i];
            ng += (double) got[i] * got[i];
        }
        assertTrue(nr > 0, "the fp32 run moves the first layer");
        assertTrue(dot / Math.sqrt(nr * ng) > 0.99, "scaled fp16 updates follow fp32's: cosine " + dot / Math.sqrt(nr * ng));
        assertEquals(1.0, Math.sqrt(ng / nr), 0.05);
    }

    @Test
    void halfPrecisionHalvesTheActivationMemoryOfCnnSmall() {
        Map<Precision, Long> activations = new HashMap<>();
        for (Precision p : List.of(Precision.FP32, Precision.FP16, Precision.BF16)) {
            TrainerConfig cfg = config(new Sgd(0.9, false, 0), MixedPrecision.of(p));
            try (Model m = ModelZoo.create("cnn-small", 1);
                 CachingAllocator memory = new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults());
                 TrainingStepGraph step = TrainingStepGraph.trace(m.module(), m.inputShape(), 128, cfg);
                 Program program = TrainingStepGraph.executor(new Executor(new CpuBackend(memory)), cfg).compile(step.graph(), step.outputs())) {
                long arena = 0;
                for (Allocation a : memory.liveAllocations()) {
                    if (a.tag().equals("activations")) {
                        arena += a.requestedSize();
                    }
                }
                activations.put(p, arena);
                // the plan counts the arena in whole 512-byte blocks
                assertEquals(program.memoryPlan().activationBytes(), (arena + 511) / 512 * 512, "the memory manager holds what the plan predicted");
            }
        }
        for (Precision p : List.of(Precision.FP16, Precision.BF16)) {
            double ratio = (double) activations.get(p) / activations.get(Precision.FP32);
            assertTrue(ratio <= 0.55, p + " activations " + activations.get(p) + " B vs fp32 " + activations.get(Precision.FP32) + " B: " + ratio);
        }
    }

    @Test
    void badScalingOptionsAreRefusedNamingTheValue() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossScaling(0, 2, 0.5, 10)).getMessage().contains("initial scale 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossScaling(8, 1, 0.5, 10)).getMessage().contains("growth factor 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossScaling(8, 2, 1, 10)).getMessage().contains("backoff factor 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossScaling(8, 2, 0.5, 0)).getMessage().contains("interval 0"));
        assertThrows(IllegalArgumentException.class, () -> new MixedPrecision(Precision.FP32, LossScaling.DEFAULTS));
        assertEquals(new LossScaling(1024, 2, 0.25, 100),
                LossScalingSpec.resolve("dynamic:init=1024,backoff=0.25,interval=100", Precision.BF16).scaling());
        assertEquals(null, LossScalingSpec.resolve("none", Precision.FP16).scaling());
        assertEquals(LossScaling.DEFAULTS, LossScalingSpec.resolve("auto", Precision.FP16).scaling());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LossScalingSpec.resolve("static", Precision.FP16)).getMessage()
                .contains("unknown kind 'static'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LossScalingSpec.resolve("dynamic:factor=2", Precision.FP16)).getMessage()
                .contains("unknown key 'factor'"));
    }
}
