package dev.frugal.runtime.cuda;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks the generated kernels of programs against the CPU backend: each program is compiled for
 * the CPU, its fused groups and unfused elementwise nodes become kernels, each kernel runs on the
 * host ({@link HostHarness}) on exactly the inputs the CPU's unfused run computed for it, and its
 * outputs must equal the CPU's ({@link HostHarness#close}).
 */
final class CpuReference {
    /** A program to check: its graph, outputs and input values. */
    record Case(Graph graph, List<Value> outputs, Map<Value, Tensor> feeds) {
    }

    private CpuReference() {
    }

    /** The generated kernels of a CPU program: its fused groups, then its unfused elementwise nodes. */
    static List<GeneratedKernel> kernelsOf(Program p) {
        List<GeneratedKernel> kernels = new ArrayList<>();
        for (FusedGroup group : p.fusedGroups()) {
            kernels.add(KernelGenerators.generate(group));
        }
        for (Node n : p.unfusedKernelNodes()) {
            if (ElementwiseCodegen.supports(n)) {
                kernels.add(ElementwiseCodegen.generate(n));
            }
        }
        return kernels;
    }

    /**
     * Runs every kernel of every case in one host program and compares.
     *
     * @return the number of output elements compared
     * @throws AssertionError naming the kernel, output and element that differ, with the source
     */
    static int check(Path nvcc, Path dir, List<Case> cases) throws IOException, InterruptedException {
        List<HostHarness.Call> calls = new ArrayList<>();
        List<List<double[]>> expected = new ArrayList<>();
        List<Double> sumScales = new ArrayList<>();
        for (Case c : cases) {
            List<GeneratedKernel> kernels;
            try (Program p = Executor.cpu().withReductionFusion(true).compile(c.graph(), c.outputs())) { // planned as for a GPU
                kernels = kernelsOf(p);
            }
            // every value a kernel reads or writes, from the CPU's unfused run
            List<Value> wanted = new ArrayList<>();
            for (GeneratedKernel k : kernels) {
                wanted.addAll(k.inputs());
                wanted.addAll(k.outputs());
                if (fusedSum(k)) {
                    wanted.add(k.outputs().getFirst().node().input(0)); // the values it sums, for the tolerance
                }
            }
            List<Value> distinct = wanted.stream().distinct().toList();
            Map<Value, double[]> values = new LinkedHashMap<>();
            // the kernels' values belong to the graph the fused program compiled (its repeats
            // merged): the reference runs that graph, fed by input name
            Graph compiled = distinct.isEmpty() ? c.graph() : distinct.getFirst().graph();
            Map<Value, Tensor> feeds = new LinkedHashMap<>();
            c.feeds().forEach((in, t) -> feeds.put(compiled.inputMatching(in), t));
            feeds.remove(null); // inputs the merged graph does not read
            try (Program unfused = Executor.cpu().withFusion(false).compile(compiled, distinct)) {
                List<Tensor> results = unfused.run(feeds);
                for (int i = 0; i < distinct.size(); i++) {
                    values.put(distinct.get(i), results.get(i).toDoubleArray());
                }
            }
            for (GeneratedKernel k : kernels) {
                calls.add(new HostHarness.Call(k, k.inputs().stream().map(values::get).toList()));
                expected.add(k.outputs().stream().map(values::get).toList());
                sumScales.add(fusedSum(k) ? absSum(values.get(k.outputs().getFirst().node().input(0))) : -1);
            }
        }
        List<List<double[]>> actual = HostHarness.run(nvcc, dir, calls);
        int checked = 0;
        for (int c = 0; c < calls.size(); c++) {
            GeneratedKernel k = calls.get(c).kernel();
            for (int o = 0; o < k.outputs().size(); o++) {
                Value out = k.outputs().get(o);
                double[] e = expected.get(c).get(o);
                double[] a = actual.get(c).get(o);
                // a fused sum adds in another order than the CPU: it agrees to float32 rounding of its terms
                double sumTolerance = o == 0 && sumScales.get(c) >= 0 ? 1e-6 * sumScales.get(c) : -1;
                for (int i = 0; i < e.length; i++) {
                    boolean close = sumTolerance >= 0 ? Math.abs(e[i] - a[i]) <= sumTolerance || HostHarness.close(e[i], a[i], out.dtype())
                            : HostHarness.close(e[i], a[i], out.dtype());
                    if (!close) {
                        throw new AssertionError(k.name() + " output " + o + " (" + out + ") element " + i + ": CPU " + e[i]
                                + ", generated " + a[i] + "\n" + k.body());
                    }
                }
                checked += e.length;
            }
        }
        return checked;
    }

    /** Whether {@code k} is a fused group's kernel that ends in a sum (its first output is the sum). */
    private static boolean fusedSum(GeneratedKernel k) {
        Node n = k.outputs().getFirst().node();
        return n.op() == Op.REDUCE_SUM && !k.inputs().contains(n.input(0));
    }

    private static double absSum(double[] v) {
        double s = 0;
        for (double x : v) {
            s += Math.abs(x);
        }
        return s;
    }

    /** Element {@code i} of an input's random values (rounded to the input's dtype when it is stored). */
    @FunctionalInterface
    interface InputValues {
        double value(Value input, int i);
    }

    /**
     * A kernel's call on one set of input values, and what the CPU backend computes for the kernel's
     * output from them.
     */
    record Reference(HostHarness.Call call, double[] expected) {
    }

    /**
     * Fills {@code inputs} (in this order, element by element, so a seeded generator gives the same
     * values every run), runs {@code out} on the CPU backend (the non-finite check off, so NaN inputs
     * are allowed), and pairs the kernel with the stored input values in its own parameter order.
     */
    static Reference reference(Graph graph, List<Value> inputs, Value out, GeneratedKernel kernel, InputValues values) {
        Map<Value, Tensor> feeds = new LinkedHashMap<>();
        Map<Value, double[]> stored = new LinkedHashMap<>();
        try {
            for (Value in : inputs) {
                double[] d = new double[(int) in.shape().numel()];
                for (int i = 0; i < d.length; i++) {
                    d[i] = values.value(in, i);
                }
                Tensor t = Tensor.of(d, in.dtype(), in.shape().dims());
                feeds.put(in, t);
                stored.put(in, t.toDoubleArray());
            }
            try (Program p = Executor.cpu().withNonFiniteCheck(false).compile(graph, List.of(out))) {
                double[] expected = p.run(feeds).getFirst().toDoubleArray();
                return new Reference(new HostHarness.Call(kernel, kernel.inputs().stream().map(stored::get).toList()), expected);
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    /** Runs every reference's kernel in one host program; the first output of each, widened. */
    static List<double[]> runOnHost(Path nvcc, Path dir, List<Reference> references) throws IOException, InterruptedException {
        List<List<double[]>> outputs = HostHarness.run(nvcc, dir, references.stream().map(Reference::call).toList());
        return outputs.stream().map(List::getFirst).toList();
    }
}
