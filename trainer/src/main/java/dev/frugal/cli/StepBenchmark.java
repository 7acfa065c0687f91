package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.KernelClock;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.TrainerConfig;
import dev.frugal.trainer.TrainingStepGraph;
import dev.frugal.trainer.TrainingTask;
import dev.frugal.trainer.config.TrainConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One zoo model's training step timed as {@code frugal train} would run it (the model's recipe:
 * optimizer, clipping; the precision asked for), on random data of the step's shapes: warm-up
 * runs, then the median wall time of the timed runs, samples per second and the memory the step
 * takes; optionally the time per kernel kind over the timed runs ({@code --profile}).
 *
 * @param model            the resolved model spec
 * @param batchSize        the batch
 * @param precision        fp32, fp16 or bf16
 * @param optimizer        the recipe's optimizer
 * @param medianStepMillis the median step time
 * @param samplesPerSecond batch over the median step time
 * @param peakBytes        the step's peak memory: on the CPU the plan's prediction (parameters, optimizer state, inputs,
 *                         activations, workspaces), on a GPU the device memory manager's measured peak
 * @param calls            kernel calls per step
 * @param profile          time per kernel kind over the timed runs, largest first; empty without profiling
 */
record StepBenchmark(String model, int batchSize, String precision, String optimizer, double medianStepMillis, double samplesPerSecond,
                     long peakBytes, int calls, List<KernelTime> profile) {
    /**
     * The time of one kind of kernel call in a profiled step.
     *
     * @param kernel         the kind ({@code matmul}, {@code fused elementwise}, {@code fused reduction}, ...)
     * @param calls          calls per step
     * @param millisPerStep  their total time per step
     */
    record KernelTime(String kernel, int calls, double millisPerStep) {
    }

    /**
     * Times the step.
     *
     * @throws IllegalArgumentException for a bad spec, batch size or precision
     */
    static StepBenchmark run(String spec, int batchSize, String precision, int warmup, int repeat, boolean profile) {
        return run(spec, batchSize, precision, warmup, repeat, profile, Executor.cpu());
    }

    /**
     * Times the step on {@code base}'s backend: on a GPU each step is timed with CUDA events on
     * the compute stream (the run waits for its loss, so a step's events have passed when read),
     * and {@link #peakBytes()} is the device memory manager's measured peak.
     *
     * @throws IllegalArgumentException for a bad spec, batch size or precision
     */
    static StepBenchmark run(String spec, int batchSize, String precision, int warmup, int repeat, boolean profile, Executor base) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size " + batchSize + ", expected at least 1");
        }
        TrainConfig cfg = TrainConfig.layered(Map.of(), Map.of("model", spec, "batch-size", batchSize, "precision", precision)).resolved();
        TrainerConfig config = TrainCommand.stepConfig(cfg);
        try (Model m = ModelZoo.create(cfg.model(), cfg.seed());
             TrainingStepGraph step = TrainingStepGraph.trace(m.module(), TrainingTask.forModel(m), batchSize, config);
             Program p = TrainingStepGraph.executor(base, config).compile(step.graph(), step.outputs())) {
            step.bind(p);
            int classes = m.classes();
            Map<Value, Tensor> feeds = new HashMap<>();
            try {
                feeds.put(step.input(), random(step.input().shape(), step.input().dtype(), classes, 1));
                feeds.put(step.target(), random(step.target().shape(), step.target().dtype(), classes, 2));
                // a small constant rate: the timing does not depend on it, and the weights stay finite
                step.update().feedLearningRate(feeds, 1e-4);
                for (int i = 0; i < warmup; i++) {
                    p.run(feeds);
                }
                double[] times = new double[repeat];
                Map<String, long[]> byKernel = new LinkedHashMap<>(); // kind -> {calls, nanos}
                KernelClock clock = p.backend().kernelClock();
                for (int i = 0; i < repeat; i++) {
                    long t0 = System.nanoTime();
                    KernelClock.Mark start = clock == null ? null : clock.mark();
                    if (profile) {
                        p.run(feeds, (kernel, node, nanos) -> {
                            long[] acc = byKernel.computeIfAbsent(kernel, k -> new long[2]);
                            acc[0]++;
                            acc[1] += nanos;
                        });
                    } else {
                        p.run(feeds);
                    }
                    times[i] = (System.nanoTime() - t0) / 1e6;
                    if (start != null) {
                        try (start; KernelClock.Mark end = clock.mark()) {
                            times[i] = start.nanosTo(end) / 1e6;
                        }
                    }
                }
                Arrays.sort(times);
                double median = times[repeat / 2];
                List<KernelTime> kernels = new ArrayList<>();
                byKernel.forEach((k, acc) -> kernels.add(new KernelTime(k, (int) (acc[0] / repeat), acc[1] / 1e6 / repeat)));
                kernels.sort((a, b) -> Double.compare(b.millisPerStep(), a.millisPerStep()));
                return new StepBenchmark(m.spec().toString(), batchSize, cfg.precision(), cfg.optimizer(), median, batchSize / (median / 1e3),
                        clock == null ? p.memoryPlan().predictedPeakBytes() : p.backend().memory().snapshot().peakAllocatedBytes(),
                        p.stepCount(), kernels);
            } finally {
                // the learning-rate tensor belongs to the step's update, which closes it
                feeds.remove(step.update().learningRate());
                feeds.values().forEach(Tensor::close);
            }
        }
    }

    /** Random values of the step's inputs: Gaussian floats, or integers in [0, classes) (labels, token ids). */
    private static Tensor random(Shape shape, DType dtype, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[(int) shape.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = dtype.isFloating() ? r.nextGaussian() : r.nextInt(classes);
        }
        return Tensor.of(v, dtype, shape.dims());
    }
}
