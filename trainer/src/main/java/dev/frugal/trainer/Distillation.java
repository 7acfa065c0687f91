package dev.frugal.trainer;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * Knowledge distillation (Hinton et al. 2015): an image classifier, the student, trained against
 * a teacher's soft targets as well as the labels. The training step also runs the teacher, in
 * eval mode, on the same images, and minimises
 *
 * <pre>
 *   alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * cross_entropy(student, labels)
 * </pre>
 *
 * with the KL divergence summed over classes and averaged over the batch (PyTorch's
 * {@code kl_div(..., reduction="batchmean")}); {@code T^2} keeps the soft term's gradients on the
 * scale of the hard term's. A term whose weight is 0 is left out, so {@code alpha = 0} is exactly
 * the plain classifier's step (and the teacher is not even run).
 *
 * <p>The teacher's variables are state inputs of the step ({@link ModuleTrace#frozen}, named
 * {@code teacher.*}), traced inside {@link Functional#stopGradient}: no gradient flows to them,
 * the optimizer keeps no state for them, and the step binds the teacher's tensors as they are.
 * Evaluation measures the student alone, as {@link #classification()} does.
 *
 * @param classification the student's task (its input, labels, evaluation)
 * @param teacher an initialised classifier of the same images and classes; only read
 * @param temperature the softmax temperature {@code T}, above 0
 * @param alpha the soft term's weight, in [0, 1]
 */
public record Distillation(ImageClassification classification, Module teacher, double temperature, double alpha) implements TrainingTask {
    /** What the teacher's graph inputs are named with, before their full names. */
    public static final String TEACHER_PREFIX = "teacher.";

    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException for a temperature not above 0 or an alpha outside [0, 1]
     */
    public Distillation {
        if (classification == null || teacher == null) {
            throw new IllegalArgumentException("distillation needs the student's classification task and a teacher module");
        }
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("distillation temperature must be a finite number above 0, got " + temperature);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("distillation alpha must be in [0, 1], got " + alpha);
        }
    }

    @Override
    public Value declareInput(Graph graph, int n) {
        return classification.declareInput(graph, n);
    }

    @Override
    public Value declareTarget(Graph graph, int n) {
        return classification.declareTarget(graph, n);
    }

    /** The student's cross-entropy: what an evaluation reports, comparable with a run without a teacher. */
    @Override
    public Value loss(Value output, Value target) {
        return classification.loss(output, target);
    }

    @Override
    public StepLoss stepLoss(Value input, Value output, Value target) {
        List<Value> terms = new ArrayList<>();
        List<ModuleTrace> traces = new ArrayList<>();
        if (alpha > 0) {
            ModuleTrace teacherTrace = ModuleTrace.frozen(input.graph(), teacher, TEACHER_PREFIX);
            traces.add(teacherTrace);
            Value soft = Ops.mul(softLoss(output, teacherLogits(teacherTrace, input)), constant(input.graph(), alpha * temperature * temperature));
            terms.add(soft);
        }
        if (alpha < 1) {
            Value hard = classification.loss(output, target);
            terms.add(alpha > 0 ? Ops.mul(hard, constant(input.graph(), 1 - alpha)) : hard);
        }
        Value loss = terms.size() == 1 ? terms.get(0) : Ops.add(terms.get(0), terms.get(1));
        return new StepLoss(loss, traces);
    }

    /** The teacher's logits on {@code input}, traced in eval mode with no gradient. */
    private Value teacherLogits(ModuleTrace trace, Value input) {
        boolean wasTraining = teacher.isTraining();
        teacher.train(false);
        try {
            return Functional.stopGradient(input.graph(), () -> trace.forward(input));
        } finally {
            teacher.train(wasTraining);
        }
    }

    /**
     * {@code KL(softmax(teacher / T) || softmax(student / T))}, summed over classes and averaged
     * over the batch, without the {@code T^2} factor.
     */
    private Value softLoss(Value student, Value teacherLogits) {
        if (!teacherLogits.shape().equals(student.shape())) {
            throw new IllegalArgumentException("distillation: the teacher's logits are " + teacherLogits.shape() + ", the student's "
                    + student.shape() + "; the teacher must classify the same classes");
        }
        Graph g = student.graph();
        int n = student.shape().dim(0);
        Value inverseT = constant(g, 1 / temperature);
        Value[] target = Functional.stopGradient(g, () -> {
            Value scaled = Ops.mul(teacherLogits, inverseT);
            return new Value[] {Functional.softmax(scaled, 1), Functional.logSoftmax(scaled, 1)};
        });
        Value logStudent = Functional.logSoftmax(Ops.mul(student, inverseT), 1);
        Value kl = Ops.sum(Ops.mul(target[0], Ops.sub(target[1], logStudent)), false);
        return Ops.mul(kl, constant(g, 1.0 / n));
    }

    private static Value constant(Graph g, double value) {
        return Ops.constant(g, value, DType.F32);
    }

    @Override
    public Value correctCount(Value output, Value target) {
        return classification.correctCount(output, target);
    }

    @Override
    public int predictionsPerSample() {
        return classification.predictionsPerSample();
    }

    @Override
    public List<String> metricNames() {
        return classification.metricNames();
    }
}
