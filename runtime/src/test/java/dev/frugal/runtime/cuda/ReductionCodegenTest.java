package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated reductions (rows, a channel statistic of an NCHW batch, a full sum, maxima and minima,
 * half inputs with float32 or half outputs, more reduced elements than threads and fewer) compile
 * for every architecture and, replayed on the host, agree with the CPU backend: maxima and minima
 * exactly, sums to float32 rounding (the two sum in different orders).
 */
class ReductionCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, Value x, Value out) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(reduce(Op.REDUCE_SUM, Shape.of(7, 300), DType.F32, DType.F32, false, 1));
        cases.add(reduce(Op.REDUCE_SUM, Shape.of(5, 3, 9, 9), DType.F32, DType.F32, true, 0, 2, 3));
        cases.add(reduce(Op.REDUCE_SUM, Shape.of(1000), DType.F32, DType.F32, false));
        cases.add(reduce(Op.REDUCE_SUM, Shape.of(6, 40, 3), DType.F32, DType.F32, false, 1));
        cases.add(reduce(Op.REDUCE_MAX, Shape.of(9, 77), DType.F32, DType.F32, true, 1));
        cases.add(reduce(Op.REDUCE_MIN, Shape.of(4, 5, 6), DType.F32, DType.F32, false, 0, 2));
        cases.add(reduce(Op.REDUCE_SUM, Shape.of(8, 129), DType.F16, DType.F32, false, 1));
        cases.add(reduce(Op.REDUCE_MAX, Shape.of(3, 513), DType.BF16, DType.BF16, false, 1));
        cases.add(reduce(Op.REDUCE_SUM, Shape.of(2, 3), DType.BF16, DType.BF16, false, 0));
        return cases;
    }

    private static Case reduce(Op op, Shape shape, DType in, DType out, boolean keepDims, int... axes) {
        Graph g = new Graph("reduce");
        Value x = g.input("x", shape, in);
        Value r = switch (op) {
            case REDUCE_SUM -> Ops.sum(x, keepDims, axes);
            case REDUCE_MAX -> Ops.max(x, keepDims, axes);
            default -> Ops.min(x, keepDims, axes);
        };
        if (out != r.dtype()) {
            // a mixed-precision sum: half in, float32 out, as the autocast pass makes it
            r = g.add(op, List.of(x), r.node().attrs(), r.shape(), out);
        }
        return new Case(g, x, r);
    }

    @Test
    void onTheHostReductionsAgreeWithTheCpuBackend() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom random = new SplittableRandom(5);
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases()) {
            references.add(CpuReference.reference(c.graph(), List.of(c.x()), c.out(), ReductionCodegen.generate(c.out().node()),
                    (in, i) -> random.nextGaussian() * 3));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            HostHarness.Call call = references.get(k).call();
            Node n = call.kernel().outputs().getFirst().node();
            double[] e = references.get(k).expected();
            double[] a = actual.get(k);
            assertEquals(e.length, a.length);
            double scale = 0;
            for (double v : call.inputs().getFirst()) { // as stored: rounded to the half type
                scale += Math.abs(v);
            }
            for (int i = 0; i < e.length; i++) {
                if (n.op() == Op.REDUCE_SUM) {
                    double halfUlp = n.output().dtype() == DType.F32 ? 0 : Math.ulp((float) e[i]) * (n.output().dtype() == DType.BF16 ? 65536 : 8192);
                    assertEquals(e[i], a[i], 1e-6 * scale + halfUlp, n + " output " + i);
                } else {
                    assertEquals(e[i], a[i], 0.0, n + " output " + i + ": maxima and minima are exact");
                }
            }
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("reductions", cases().stream().map(c -> ReductionCodegen.generate(c.out().node())).toList());
    }

    @Test
    void unsupportedReductionsAreRefused() {
        Graph g = new Graph("f64");
        Value x = g.input("x", Shape.of(4, 4), DType.F64);
        Node n = Ops.sum(x, false, 1).node();
        var e = assertThrows(IllegalArgumentException.class, () -> ReductionCodegen.generate(n));
        assertTrue(e.getMessage().contains("reduce_sum"), e.getMessage());
    }
}
