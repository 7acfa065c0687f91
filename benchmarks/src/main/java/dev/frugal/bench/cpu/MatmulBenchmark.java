package dev.frugal.bench.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.kernels.Gemm;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * float32 matrix multiply {@code n x n x n} on all cores: through the real executor (a traced
 * {@code MATMUL} graph compiled to a {@link Program} and run with fresh feeds each time), and
 * {@link Gemm} called directly on off-heap segments (no executor overhead). The primary score is
 * operations per second; the {@code gflop} counter is GFLOP/s ({@code 2 n^3} per operation).
 * Compare with {@code benchmarks/pytorch/cpu_reference.py}. Run with
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar MatmulBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBenchmark {

    /** Counts floating-point work so JMH reports it per second, i.e. as GFLOP/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        /** GFLOP done so far in this iteration; JMH divides by the iteration time. */
        public double gflop;

        /** Clears the counter at each iteration, as JMH expects of operation counters. */
        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }

    /** The problem: inputs as tensors (for the executor) and as raw segments (for Gemm). */
    @State(Scope.Benchmark)
    public static class Problem {
        /** Matrix size: every dimension of the product. */
        @Param({"1024"})
        public int n;

        Program program;
        Value a;
        Value b;
        Tensor ta;
        Tensor tb;
        Arena arena;
        MemorySegment sa;
        MemorySegment sb;
        MemorySegment sc;

        /** Traces and compiles the graph and fills the inputs with a fixed-seed uniform(-1, 1). */
        @Setup(Level.Trial)
        public void setUp() {
            Graph g = new Graph("matmul_bench");
            a = g.input("a", Shape.of(n, n), DType.F32);
            b = g.input("b", Shape.of(n, n), DType.F32);
            Value c = Ops.matmul(a, b);
            program = Executor.cpu().compile(g, List.of(c));
            ta = random(Shape.of(n, n), 1);
            tb = random(Shape.of(n, n), 2);
            arena = Arena.ofShared();
            long bytes = (long) n * n * Float.BYTES;
            sa = arena.allocate(bytes, 64);
            sb = arena.allocate(bytes, 64);
            sc = arena.allocate(bytes, 64);
            MemorySegment.copy(ta.segment(), 0, sa, 0, bytes);
            MemorySegment.copy(tb.segment(), 0, sb, 0, bytes);
        }

        /** Frees the program, tensors and segments. */
        @TearDown(Level.Trial)
        public void tearDown() {
            program.close();
            ta.close();
            tb.close();
            arena.close();
        }

        double gflop() {
            return 2.0 * n * n * n / 1e9;
        }
    }

    /** {@code a @ b} through {@code Program.run}. */
    @Benchmark
    public Object executor(Problem p, Flops f) {
        List<Tensor> out = p.program.run(Map.of(p.a, p.ta, p.b, p.tb));
        f.gflop += p.gflop();
        return out;
    }

    /** {@code Gemm.gemmF32} on the raw segments. */
    @Benchmark
    public MemorySegment gemmDirect(Problem p, Flops f) {
        Gemm.gemmF32(1, p.n, p.n, p.n, p.sa, 0, 0, p.n, false, p.sb, 0, 0, p.n, false, p.sc, 0, 0, p.n, false);
        f.gflop += p.gflop();
        return p.sc;
    }

    static Tensor random(Shape shape, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Tensor t = Tensor.zeros(shape, DType.F32);
        MemorySegment s = t.segment();
        for (long i = 0; i < shape.numel(); i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextDouble(-1, 1));
        }
        return t;
    }
}
