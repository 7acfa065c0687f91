package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases()) {
            references.add(CpuReference.reference(c.graph(), List.of(c.x()), c.out(), ArgmaxCodegen.generate(c.out().node()), (in, i) -> {
                double v = r.nextInt(6); // many ties
                return i == 17 && in.dtype().isFloating() ? Double.NaN : v;
            }));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            assertArrayEquals(references.get(k).expected(), actual.get(k), references.get(k).call().kernel().name());
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("argmax", cases().stream().map(c -> ArgmaxCodegen.generate(c.out().node())).toList());
    }
}
