package dev.frugal.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.memory.ByteFormat;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.TrainingDevice;
import dev.frugal.trainer.config.TrainConfig;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code frugal bench}: a quick speed check through the real executor (traced graph, compiled
 * program, replayed). Without {@code --model}, the heavy operations (matmul, 3x3 convolutions
 * forward and backward) in GFLOP/s; with {@code --model SPEC [--batch-size N] [--precision P]}, a
 * zoo model's whole training step as {@code frugal train} runs it ({@link StepBenchmark}): the
 * median step time, samples per second and the step's memory, and with {@code --profile} the time
 * per kind of kernel call, largest first. {@code benchmarks/pytorch/bench_compare.sh} runs the same
 * step in PyTorch beside it. The numbers published in docs/benchmarks.md come from JMH
 * (benchmarks/) and these commands.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Time fp32 matmul and 3x3 conv2d forward+backward on a device (--device, default cpu) and print GFLOP/s;",
                "with --model, time a zoo model's training step (median step time, samples/s, memory; --profile: time per kernel)."})
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--warmup", defaultValue = "10", description = "Untimed runs before measuring (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--repeat", defaultValue = "10", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--size", defaultValue = "1024", description = "Matmul size n for an n x n x n product (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--model", paramLabel = "SPEC", description = "Time this zoo model's training step instead (see frugal models).")
    String model;

    @Option(names = "--batch-size", description = "With --model: the batch (default: the model's recipe).")
    Integer batchSize;

    @Option(names = "--precision", defaultValue = "fp32", description = "With --model: fp32, fp16 or bf16 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}); on a GPU steps are"
            + " timed with CUDA events.")
    String device;

    @Option(names = "--profile", description = "With --model: also the time per kind of kernel call over the timed steps, largest first.")
    boolean profile;

    @Option(names = "--json", description = "With --model: print one JSON object.")
    boolean json;

    /** One benchmark's outcome. */
    record Result(String name, double medianMillis, double gflops) {
    }

    @Override
    public void run() {
        if (warmup < 0 || repeat < 1 || size < 1) {
            throw new IllegalArgumentException("--warmup must be >= 0, --repeat >= 1 and --size >= 1 (got " + warmup + ", " + repeat + ", " + size + ")");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (model == null && (profile || json || batchSize != null)) {
            throw new IllegalArgumentException("--batch-size, --profile and --json time a model's step: add --model SPEC");
        }
        try (TrainingDevice d = TrainingDevice.open(device, -1, out::println)) {
            Executor exec = d.isCuda() ? d.gpuExecutor() : Executor.cpu();
            String where = d.isCuda() ? "CUDA backend, " + d.describe() : "CPU backend (" + Runtime.getRuntime().availableProcessors() + " threads)";
            if (model != null) {
                benchModel(out, exec, d, where);
            } else {
                benchOps(out, exec, where);
            }
        }
    }

    private void benchOps(PrintWriter out, Executor exec, String where) {
        out.printf(Locale.ROOT, "%s, %s%n", where, Runtime.version());
        List<Result> results = new ArrayList<>();
        results.add(matmul(exec, size));
        results.add(conv(exec, new int[] {32, 32, 28, 28}, 64, 1));
        results.add(conv(exec, new int[] {32, 64, 14, 14}, 64, 1));
        results.add(conv(exec, new int[] {32, 64, 14, 14}, 64, 64));
        out.printf(Locale.ROOT, "%-54s %12s %10s%n", "benchmark", "median ms", "GFLOP/s");
        for (Result r : results) {
            out.printf(Locale.ROOT, "%-54s %12.2f %10.2f%n", r.name(), r.medianMillis(), r.gflops());
        }
        out.flush();
    }

    private void benchModel(PrintWriter out, Executor exec, TrainingDevice d, String where) {
        int batch = batchSize != null ? batchSize
                : TrainConfig.layered(Map.of(), Map.of("model", model)).resolved().batchSize();
        StepBenchmark b = StepBenchmark.run(model, batch, precision, warmup, repeat, profile, exec);
        if (json) {
            ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode o = mapper.createObjectNode();
            o.put("model", b.model());
            o.put("batch_size", b.batchSize());
            o.put("precision", b.precision());
            o.put("optimizer", b.optimizer());
            o.put("device", d.device().toString());
            o.put("device_name", d.describe());
            o.put("timing", d.isCuda() ? "cuda events" : "wall clock");
            o.put("threads", Runtime.getRuntime().availableProcessors());
            o.put("warmup", warmup);
            o.put("repeat", repeat);
            o.put("step_ms_median", b.medianStepMillis());
            o.put("samples_per_second", b.samplesPerSecond());
            o.put("peak_bytes", b.peakBytes());
            o.put("kernel_calls", b.calls());
            ArrayNode kernels = o.putArray("profile");
            for (StepBenchmark.KernelTime k : b.profile()) {
                kernels.addObject().put("kernel", k.kernel()).put("calls", k.calls()).put("ms", k.millisPerStep());
            }
            try {
                out.println(mapper.writeValueAsString(o));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        } else {
            out.printf(Locale.ROOT, "%s, batch %d, %s, %s, %s: median step %.2f ms over %d runs (%d warm-up),"
                    + " %.0f samples/s, %d kernel calls, %s %s%n", b.model(), b.batchSize(), b.precision(), b.optimizer(),
                    where, b.medianStepMillis(), repeat, warmup, b.samplesPerSecond(), b.calls(),
                    d.isCuda() ? "measured peak" : "predicted peak", ByteFormat.format(b.peakBytes()));
            if (profile) {
                double total = b.profile().stream().mapToDouble(StepBenchmark.KernelTime::millisPerStep).sum();
                out.printf(Locale.ROOT, "%-32s %8s %10s %7s%n", "kernel (per step)", "calls", "ms", "share");
                for (StepBenchmark.KernelTime k : b.profile()) {
                    out.printf(Locale.ROOT, "%-32s %8d %10.3f %6.1f%%%n", k.kernel(), k.calls(), k.millisPerStep(), 100 * k.millisPerStep() / total);
                }
            }
        }
        out.flush();
    }

    private Result matmul(Executor exec, int n) {
        Graph g = new Graph("bench_matmul");
        Value a = g.input("a", Shape.of(n, n), DType.F32);
        Value b = g.input("b", Shape.of(n, n), DType.F32);
        Value c = Ops.matmul(a, b);
        try (Program p = exec.compile(g, List.of(c));
             Tensor ta = random(Shape.of(n, n), 1); Tensor tb = random(Shape.of(n, n), 2)) {
            double ms = medianMillis(() -> p.run(Map.of(a, ta, b, tb)));
            return new Result("matmul f32 " + n + "x" + n + "x" + n, ms, 2.0 * n * n * n / (ms * 1e6));
        }
    }

    private Result conv(Executor exec, int[] xDims, int cOut, int groups) {
        Graph g = new Graph("bench_conv");
        Shape xs = Shape.of(xDims);
        Shape ws = Shape.of(cOut, xDims[1] / groups, 3, 3);
        OpAttrs.Conv2d geometry = new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, groups);
        Value x = g.input("x", xs, DType.F32);
        Value w = g.input("w", ws, DType.F32);
        Value y = Ops.conv2d(x, w, geometry);
        Value dy = g.input("dy", y.shape(), DType.F32);
        List<Value> grads = Autodiff.vjp(List.of(y), List.of(dy), List.of(x, w));
        List<Value> outputs = new ArrayList<>(grads);
        outputs.add(0, y);
        double flopsForward = 2.0 * y.shape().numel() * (xDims[1] / groups) * 9;
        try (Program p = exec.compile(g, outputs);
             Tensor tx = random(xs, 3); Tensor tw = random(ws, 4); Tensor tdy = random(y.shape(), 5)) {
            double ms = medianMillis(() -> p.run(Map.of(x, tx, w, tw, dy, tdy)));
            String name = String.format(Locale.ROOT, "conv2d 3x3 fwd+bwd x=%s cout=%d%s", Arrays.toString(xDims).replace(" ", ""), cOut,
                    groups > 1 ? " groups=" + groups : "");
            return new Result(name, ms, 3 * flopsForward / (ms * 1e6));
        }
    }

    private double medianMillis(Runnable body) {
        for (int i = 0; i < warmup; i++) {
            body.run();
        }
        double[] times = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            body.run();
            times[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(times);
        return times[repeat / 2];
    }

    private static Tensor random(Shape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape, DType.F32);
        long n = shape.numel();
        for (long i = 0; i < n; i++) {
            t.setFlat(i, rnd.nextDouble(-1, 1));
        }
        return t;
    }
}
