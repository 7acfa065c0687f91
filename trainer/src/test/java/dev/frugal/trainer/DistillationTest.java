package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.Module;
import dev.frugal.models.zoo.Mlp;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.optim.AdamW;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Knowledge distillation ({@link Distillation}): the traced loss against the formula computed
 * directly in float64, {@code alpha = 0} as exactly the plain classifier's step, a teacher that
 * is neither trained nor given optimizer state, a student that learns from a teacher on the
 * synthetic bands of {@link TrainerTest}, and the memory plan counting the teacher's tensors.
 */
class DistillationTest {
    private static final String SPEC = "mlp:hidden1=32,hidden2=16";

    private static Map<String, float[]> snapshot(Map<String, Tensor> state) {
        Map<String, float[]> out = new LinkedHashMap<>();
        state.forEach((name, t) -> out.put(name, t.toFloatArray()));
        return out;
    }

    /** {@code x W^T + b}, then ReLU unless it is the last layer, for the zoo's mlp in float64. */
    private static double[][] mlpLogits(Module mlp, double[][] x) {
        Map<String, float[]> w = snapshot(mlp.state());
        double[][] h = x;
        for (String layer : List.of("fc1", "fc2", "fc3")) {
            float[] weight = w.get(layer + ".weight");
            float[] bias = w.get(layer + ".bias");
            int out = bias.length;
            int in = weight.length / out;
            double[][] next = new double[h.length][out];
            for (int n = 0; n < h.length; n++) {
                for (int o = 0; o < out; o++) {
                    double s = bias[o];
                    for (int i = 0; i < in; i++) {
                        s += (double) weight[o * in + i] * h[n][i];
                    }
                    next[n][o] = layer.equals("fc3") ? s : Math.max(0, s);
                }
            }
            h = next;
        }
        return h;
    }

    private static double[] logSoftmax(double[] z, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v / t);
        }
        double sum = 0;
        for (double v : z) {
            sum += Math.exp(v / t - max);
        }
        double[] out = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            out[i] = z[i] / t - max - Math.log(sum);
        }
        return out;
    }

    /** alpha * T^2 * KL(p_teacher || p_student) (batchmean) + (1 - alpha) * CE(student, labels), in float64. */
    private static double expectedLoss(double[][] student, double[][] teacher, int[] labels, double t, double alpha) {
        int n = student.length;
        double kl = 0;
        double ce = 0;
        for (int i = 0; i < n; i++) {
            double[] ls = logSoftmax(student[i], t);
            double[] lt = logSoftmax(teacher[i], t);
            for (int c = 0; c < ls.length; c++) {
                kl += Math.exp(lt[c]) * (lt[c] - ls[c]);
            }
            ce -= logSoftmax(student[i], 1)[labels[i]];
        }
        return alpha * t * t * kl / n + (1 - alpha) * ce / n;
    }

    /** The traced step's loss on one batch (the loss is computed before the update). */
    private static double tracedLoss(Module student, TrainingTask task, float[] pixels, int[] dims, int[] labels) {
        try (TrainingStepGraph step = TrainingStepGraph.trace(student, task, labels.length, TrainerConfig.defaults());
             Program p = TrainingStepGraph.executor(Executor.cpu(), TrainerConfig.defaults()).compile(step.graph(), step.outputs());
             Tensor x = Tensor.of(pixels, dims);
             Tensor y = Tensor.ofInts(labels, labels.length)) {
            step.bind(p);
            Map<Value, Tensor> feeds = new HashMap<>();
            feeds.put(step.input(), x);
            feeds.put(step.target(), y);
            step.update().feedLearningRate(feeds, 0.01);
            return p.run(feeds).getFirst().getFlat(0);
        }
    }

    @Test
    void theTracedLossIsTheFormulaComputedInFloat64() {
        int n = 5;
        int features = 4;
        SplittableRandom rnd = new SplittableRandom(7);
        float[] pixels = new float[n * features];
        double[][] x = new double[n][features];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) (rnd.nextDouble() * 2 - 1);
            x[i / features][i % features] = pixels[i];
        }
        int[] labels = {0, 2, 1, 2, 0};
        ImageClassification images = new ImageClassification(Shape.of(features));
        try (Mlp student = new Mlp(features, 6, 5, 3); Mlp teacher = new Mlp(features, 7, 4, 3)) {
            student.initialize(11);
            teacher.initialize(12);
            double[][] t = mlpLogits(teacher, x);
            for (double[] setting : new double[][] {{2.5, 0.7}, {4, 0.9}, {1, 1}, {0.5, 0.3}}) {
                // each traced step also updates the student, so its logits are read again
                double[][] s = mlpLogits(student, x);
                double temperature = setting[0];
                double alpha = setting[1];
                double expected = expectedLoss(s, t, labels, temperature, alpha);
                double got = tracedLoss(student, new Distillation(images, teacher, temperature, alpha), pixels, new int[] {n, features}, labels);
                assertEquals(expected, got, 1e-5 * Math.max(1, Math.abs(expected)), "T " + temperature + ", alpha " + alpha);
            }
            // the teacher differs from the student, so the soft term is not zero
            assertTrue(expectedLoss(mlpLogits(student, x), t, labels, 2.5, 1) > 1e-3);
            assertArrayEquals(t[0], mlpLogits(teacher, x)[0], "the teacher is not updated");
        }
    }

    @Test
    void theTeachersVariablesAreStateInputsWithNoGradientAndNoOptimizerState() {
        try (Model student = ModelZoo.create(SPEC, 1); Model teacher = ModelZoo.create("mlp:hidden1=24,hidden2=8", 2);
             TrainingStepGraph step = TrainingStepGraph.trace(student.module(),
                     new Distillation(new ImageClassification(student.inputShape()), teacher.module(), 4, 0.9), 8,
                     TrainerConfig.defaults().withOptimizer(AdamW.defaults()))) {
            assertEquals(List.copyOf(student.module().namedParameters().keySet()), step.trainableParameters());
            assertEquals(1, step.readOnlyTraces().size());
            for (String name : teacher.module().namedVariables().keySet()) {
                Value in = step.graph().inputNamed(Distillation.TEACHER_PREFIX + name);
                assertTrue(in.isInput(InputKind.STATE), name + " is a state input");
            }
            assertEquals(student.module().namedParameters().size(), step.graph().inputs(InputKind.PARAMETER).size(),
                    "the student's parameters are the only parameter inputs");
            assertTrue(step.update().state().keySet().stream().noneMatch(k -> k.contains("teacher")), step.update().state().keySet().toString());
        }
    }

    @Test
    void badSettingsAreRefused() {
        try (Model teacher = ModelZoo.build(SPEC)) {
            ImageClassification images = new ImageClassification(teacher.inputShape());
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new Distillation(images, teacher.module(), 0, 0.5))
                    .getMessage().contains("temperature"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new Distillation(images, teacher.module(), 4, 1.5))
                    .getMessage().contains("alpha"));
        }
    }

    @Test
    void alphaZeroIsExactlyThePlainCrossEntropyStep() throws IOException {
        TrainerConfig config = TrainerConfig.defaults().withEpochs(2).withMaxSteps(10).withOptimizer(AdamW.defaults()).withLearningRate(1e-3);
        TrainerTest.Recorder plain = new TrainerTest.Recorder();
        TrainerTest.Recorder distilled = new TrainerTest.Recorder();
        Map<String, float[]> plainWeights;
        Map<String, float[]> distilledWeights;
        try (Model m = ModelZoo.create(SPEC, 5);
             Trainer trainer = new Trainer(m.module(), new ImageClassification(m.inputShape()), 32, config);
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            trainer.fit(train, test, plain);
            plainWeights = snapshot(m.module().state());
        }
        try (Model m = ModelZoo.create(SPEC, 5);
             Model teacher = ModelZoo.create("mlp:hidden1=24,hidden2=8", 6);
             Trainer trainer = new Trainer(m.module(), new Distillation(new ImageClassification(m.inputShape()), teacher.module(), 4, 0), 32, config);
             DataLoader train = TrainerTest.trainLoader(1);
             DataLoader test = TrainerTest.testLoader()) {
            trainer.fit(train, test, distilled);
            distilledWeights = snapshot(m.module().state());
        }
        assertEquals(10, plain.lossBits.size());
        assertEquals(plain.lossBits, distilled.lossBits, "bit-identical step losses");
        assertEquals(plain.evalBits, distilled.evalBits, "bit-identical evaluations");
        for (String name : plainWeights.keySet()) {
            assertArrayEquals(plainWeights.get(name), distilledWeights.get(name), name);
        }
    }

    @Test
    void aStudentLearnsFromAFrozenTeacher() throws IOException {
        try (Model teacher = ModelZoo.create("mlp:hidden1=64,hidden2=32", 8);
             Model student = ModelZoo.create("mlp:hidden1=16,hidden2=8", 9)) {
            // a teacher that has learned something
            try (Trainer t = new Trainer(teacher.module(), teacher.inputShape(), 32,
                    TrainerConfig.defaults().withEpochs(4).withOptimizer(AdamW.defaults()).withLearningRate(3e-3));
                 DataLoader train = TrainerTest.trainLoader(1);
                 DataLoader test = TrainerTest.testLoader()) {
                t.fit(train, test, new TrainerTest.Recorder());
            }
            Map<String, float[]> teacherBefore = snapshot(teacher.module().state());
            TrainerConfig config = TrainerConfig.defaults().withEpochs(10).withMaxSteps(40).withOptimizer(AdamW.defaults()).withLearningRate(3e-3);
            TrainerTest.Recorder recorder = new TrainerTest.Recorder();
            Distillation task = new Distillation(new ImageClassification(student.inputShape()), teacher.module(), 4, 0.9);
            try (Trainer trainer = new Trainer(student.module(), task, 32, config);
                 DataLoader train = TrainerTest.trainLoader(2);
                 DataLoader test = TrainerTest.testLoader()) {
                FitResult r = trainer.fit(train, test, recorder);
                assertEquals(40, r.steps());
                List<String> state = List.copyOf(trainer.optimizerState().keySet());
                assertTrue(state.stream().noneMatch(k -> k.contains("teacher")), state.toString());
                assertEquals(1 + 2 * student.module().namedParameters().size(), state.size(), "AdamW state for the student alone: " + state);
            }
            Map<String, float[]> teacherAfter = snapshot(teacher.module().state());
            for (String name : teacherBefore.keySet()) {
                assertArrayEquals(teacherBefore.get(name), teacherAfter.get(name), name + " of the teacher must be bit-identical");
            }
            List<Double> losses = recorder.losses;
            double first = losses.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(losses.size() - 5, losses.size()).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            assertTrue(last < first * 0.8, "the distillation loss falls: first steps " + first + ", last steps " + last);
            EvaluationMetrics lastEval = recorder.evaluations.getLast();
            assertTrue(lastEval.test().accuracy() > 0.5, "the student classifies: " + lastEval.test().accuracy());
        }
    }

    @Test
    void theMemoryPlanCountsTheTeachersTensors() {
        try (Model student = ModelZoo.create(SPEC, 1); Model teacher = ModelZoo.create("mlp:hidden1=24,hidden2=8", 2)) {
            TrainerConfig config = TrainerConfig.defaults();
            Distillation task = new Distillation(new ImageClassification(student.inputShape()), teacher.module(), 4, 0.9);
            long plain = new MemoryBudgetPlanner(student.module(), new ImageClassification(student.inputShape()), config, -1, List.of())
                    .plan(16).boundBytes();
            long distilled = new MemoryBudgetPlanner(student.module(), task, config, -1, List.of()).plan(16).boundBytes();
            assertEquals(teacher.parameterCount() * 4, distilled - plain, "the teacher's parameters, float32, are bound too");
        }
    }
}
