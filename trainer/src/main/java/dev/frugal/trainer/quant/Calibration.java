package dev.frugal.trainer.quant;

import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.DataBatch;
import dev.frugal.trainer.data.EpochBatches;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Post-training quantization: fills a {@link QuantizedModule}'s observers from data without
 * training, the cheaper alternative to quantization-aware training. The model runs its eval-mode
 * forward pass (batch norm with its running statistics) with the observers recording the running
 * minimum and maximum of every quantized contraction's input (PyTorch's MinMaxObserver) and no
 * fake quantization, over the first batches of a source; the weights' per-channel scales need
 * no data (they are computed from the weights). Afterwards the model evaluates and exports as int8.
 */
public final class Calibration {
    private Calibration() {
    }

    /**
     * Resets the observers and calibrates them on the first {@code batches} batches of
     * {@code source}'s epoch 0 (fewer when the epoch is shorter). The model's mode is restored.
     *
     * @param model the quantized model, with trained weights
     * @param source the calibration data (training images, no augmentation)
     * @param batches how many batches to observe; at least 1
     * @param executor compiles the calibration programs (one per batch size met)
     * @return the number of batches observed
     * @throws IOException when reading the data fails
     */
    public static int calibrate(QuantizedModule model, BatchSource source, int batches, Executor executor) throws IOException {
        if (batches < 1) {
            throw new IllegalArgumentException("calibration-batches must be at least 1, got " + batches);
        }
        for (QuantizedContraction c : model.contractions()) {
            RangeObserver o = model.observer(c.key());
            o.minVariable().value().setFlat(0, Double.POSITIVE_INFINITY);
            o.maxVariable().value().setFlat(0, Double.NEGATIVE_INFINITY);
        }
        boolean wasTraining = model.isTraining();
        model.eval();
        model.calibrating(true);
        Map<Integer, Step> programs = new HashMap<>();
        int seen = 0;
        try (EpochBatches epoch = source.epoch(0)) {
            while (seen < batches && epoch.hasNext()) {
                DataBatch batch = epoch.next();
                Step step = programs.computeIfAbsent(batch.size(), n -> compile(model, n, batch.input().shape(), executor));
                step.program().run(Map.of(step.input(), batch.input()));
                seen++;
            }
        } finally {
            programs.values().forEach(s -> s.program().close());
            model.calibrating(false);
            model.train(wasTraining);
        }
        if (seen == 0) {
            throw new IllegalArgumentException("the calibration data has no batches");
        }
        return seen;
    }

    private record Step(Value input, Program program) {
    }

    private static Step compile(QuantizedModule model, int n, Shape batchShape, Executor executor) {
        Graph g = new Graph("calibrate-" + n);
        ModuleTrace trace = ModuleTrace.of(g, model);
        Value x = g.input("input", batchShape, model.inputDType());
        Value y = trace.forward(x);
        Program p = executor.compile(g, List.of(y));
        try {
            trace.bind(p);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return new Step(x, p);
    }
}
