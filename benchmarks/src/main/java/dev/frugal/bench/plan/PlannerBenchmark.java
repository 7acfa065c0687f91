package dev.frugal.bench.plan;

import dev.frugal.models.ModuleTrace;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * How long the memory planner takes on a large training program: {@code Executor.plan} (fusion,
 * kernel preparation, liveness, update scheduling, arena placement, and under a budget the
 * checkpoint search with its exact re-planning) on the training step of {@code deep-mlp} at
 * batch 256 (forward, cross-entropy, gradients, an SGD update; depth 64 gives about 5,700 graph
 * nodes). {@code plain} plans without a budget; {@code budgeted} with an activation budget of 35%
 * of the unplanned arena, which makes the planner recompute.
 *
 * <p>Run with {@code java --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector
 * -jar benchmarks/target/benchmarks.jar PlannerBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
public class PlannerBenchmark {
    /** Residual blocks of deep-mlp (width 512). */
    @Param({"16", "64"})
    public int depth;

    private Model model;
    private Graph graph;
    private Value loss;
    private long budget;

    @Setup(Level.Trial)
    public void trace() {
        model = ModelZoo.create("deep-mlp:depth=" + depth + ",width=512", 1);
        model.module().train(true);
        graph = new Graph("deep-mlp-step");
        ModuleTrace trace = ModuleTrace.of(graph, model.module());
        int batch = 256;
        Value images = graph.input("images", Shape.of(batch, 1, 28, 28), DType.F32);
        Value labels = graph.input("labels", Shape.of(batch), DType.I32);
        loss = Functional.crossEntropy(trace.forward(images), labels);
        List<Value> params = trace.parameterValues();
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Ops.assign(params.get(i), Ops.sub(params.get(i), Ops.mul(grads.get(i), Ops.constant(graph, 0.01, DType.F32))));
        }
        MemoryPlan unplanned = Executor.cpu().plan(graph, List.of(loss));
        budget = unplanned.predictedPeakBytes() - unplanned.activationBytes() + unplanned.activationBytes() * 35 / 100;
        System.out.printf("%n%d graph nodes; unplanned arena %d bytes; budget %d bytes%n", graph.nodes().size(),
                unplanned.activationBytes(), budget);
    }

    @TearDown(Level.Trial)
    public void close() {
        model.close();
    }

    @Benchmark
    public MemoryPlan plain() {
        return Executor.cpu().plan(graph, List.of(loss));
    }

    @Benchmark
    public MemoryPlan budgeted() {
        MemoryPlan p = Executor.cpu().withMemoryBudget(budget).plan(graph, List.of(loss));
        if (!p.fits()) {
            throw new IllegalStateException("the budget should fit:\n" + p.explain());
        }
        return p;
    }
}
