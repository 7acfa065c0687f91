package dev.frugal.trainer;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.data.Batch;
import dev.frugal.trainer.data.DataLoader;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates an image classifier in eval mode: mean cross-entropy and accuracy over a data set.
 * One program is compiled per batch size met (usually the batch size and a smaller last batch)
 * and bound to the module's own tensors, so it always sees the current weights.
 */
public final class Evaluator implements AutoCloseable {
    private final Module model;
    private final Shape sampleShape;
    private final Executor executor;
    private final Map<Integer, EvalProgram> programs = new HashMap<>();
    private boolean closed;

    /** The compiled evaluation program for one batch size. */
    private record EvalProgram(Value images, Value labels, Program program) {
    }

    /**
     * An evaluator of {@code model}; nothing is compiled until the first batch.
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} to class logits
     * @param sampleShape the shape of one input sample, e.g. {@code [1, 28, 28]}
     * @param executor compiles the programs
     */
    public Evaluator(Module model, Shape sampleShape, Executor executor) {
        this.model = model;
        this.sampleShape = sampleShape;
        this.executor = executor;
    }

    /**
     * Evaluates every batch of {@code loader}'s epoch 0.
     *
     * @param loader the evaluation data
     * @return mean loss per sample and accuracy
     * @throws IOException when reading the data fails
     * @throws IllegalArgumentException when the data has no samples
     */
    public Evaluation evaluate(DataLoader loader) throws IOException {
        if (closed) {
            throw new IllegalStateException("evaluator is closed");
        }
        double lossSum = 0;
        double correct = 0;
        long n = 0;
        Map<Value, Tensor> feeds = new HashMap<>();
        try (DataLoader.Epoch batches = loader.epoch(0)) {
            while (batches.hasNext()) {
                Batch batch = batches.next();
                EvalProgram ep = program(batch.size());
                feeds.clear();
                feeds.put(ep.images(), batch.images());
                feeds.put(ep.labels(), batch.labels());
                List<Tensor> out = ep.program().run(feeds);
                // Summed in double, in batch order, so the result does not depend on timing.
                lossSum += out.get(0).getFlat(0) * batch.size();
                correct += out.get(1).getFlat(0);
                n += batch.size();
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("the evaluation data has no samples");
        }
        return new Evaluation(lossSum / n, correct / n, n);
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

    /** The traced evaluation step for one batch size. */
    private record EvalGraph(Graph graph, ModuleTrace trace, Value images, Value labels, List<Value> outputs) {
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
            Value x = g.input("images", Shapes.batch(n, sampleShape), DType.F32);
            Value y = g.input("labels", Shape.of(n), DType.I32);
            Value logits = trace.forward(x);
            Value loss = Functional.crossEntropy(logits, y);
            Value hits = Ops.cast(Ops.eq(Ops.argmax(logits, 1, false), Ops.cast(y, DType.I64)), DType.F32);
            return new EvalGraph(g, trace, x, y, List.of(loss, Ops.sum(hits, false)));
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
        EvalProgram ep = new EvalProgram(eg.images(), eg.labels(), p);
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
