package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Integer comparisons (one-hot targets: labels against an iota, broadcast), casts from integers
 * and casts from f64 give the CPU backend's bits.
 */
class WideElementwiseCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, List<Value> inputs, Value out) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (DType t : List.of(DType.I32, DType.I64)) {
            Graph g = new Graph("int");
            Value labels = g.input("labels", Shape.of(6, 1), t);
            Value classes = g.input("classes", Shape.of(10), t);
            cases.add(new Case(g, List.of(labels, classes), Ops.eq(labels, classes)));
            cases.add(new Case(g, List.of(labels, classes), Ops.lt(classes, labels)));
            for (DType to : List.of(DType.F32, DType.F16, DType.BF16, DType.BOOL)) {
                cases.add(new Case(g, List.of(labels), Ops.cast(labels, to)));
            }
        }
        Graph g = new Graph("f64");
        Value lr = g.input("lr", Shape.of(3), DType.F64);
        cases.add(new Case(g, List.of(lr), Ops.cast(lr, DType.F32)));
        cases.add(new Case(g, List.of(lr), Ops.cast(lr, DType.BOOL)));
        return cases;
    }

    @Test
    void onTheHostIntegerKernelsGiveTheCpuBackendsBits() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom r = new SplittableRandom(8);
        List<HostHarness.Call> calls = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (Case c : cases()) {
            Map<Value, Tensor> feeds = new LinkedHashMap<>();
            Map<Value, double[]> stored = new LinkedHashMap<>();
            for (Value in : c.inputs()) {
                double[] d = new double[(int) in.shape().numel()];
                for (int i = 0; i < d.length; i++) {
                    d[i] = in.dtype() == DType.F64 ? (i == 0 ? 0 : r.nextGaussian() * 1e-3) : in.shape().numel() == 10 ? i : r.nextInt(-3, 3000);
                }
                Tensor t = Tensor.of(d, in.dtype(), in.shape().dims());
                feeds.put(in, t);
                stored.put(in, t.toDoubleArray());
            }
            try (Program p = Executor.cpu().compile(c.graph(), List.of(c.out()))) {
                expected.add(p.run(feeds).getFirst().toDoubleArray());
            } finally {
                feeds.values().forEach(Tensor::close);
            }
            GeneratedKernel kernel = WideElementwiseCodegen.generate(c.out().node());
            calls.add(new HostHarness.Call(kernel, kernel.inputs().stream().map(stored::get).toList()));
        }
        List<List<double[]>> actual = HostHarness.run(nvcc, tmp, calls);
        for (int k = 0; k < calls.size(); k++) {
            assertArrayEquals(expected.get(k), actual.get(k).getFirst(), calls.get(k).kernel().name());
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        KernelCompiler compiler = ElementwiseCodegenTest.compilerOrSkip();
        List<GeneratedKernel> kernels = cases().stream().map(c -> WideElementwiseCodegen.generate(c.out().node())).toList();
        for (String arch : ElementwiseCodegenTest.ARCHS) {
            compiler.compile("integer_" + arch, ElementwiseCodegen.translationUnit(kernels), arch, List.of());
        }
    }
}
