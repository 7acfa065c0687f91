package dev.frugal.trainer;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * Image classification: images {@code [n, ...sampleShape]} F32 in, class logits {@code [n, classes]}
 * out, labels {@code [n]} I32 as the target; the loss is the mean cross-entropy over the batch, and
 * an evaluation also counts the samples whose arg-max class is the label. The held-out set is the
 * test set, so evaluations report {@code test_loss} and {@code test_accuracy}.
 *
 * @param sampleShape one image's shape, e.g. {@code [1, 28, 28]}
 */
public record ImageClassification(Shape sampleShape) implements TrainingTask {

    @Override
    public Value declareInput(Graph graph, int n) {
        return graph.input("images", Shapes.batch(n, sampleShape), DType.F32);
    }

    @Override
    public Value declareTarget(Graph graph, int n) {
        return graph.input("labels", Shape.of(n), DType.I32);
    }

    @Override
    public Value loss(Value output, Value target) {
        return Functional.crossEntropy(output, target);
    }

    @Override
    public Value correctCount(Value output, Value target) {
        Value hits = Ops.cast(Ops.eq(Ops.argmax(output, 1, false), Ops.cast(target, DType.I64)), DType.F32);
        return Ops.sum(hits, false);
    }

    @Override
    public int predictionsPerSample() {
        return 1;
    }

    @Override
    public List<String> metricNames() {
        return EvaluationMetrics.NAMES;
    }
}
