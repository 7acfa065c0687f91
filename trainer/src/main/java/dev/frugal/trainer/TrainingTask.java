package dev.frugal.trainer;

import dev.frugal.models.ModuleTrace;
import dev.frugal.models.zoo.Model;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * What a model is trained to do, as the step and evaluation graphs need it: which data inputs a
 * batch feeds (the model's input and its target, in the shapes and types of a
 * {@link dev.frugal.trainer.data.DataBatch}), the loss on the model's output, and what an
 * evaluation measures besides the loss. The rest of training (gradients, clipping, optimizer,
 * mixed precision, the memory plan, the loop, checkpoints, budgets) does not depend on it, so one
 * {@link Trainer} trains both kinds of model the zoo has:
 *
 * <ul>
 *   <li>{@link ImageClassification}: images and class labels, cross-entropy, accuracy;</li>
 *   <li>{@link NextTokenPrediction}: windows of token ids and the next token at every position,
 *       cross-entropy over all positions, no accuracy;</li>
 *   <li>{@link Distillation}: an image classifier trained against a teacher's soft targets as
 *       well as the labels (evaluated as the classifier it wraps).</li>
 * </ul>
 */
public interface TrainingTask {
    /**
     * Declares the model's input for a batch of {@code n} samples, as a data input of {@code graph}.
     *
     * @param graph the step or evaluation graph
     * @param n samples in the batch
     * @return the input
     */
    Value declareInput(Graph graph, int n);

    /**
     * Declares the target for a batch of {@code n} samples, as a data input of {@code graph}.
     *
     * @param graph the step or evaluation graph
     * @param n samples in the batch
     * @return the target
     */
    Value declareTarget(Graph graph, int n);

    /**
     * The batch's loss, a scalar: the mean over what the batch predicts (samples, or tokens).
     *
     * @param output the model's output on {@link #declareInput}
     * @param target {@link #declareTarget}
     * @return the loss
     */
    Value loss(Value output, Value target);

    /**
     * The loss the training step minimises, traced into the step graph, with the modules it reads
     * besides the model: {@link #loss} and none, unless the task traces more on the same input (a
     * distillation teacher). Evaluation uses {@link #loss}.
     *
     * @param input {@link #declareInput}
     * @param output the model's output on {@code input}
     * @param target {@link #declareTarget}
     * @return the loss and the traces to bind next to the model's
     */
    default StepLoss stepLoss(Value input, Value output, Value target) {
        return new StepLoss(loss(output, target), List.of());
    }

    /**
     * A training step's loss and the traces of the modules it reads that do not train (declared
     * with {@link ModuleTrace#frozen}): the step binds their tensors with the model's.
     *
     * @param loss the scalar loss
     * @param frozen the other modules' traces; empty for most tasks
     */
    record StepLoss(Value loss, List<ModuleTrace> frozen) {
        public StepLoss {
            frozen = List.copyOf(frozen);
        }
    }

    /**
     * The number of correct predictions in the batch, an F32 scalar, or null when the task
     * reports no accuracy.
     *
     * @param output the model's output
     * @param target the target
     * @return the count, or null
     */
    Value correctCount(Value output, Value target);

    /**
     * Predictions per sample, so that a mean over samples is also a mean per prediction: 1 for a
     * classifier, the context for a language model (what {@code tokens per second} multiplies by).
     */
    int predictionsPerSample();

    /**
     * What every evaluation of this task reports, by the names {@code metrics.jsonl} writes and
     * early stopping and the plateau schedule watch ({@link EvaluationMetrics}).
     */
    List<String> metricNames();

    /**
     * The task a zoo model is built for: a model with {@code context} and {@code vocab} options
     * (tiny-gpt) maps token windows to next-token logits; every other zoo model classifies images
     * of its input shape.
     *
     * @param model a zoo model
     * @return the task
     */
    static TrainingTask forModel(Model model) {
        return NextTokenPrediction.isLanguageModel(model.entry())
                ? new NextTokenPrediction(model.spec().get(NextTokenPrediction.CONTEXT_OPTION))
                : new ImageClassification(model.inputShape());
    }
}
