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
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases()) {
            references.add(CpuReference.reference(c.graph(), c.inputs(), c.out(), WideElementwiseCodegen.generate(c.out().node()),
                    (in, i) -> in.dtype() == DType.F64 ? (i == 0 ? 0 : r.nextGaussian() * 1e-3) : in.shape().numel() == 10 ? i : r.nextInt(-3, 3000)));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            assertArrayEquals(references.get(k).expected(), actual.get(k), references.get(k).call().kernel().name());
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("wide", cases().stream().map(c -> WideElementwiseCodegen.generate(c.out().node())).toList());
    }
}
