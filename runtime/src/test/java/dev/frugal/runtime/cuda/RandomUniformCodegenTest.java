package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared RNG: the generated Philox kernel draws exactly the CPU backend's numbers (so dropout
 * masks are the same on both backends), for several seeds, streams and counter offsets that do
 * not start on a Philox block, and it compiles for every architecture.
 */
class RandomUniformCodegenTest {
    @TempDir
    Path tmp;

    private record Draw(Graph graph, Value offset, Value out, long offsetValue) {
    }

    private static List<Draw> draws() {
        List<Draw> draws = new ArrayList<>();
        long[][] cases = {{42, 0, 0}, {42, 1, 3}, {-7, 5, 4097}, {0x123456789abcdefL, 0xfedcba987L, 1_000_001}};
        for (long[] c : cases) {
            Graph g = new Graph("draw");
            Value offset = g.input("offset", Shape.scalar(), DType.I64);
            draws.add(new Draw(g, offset, Ops.randomUniform(offset, Shape.of(3, 37), c[0], c[1]), c[2]));
        }
        return draws;
    }

    @Test
    void onTheHostTheKernelDrawsTheCpuBackendsNumbers() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        List<HostHarness.Call> calls = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (Draw d : draws()) {
            try (Program p = Executor.cpu().compile(d.graph(), List.of(d.out()));
                 Tensor offset = Tensor.ofLongs(new long[] {d.offsetValue()})) {
                expected.add(p.run(Map.of(d.offset(), offset)).getFirst().toDoubleArray());
            }
            calls.add(new HostHarness.Call(RandomUniformCodegen.generate(d.out().node()), List.of(new double[] {d.offsetValue()})));
        }
        List<List<double[]>> actual = HostHarness.run(nvcc, tmp, calls);
        for (int i = 0; i < calls.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i).getFirst(), "draw " + i + ": the same bits as the CPU's Philox");
            assertTrue(expected.get(i)[0] != expected.get(i)[1]);
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("philox", draws().stream().map(d -> RandomUniformCodegen.generate(d.out().node())).toList());
    }
}
