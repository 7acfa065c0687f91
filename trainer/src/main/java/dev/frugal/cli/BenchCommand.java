package dev.frugal.cli;

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
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code frugal bench}: a quick speed check of the heavy operations through the real executor
 * (traced graph, compiled program, replayed). The numbers published in docs/benchmarks.md come
 * from JMH (benchmarks/); this command is for a user asking "how fast is my machine".
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time fp32 matmul and 3x3 conv2d forward+backward on the CPU backend and print GFLOP/s.")
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed runs before measuring (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--repeat", defaultValue = "10", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--size", defaultValue = "1024", description = "Matmul size n for an n x n x n product (default: ${DEFAULT-VALUE}).")
    int size;

    /** One benchmark's outcome. */
    record Result(String name, double medianMillis, double gflops) {
    }

    @Override
    public void run() {
        if (warmup < 0 || repeat < 1 || size < 1) {
            throw new IllegalArgumentException("--warmup must be >= 0, --repeat >= 1 and --size >= 1 (got " + warmup + ", " + repeat + ", " + size + ")");
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "CPU backend, %d threads, %s%n", Runtime.getRuntime().availableProcessors(), Runtime.version());
        List<Result> results = new ArrayList<>();
        results.add(matmul(size));
        results.add(conv(new int[] {32, 32, 28, 28}, 64, 1));
        results.add(conv(new int[] {32, 64, 14, 14}, 64, 1));
        results.add(conv(new int[] {32, 64, 14, 14}, 64, 64));
        out.printf(Locale.ROOT, "%-54s %12s %10s%n", "benchmark", "median ms", "GFLOP/s");
        for (Result r : results) {
            out.printf(Locale.ROOT, "%-54s %12.2f %10.2f%n", r.name(), r.medianMillis(), r.gflops());
        }
        out.flush();
    }

    private Result matmul(int n) {
        Graph g = new Graph("bench_matmul");
        Value a = g.input("a", Shape.of(n, n), DType.F32);
        Value b = g.input("b", Shape.of(n, n), DType.F32);
        Value c = Ops.matmul(a, b);
        Executor exec = Executor.cpu();
        try (Program p = exec.compile(g, List.of(c));
             Tensor ta = random(Shape.of(n, n), 1); Tensor tb = random(Shape.of(n, n), 2)) {
            double ms = medianMillis(() -> p.run(Map.of(a, ta, b, tb)));
            return new Result("matmul f32 " + n + "x" + n + "x" + n, ms, 2.0 * n * n * n / (ms * 1e6));
        }
    }

    private Result conv(int[] xDims, int cOut, int groups) {
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
        Executor exec = Executor.cpu();
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
