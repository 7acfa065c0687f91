package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated max and average pooling and their gradients (2x2 stride 2 on even and odd widths,
 * 3x3 stride 1 and 2 with padding, average with and without the padding counted, f32/f16/bf16,
 * inputs with ties) compile for every architecture and, replayed on the host, give exactly the CPU
 * backend's bits.
 */
class PoolingCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, List<Value> inputs, Value out) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        List<OpAttrs.Pool2d> pools = List.of(new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, true), new OpAttrs.Pool2d(3, 3, 1, 1, 1, 1, false),
                new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, true), new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false));
        for (DType t : List.of(DType.F32, DType.F16, DType.BF16)) {
            for (int width : new int[] {8, 7}) {
                for (OpAttrs.Pool2d p : pools) {
                    Graph g = new Graph("pool");
                    Value x = g.input("x", Shape.of(2, 3, 6, width), t);
                    Value y = Ops.maxPool2d(x, p);
                    Value dy = g.input("dy", y.shape(), t);
                    cases.add(new Case(g, List.of(x), y));
                    cases.add(new Case(g, List.of(x, dy), Ops.maxPool2dGrad(x, dy, p)));
                    Value a = Ops.avgPool2d(x, p);
                    cases.add(new Case(g, List.of(x), a));
                    cases.add(new Case(g, List.of(dy), Ops.avgPool2dGrad(dy, p, x.shape())));
                }
            }
        }
        return cases;
    }

    @Test
    void onTheHostPoolingGivesTheCpuBackendsBits() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom r = new SplittableRandom(9);
        List<Case> cases = cases();
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases) {
            // halves: ties within windows
            references.add(CpuReference.reference(c.graph(), c.inputs(), c.out(), PoolingCodegen.generate(c.out().node()),
                    (in, i) -> Math.round(r.nextGaussian() * 4) / 2.0));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            GeneratedKernel kernel = references.get(k).call().kernel();
            assertArrayEquals(references.get(k).expected(), actual.get(k), kernel.name() + " " + kernel.outputs() + " " + cases.get(k).out().node());
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("pooling", cases().stream().map(c -> PoolingCodegen.generate(c.out().node())).toList());
    }
}
