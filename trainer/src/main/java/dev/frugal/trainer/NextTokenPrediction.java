package dev.frugal.trainer;

import dev.frugal.models.zoo.ZooEntry;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * Language modelling: windows of token ids {@code [n, context]} I32 in, logits
 * {@code [n, context, vocab]} out, and as the target the same windows shifted by one
 * ({@code [n, context]} I32: the token that follows each position). The loss is the cross-entropy
 * of every position's prediction, averaged over all {@code n * context} of them (the logits
 * reshaped to {@code [n * context, vocab]}), so it is in nats per token. The held-out set is the
 * tail of the text, so evaluations report {@code val_loss}; there is no accuracy.
 *
 * @param context tokens per window, the model's {@code context} option
 */
public record NextTokenPrediction(int context) implements TrainingTask {
    /** The zoo option that holds a language model's context. */
    public static final String CONTEXT_OPTION = "context";
    /** The zoo option that holds a language model's vocabulary size. */
    public static final String VOCAB_OPTION = "vocab";

    /** Checks the context. */
    public NextTokenPrediction {
        if (context < 1) {
            throw new IllegalArgumentException("context " + context + ", expected at least 1 token");
        }
    }

    /**
     * Whether a zoo model is a language model: it has {@value #CONTEXT_OPTION} and
     * {@value #VOCAB_OPTION} options (and so takes {@code [context]} token ids per sample).
     *
     * @param entry the zoo entry
     * @return true for a language model
     */
    public static boolean isLanguageModel(ZooEntry entry) {
        return entry.option(CONTEXT_OPTION) != null && entry.option(VOCAB_OPTION) != null;
    }

    @Override
    public Value declareInput(Graph graph, int n) {
        return graph.input("tokens", Shape.of(n, context), DType.I32);
    }

    @Override
    public Value declareTarget(Graph graph, int n) {
        return graph.input("next_tokens", Shape.of(n, context), DType.I32);
    }

    @Override
    public Value loss(Value output, Value target) {
        Shape logits = output.shape();
        if (logits.rank() != 3 || logits.dim(1) != context) {
            throw new IllegalArgumentException("a language model maps [batch, " + context + "] token ids to [batch, " + context
                    + ", vocab] logits; this one gives " + logits);
        }
        int rows = logits.dim(0) * context;
        return Functional.crossEntropy(Ops.reshape(output, rows, logits.dim(2)), Ops.reshape(target, rows));
    }

    @Override
    public Value correctCount(Value output, Value target) {
        return null;
    }

    @Override
    public int predictionsPerSample() {
        return context;
    }

    @Override
    public List<String> metricNames() {
        return EvaluationMetrics.LANGUAGE_MODEL_NAMES;
    }
}
