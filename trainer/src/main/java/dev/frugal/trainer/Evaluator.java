package dev.frugal.trainer;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.DataBatch;
import dev.frugal.trainer.data.EpochBatches;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates a model in eval mode on its {@link TrainingTask}: the mean loss over a data set and,
 * for a classifier, the accuracy. One program is compiled per batch size met (usually the batch
 * size and a smaller last batch) and bound to the module's own tensors, so it always sees the
 * current weights.
 */
public final class Evaluator implements AutoCloseable {
    private final Module model;
    private final TrainingTask task;
    private final Executor executor;
    private final Map<Integer, EvalProgram> programs = new HashMap<>();
    private boolean closed;

    /** The compiled evaluation program for one batch size; {@code correct} is false without an accuracy output. */
    private record EvalProgram(Value input, Value target, Program program, boolean correct) {
    }

    /**
     * An evaluator of an image classifier ({@link ImageClassification}); nothing is compiled until the first batch.
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} to class logits
     * @param sampleShape the shape of one input sample, e.g. {@code [1, 28, 28]}
     * @param executor compiles the programs
     */
    public Evaluator(Module model, Shape sampleShape, Executor executor) {
        this(model, new ImageClassification(sampleShape), executor);
    }

    /**
     * An evaluator of {@code model} on {@code task}; nothing is compiled until the first batch.
     *
     * @param model an initialised module mapping the task's input to its output
     * @param task the inputs a batch feeds, the loss and whether an accuracy is counted
     * @param executor compiles the programs
     */
    public Evaluator(Module model, TrainingTask task, Executor executor) {
        this.model = model;
        this.task = task;
        this.executor = executor;
    }

    /** The task evaluated. */
    public TrainingTask task() {
        return task;
    }

    /**
     * Evaluates every batch of {@code source}'s epoch 0.
     *
     * @param source the evaluation data
     * @return the mean loss per prediction (sample or token) and the accuracy (NaN when the task has none)
     * @throws IOException when reading the data fails
     * @throws IllegalArgumentException when the data has no samples
     */
    public Evaluation evaluate(BatchSource source) throws IOException {
        if (closed) {
            throw new IllegalStateException("evaluator is closed");
        }
        double lossSum = 0;
        double correct = 0;
        long n = 0;
        Map<Value, Tensor> feeds = new HashMap<>();
        boolean counted = false;
        try (EpochBatches batches = source.epoch(0)) {
            while (batches.hasNext()) {
                DataBatch batch = batches.next();
                EvalProgram ep = program(batch.size());
                feeds.clear();
                feeds.put(ep.input(), batch.input());
                feeds.put(ep.target(), batch.target());
                List<Tensor> out = ep.program().run(feeds);
                // Summed in double, in batch order, so the result does not depend on timing. Every
                // sample makes the same number of predictions, so weighting by samples is also a
                // mean per prediction (per token for a language model).
                lossSum += out.get(0).getFlat(0) * batch.size();
                if (ep.correct()) {
                    correct += out.get(1).getFlat(0);
                    counted = true;
                }
                n += batch.size();
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("the evaluation data has no samples");
        }
        return new Evaluation(lossSum / n, counted ? correct / n : Double.NaN, n);
    }

    /** Bytes of the buffers the compiled evaluation programs allocated. */
    public long allocatedBytes() {
        long total = 0;
        for (EvalProgram e : programs.values()) {
            total += e.program().allocatedBytes();
        }
        return total;
    }

    /**
     * Compiles the program for batches of {@code n} now, unless it exists: a trainer under a memory
     * budget compiles every evaluation batch size before its first step, so no evaluation
     * allocates memory in the middle of a run.
     *
     * @param n the batch size
     * @return the bytes the program holds from the memory manager ({@link Program#allocatedBytes()})
     */
    public long prepare(int n) {
        if (closed) {
            throw new IllegalStateException("evaluator is closed");
        }
        return program(n).program().allocatedBytes();
    }

    /** The batch sizes whose programs are compiled, ascending. */
    public List<Integer> preparedBatchSizes() {
        return programs.keySet().stream().sorted().toList();
    }

    /**
     * What the program for batches of {@code n} would need in memory, planned on this evaluator's
     * executor without allocating its buffers ({@link Executor#plan}).
     *
     * @param n the batch size
     * @return the plan
     */
    public MemoryPlan plan(int n) {
        EvalGraph eg = trace(n);
        return executor.plan(eg.graph(), eg.outputs());
    }

    /** The traced evaluation step for one batch size: the loss, then the correct count when the task has one. */
    private record EvalGraph(Graph graph, ModuleTrace trace, Value input, Value target, List<Value> outputs) {
    }

    /** Traces the evaluation step in eval mode, putting the module's mode back afterwards. */
    private EvalGraph trace(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("evaluation batch size " + n + ", expected at least 1");
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        try {
            Graph g = new Graph("eval-" + n);
            ModuleTrace trace = ModuleTrace.of(g, model);
            Value x = task.declareInput(g, n);
            Value y = task.declareTarget(g, n);
            Value output = trace.forward(x);
            List<Value> outputs = new ArrayList<>();
            outputs.add(task.loss(output, y));
            Value correct = task.correctCount(output, y);
            if (correct != null) {
                outputs.add(correct);
            }
            return new EvalGraph(g, trace, x, y, List.copyOf(outputs));
        } finally {
            model.train(wasTraining);
        }
    }

    private EvalProgram program(int n) {
        EvalProgram cached = programs.get(n);
        if (cached != null) {
            return cached;
        }
        EvalGraph eg = trace(n);
        Program p = executor.compile(eg.graph(), eg.outputs());
        try {
            eg.trace().bind(p);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        EvalProgram ep = new EvalProgram(eg.input(), eg.target(), p, eg.outputs().size() > 1);
        programs.put(n, ep);
        return ep;
    }

    /** Frees the compiled programs (not the model). Idempotent. */
    @Override
    public void close() {
        closed = true;
        programs.values().forEach(e -> e.program().close());
        programs.clear();
    }
}
