package dev.frugal.nativetests.support;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.GraphRun;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a traced graph on the runtime's CPU backend, the reference every GPU result is checked
 * against (ARCHITECTURE.md: "the CPU backend is a real backend and the reference"). Tests build
 * the graph with {@code Ops} exactly as the model code would, so a GPU test also pins down that
 * the CUDA library computes what the runtime's op means (layout, transposes, groups).
 */
public final class CpuReference {
  private CpuReference() {}

  /**
   * Runs the graph the outputs belong to with {@code inputs} fed to its input values, each array
   * row-major in its value's shape and rounded to its value's dtype.
   *
   * @return each output, row-major, widened to float
   */
  public static List<float[]> run(List<Value> outputs, Map<Value, float[]> inputs) {
    Graph graph = outputs.get(0).graph();
    Map<Value, Tensor> feeds = new LinkedHashMap<>();
    try {
      for (Map.Entry<Value, float[]> input : inputs.entrySet()) {
        Value value = input.getKey();
        feeds.put(value, Tensor.of(toDoubles(input.getValue()), value.dtype(), value.shape().dims()));
      }
      List<float[]> results = new ArrayList<>();
      for (double[] output : GraphRun.run(graph, outputs, feeds)) {
        results.add(toFloats(output));
      }
      return results;
    } finally {
      feeds.values().forEach(Tensor::close);
    }
  }

  /** {@link #run(List, Map)} for a graph with one output. */
  public static float[] run(Value output, Map<Value, float[]> inputs) {
    return run(List.of(output), inputs).get(0);
  }

  private static double[] toDoubles(float[] values) {
    double[] out = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  private static float[] toFloats(double[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = (float) values[i];
    }
    return out;
  }
}
