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
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Generated argmax (last and middle axes, ties, NaN, every input type) equals the CPU backend's and compiles everywhere. */
class ArgmaxCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, Value x, Value out) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (DType t : List.of(DType.F32, DType.F16, DType.BF16, DType.I32, DType.I64)) {
            for (int axis : new int[] {1, 2}) {
                Graph g = new Graph("argmax");
                Value x = g.input("x", Shape.of(4, 10, 3), t);
                cases.add(new Case(g, x, Ops.argmax(x, axis, false)));
            }
        }
        return cases;
    }

    @Test
    void onTheHostArgmaxEqualsTheCpuBackend() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom r = new SplittableRandom(4);
        List<HostHarness.Call> calls = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (Case c : cases()) {
            double[] d = new double[(int) c.x().shape().numel()];
            for (int i = 0; i < d.length; i++) {
                d[i] = r.nextInt(6); // many ties
            }
            if (c.x().dtype().isFloating()) {
                d[17] = Double.NaN;
            }
            try (Tensor t = Tensor.of(d, c.x().dtype(), c.x().shape().dims());
                 Program p = Executor.cpu().withNonFiniteCheck(false).compile(c.graph(), List.of(c.out()))) {
                expected.add(p.run(Map.of(c.x(), t)).getFirst().toDoubleArray());
                calls.add(new HostHarness.Call(ArgmaxCodegen.generate(c.out().node()), List.of(t.toDoubleArray())));
            }
        }
        List<List<double[]>> actual = HostHarness.run(nvcc, tmp, calls);
        for (int k = 0; k < calls.size(); k++) {
            assertArrayEquals(expected.get(k), actual.get(k).getFirst(), calls.get(k).kernel().name());
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        KernelCompiler compiler = ElementwiseCodegenTest.compilerOrSkip();
        List<GeneratedKernel> kernels = cases().stream().map(c -> ArgmaxCodegen.generate(c.out().node())).toList();
        for (String arch : ElementwiseCodegenTest.ARCHS) {
            compiler.compile("argmax_" + arch, ElementwiseCodegen.translationUnit(kernels), arch, List.of());
        }
    }
}
