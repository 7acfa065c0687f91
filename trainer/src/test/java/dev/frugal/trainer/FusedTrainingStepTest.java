package dev.frugal.trainer;

import dev.frugal.models.ModuleTrace;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.optim.GradientClipping;
import dev.frugal.trainer.optim.Optimizer;
import dev.frugal.trainer.optim.OptimizerUpdate;
import dev.frugal.trainer.optim.Sgd;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Elementwise fusion changes how a training step runs, never what it computes: every zoo model's
 * step, with each optimizer and gradient clipping, compiled without fusion, with it, and with
 * groups that end in reductions (as planned for a GPU), gives
 * bit-identical losses, weights, batch-norm statistics and optimizer state over several steps.
 */
class FusedTrainingStepTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("mlp", new Sgd(0.9, true, 5e-4), 0.0),
                Arguments.of("cnn-small", new Sgd(0.9, false, 0), 0.0),
                Arguments.of("cnn-small", AdamW.defaults(), 1.0),
                Arguments.of("mobilenet-tiny", new Sgd(0.9, true, 1e-4), 0.0),
                Arguments.of("deep-mlp:depth=3,width=48", AdamW.defaults(), 0.5));
    }

    @ParameterizedTest(name = "{0} with {1}, clip {2}")
    @MethodSource("cases")
    void fusedAndUnfusedStepsAreBitIdentical(String spec, Optimizer optimizer, double clip) {
        int batch = 6;
        try (Step fused = new Step(spec, optimizer, clip, batch, Executor.cpu());
             Step reductions = new Step(spec, optimizer, clip, batch, Executor.cpu().withReductionFusion(true));
             Step plain = new Step(spec, optimizer, clip, batch, Executor.cpu().withFusion(false))) {
            assertTrue(fused.program.fusedCount() > 0, () -> "nothing fused for " + spec + ":\n" + fused.program.listing());
            assertEquals(0, plain.program.fusedCount());
            assertTrue(fused.program.stepCount() < plain.program.stepCount());
            assertTrue(reductions.program.fusedGroups().stream().anyMatch(FusedGroup::reduction), () -> reductions.program.listing());
            assertTrue(reductions.program.stepCount() < fused.program.stepCount());
            SplittableRandom random = new SplittableRandom(11);
            for (int step = 0; step < 3; step++) {
                int[] dims = fused.images.shape().dims();
                float[] pixels = new float[(int) fused.images.shape().numel()];
                for (int i = 0; i < pixels.length; i++) {
                    pixels[i] = (float) random.nextGaussian();
                }
                int[] labels = new int[batch];
                for (int i = 0; i < batch; i++) {
                    labels[i] = random.nextInt(10);
                }
                double lr = 0.05 / (step + 1);
                float a = fused.run(pixels, dims, labels, lr);
                float b = plain.run(pixels, dims, labels, lr);
                float c = reductions.run(pixels, dims, labels, lr);
                assertEquals(Float.floatToRawIntBits(b), Float.floatToRawIntBits(a), "loss of step " + step + " of " + spec);
                assertEquals(Float.floatToRawIntBits(b), Float.floatToRawIntBits(c), "loss of step " + step + " of " + spec + ", reductions fused");
            }
            assertSameTensors(plain.model.module().state(), fused.model.module().state(), spec + " weights and buffers");
            assertSameTensors(plain.update.state(), fused.update.state(), spec + " optimizer state");
            assertSameTensors(plain.model.module().state(), reductions.model.module().state(), spec + " weights and buffers, reductions fused");
            assertSameTensors(plain.update.state(), reductions.update.state(), spec + " optimizer state, reductions fused");
        }
    }

    private static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        for (String name : expected.keySet()) {
            float[] e = expected.get(name).toFloatArray();
            float[] f = actual.get(name).toFloatArray();
            int[] eb = new int[e.length];
            int[] fb = new int[f.length];
            for (int i = 0; i < e.length; i++) {
                eb[i] = Float.floatToRawIntBits(e[i]);
                fb[i] = Float.floatToRawIntBits(f[i]);
            }
            assertArrayEquals(eb, fb, what + ": " + name);
        }
    }

    /** One model with its compiled training step, as {@link Trainer} builds it. */
    private static final class Step implements AutoCloseable {
        final Model model;
        final Value images;
        final Value labels;
        final OptimizerUpdate update;
        final Program program;

        Step(String spec, Optimizer optimizer, double clip, int batch, Executor executor) {
            model = ModelZoo.create(spec, 42);
            model.module().train(true);
            Graph g = new Graph("train-step");
            ModuleTrace trace = ModuleTrace.of(g, model.module());
            images = g.input("images", Shapes.batch(batch, model.inputShape()), DType.F32);
            labels = g.input("labels", Shape.of(batch), DType.I32);
            Value loss = Functional.crossEntropy(trace.forward(images), labels);
            List<Value> params = trace.parameterValues();
            List<Value> grads = Autodiff.grad(loss, params);
            if (clip > 0) {
                grads = GradientClipping.clip(grads, clip).gradients();
            }
            update = optimizer.append(new ArrayList<>(trace.parameters().keySet()), params, grads);
            program = executor.compile(g, List.of(loss));
            trace.bind(program);
            update.bind(program);
        }

        float run(float[] pixels, int[] dims, int[] labelValues, double lr) {
            try (Tensor x = Tensor.of(pixels, dims); Tensor y = Tensor.ofInts(labelValues, labelValues.length)) {
                Map<Value, Tensor> feeds = new HashMap<>();
                feeds.put(images, x);
                feeds.put(labels, y);
                update.feedLearningRate(feeds, lr);
                return (float) program.run(feeds).getFirst().getFlat(0);
            }
        }

        @Override
        public void close() {
            program.close();
            update.close();
            model.close();
        }
    }
}
