package dev.frugal.runtime.testing;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs a graph once on the CPU executor and copies the outputs out as {@code double[]} (row-major),
 * so tests can compare values after the program is closed.
 */
public final class GraphRun {
    private GraphRun() {
    }

    /** Compiles {@code graph} for {@code outputs}, runs it once with {@code feeds}, and returns copies of the outputs. */
    public static List<double[]> run(Graph graph, List<Value> outputs, Map<Value, Tensor> feeds) {
        try (Program p = Executor.cpu().compile(graph, outputs)) {
            List<Tensor> outs = p.run(feeds);
            List<double[]> copies = new ArrayList<>(outs.size());
            for (Tensor t : outs) {
                copies.add(t.toDoubleArray());
            }
            return copies;
        }
    }

    /** Runs a graph with one output and returns its values. */
    public static double[] run(Graph graph, Value output, Map<Value, Tensor> feeds) {
        return run(graph, List.of(output), feeds).get(0);
    }
}
