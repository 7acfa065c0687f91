package dev.frugal.runtime.cuda;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
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
            kernels.add(ElementwiseCodegen.generate(group));
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
        for (Case c : cases) {
            List<GeneratedKernel> kernels;
            try (Program p = Executor.cpu().compile(c.graph(), c.outputs())) {
                kernels = kernelsOf(p);
            }
            // every value a kernel reads or writes, from the CPU's unfused run
            List<Value> wanted = new ArrayList<>();
            for (GeneratedKernel k : kernels) {
                wanted.addAll(k.inputs());
                wanted.addAll(k.outputs());
            }
            List<Value> distinct = wanted.stream().distinct().toList();
            Map<Value, double[]> values = new LinkedHashMap<>();
            try (Program unfused = Executor.cpu().withFusion(false).compile(c.graph(), distinct)) {
                List<Tensor> results = unfused.run(c.feeds());
                for (int i = 0; i < distinct.size(); i++) {
                    values.put(distinct.get(i), results.get(i).toDoubleArray());
                }
            }
            for (GeneratedKernel k : kernels) {
                calls.add(new HostHarness.Call(k, k.inputs().stream().map(values::get).toList()));
                expected.add(k.outputs().stream().map(values::get).toList());
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
                for (int i = 0; i < e.length; i++) {
                    if (!HostHarness.close(e[i], a[i], out.dtype())) {
                        throw new AssertionError(k.name() + " output " + o + " (" + out + ") element " + i + ": CPU " + e[i]
                                + ", generated " + a[i] + "\n" + k.body());
                    }
                }
                checked += e.length;
            }
        }
        return checked;
    }
}
