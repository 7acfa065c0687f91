package dev.frugal.trainer;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.data.Batch;
import dev.frugal.trainer.data.DataLoader;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Each sample's cross-entropy under a model in eval mode: the loss before the mean over the batch.
 * It is what a curriculum ranks the training samples by after a warm-up (lower is easier). As
 * with {@link Evaluator}, one program is compiled per batch size met and bound to the module's
 * own tensors, so it always sees the current weights; run it between training steps.
 */
public final class PerSampleLoss implements AutoCloseable {
    private final Module model;
    private final Shape sampleShape;
    private final Executor executor;
    private final Map<Integer, Compiled> programs = new HashMap<>();
    private boolean closed;

    private record Compiled(Value images, Value labels, Program program) {
    }

    /**
     * Nothing is compiled until the first batch.
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} to class logits
     * @param sampleShape the shape of one input sample, e.g. {@code [1, 28, 28]}
     * @param executor compiles the programs (for example {@code Executor.cpu()})
     */
    public PerSampleLoss(Module model, Shape sampleShape, Executor executor) {
        this.model = model;
        this.sampleShape = sampleShape;
        this.executor = executor;
    }

    /**
     * Scores every sample of {@code loader}'s epoch 0.
     *
     * @param loader the samples; use one without augmentation, shuffled or not, keeping the last batch
     * @return each sample's loss, indexed by its index in the loader's dataset
     * @throws IOException when reading the data fails
     * @throws IllegalStateException when the epoch does not visit every sample exactly once (a
     *     dropped last batch, or a curriculum)
     */
    public double[] losses(DataLoader loader) throws IOException {
        if (closed) {
            throw new IllegalStateException("per-sample loss is closed");
        }
        int count = loader.dataset().count();
        double[] losses = new double[count];
        boolean[] seen = new boolean[count];
        int scored = 0;
        Map<Value, Tensor> feeds = new HashMap<>();
        try (DataLoader.Epoch batches = loader.epoch(0)) {
            while (batches.hasNext()) {
                Batch batch = batches.next();
                Compiled c = program(batch.size());
                feeds.clear();
                feeds.put(c.images(), batch.images());
                feeds.put(c.labels(), batch.labels());
                Tensor out = c.program().run(feeds).getFirst();
                for (int row = 0; row < batch.size(); row++) {
                    int s = batch.sampleIndex(row);
                    if (seen[s]) {
                        throw new IllegalStateException("per-sample loss: sample " + s + " comes twice in one epoch; score with a loader"
                            + " that visits every sample once (no curriculum)");
                    }
                    seen[s] = true;
                    losses[s] = out.getFlat(row);
                    scored++;
                }
            }
        }
        if (scored != count) {
            int missing = 0;
            while (seen[missing]) {
                missing++;
            }
            throw new IllegalStateException("per-sample loss: the epoch visited " + scored + " of " + count + " samples (sample "
                + missing + " missing); score with a loader that keeps the last batch (LastBatchPolicy.KEEP)");
        }
        return losses;
    }

    private Compiled program(int n) {
        Compiled cached = programs.get(n);
        if (cached != null) {
            return cached;
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        Graph g = new Graph("per-sample-loss-" + n);
        ModuleTrace trace;
        Value x;
        Value y;
        Value loss;
        try {
            trace = ModuleTrace.of(g, model);
            x = g.input("images", Shapes.batch(n, sampleShape), DType.F32);
            y = g.input("labels", Shape.of(n), DType.I32);
            loss = Functional.crossEntropyPerSample(trace.forward(x), y);
        } finally {
            model.train(wasTraining);
        }
        Program p = executor.compile(g, List.of(loss));
        try {
            trace.bind(p);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        Compiled c = new Compiled(x, y, p);
        programs.put(n, c);
        return c;
    }

    /** Frees the compiled programs (not the model). Idempotent. */
    @Override
    public void close() {
        closed = true;
        programs.values().forEach(c -> c.program().close());
        programs.clear();
    }
}
