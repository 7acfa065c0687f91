package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
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
 * not start on a Philox block, and it compiles for every architecture. So does a fused group
 * with the draw inside ({@link ElementwiseCodegen}'s RANDOM_UNIFORM member): bias add, dropout
 * and residual add in one kernel, alone or ending in a sum.
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

    /**
     * {@code residual + dropout(x + bias)} in F32, F16 and BF16, a draw inside a group that ends in
     * a sum, and a draw a group does not fully read (its own kernel, generated alone).
     */
    private static List<CpuReference.Case> dropoutCases() {
        List<CpuReference.Case> cases = new ArrayList<>();
        long[] offsets = {0, 3, 1_000_001, -2};
        int c = 0;
        for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            for (int[] dims : new int[][] {{3, 37}, {2, 3, 70}}) {
                Graph g = new Graph("dropout");
                Value x = g.input("x", Shape.of(dims), t);
                Value bias = g.input("bias", Shape.of(dims[dims.length - 1]), t);
                Value residual = g.input("residual", Shape.of(dims), t);
                Value offset = g.input("offset", Shape.scalar(), DType.I64);
                Value y = Ops.add(residual, Functional.dropout(Ops.add(x, bias), 0.3, true, offset, 1234 + c, c));
                cases.add(new CpuReference.Case(g, List.of(y), feeds(g, offset, offsets[c++ % offsets.length])));
            }
        }
        Graph g = new Graph("dropout-sum");
        Value x = g.input("x", Shape.of(6, 77), DType.F32);
        Value b = g.input("b", Shape.of(77), DType.F32);
        Value offset = g.input("offset", Shape.scalar(), DType.I64);
        Value s = Ops.sum(Functional.dropout(Ops.exp(Ops.add(x, b)), 0.5, true, offset, 99, 2), false, 1);
        cases.add(new CpuReference.Case(g, List.of(s), feeds(g, offset, 5)));
        return cases;
    }

    private static Map<Value, Tensor> feeds(Graph g, Value offset, long offsetValue) {
        Map<Value, Tensor> feeds = new java.util.LinkedHashMap<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(offsetValue + 11);
        for (Value in : g.inputs()) {
            if (in == offset) {
                feeds.put(in, Tensor.ofLongs(new long[] {offsetValue}));
                continue;
            }
            double[] d = new double[(int) in.shape().numel()];
            for (int i = 0; i < d.length; i++) {
                d[i] = r.nextGaussian() * 2;
            }
            feeds.put(in, Tensor.of(d, in.dtype(), in.shape().dims()));
        }
        return feeds;
    }

    /** The fused kernels of the dropout cases: each case's only generated kernel has the draw inside. */
    private static List<GeneratedKernel> fusedDropoutKernels(List<CpuReference.Case> cases) {
        List<GeneratedKernel> kernels = new ArrayList<>();
        for (CpuReference.Case c : cases) {
            try (Program p = Executor.cpu().compile(c.graph(), c.outputs())) {
                List<GeneratedKernel> ks = CpuReference.kernelsOf(p);
                assertEquals(1, ks.size(), p.listing());
                assertTrue(ks.getFirst().name().contains("random_uniform"), ks.getFirst().name());
                kernels.addAll(ks);
            }
        }
        return kernels;
    }

    @Test
    void onTheHostAFusedDropoutKernelComputesTheCpuBackendsValues() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        List<CpuReference.Case> cases = dropoutCases();
        try {
            fusedDropoutKernels(cases);
            assertTrue(CpuReference.check(nvcc, tmp, cases) > 0);
        } finally {
            cases.forEach(c -> c.feeds().values().forEach(Tensor::close));
        }
    }

    @Test
    void fusedDropoutKernelsCompileForEveryArchitecture() {
        List<CpuReference.Case> cases = dropoutCases();
        try {
            ElementwiseCodegenTest.compileForEveryArchitecture("fused_dropout", fusedDropoutKernels(cases));
        } finally {
            cases.forEach(c -> c.feeds().values().forEach(Tensor::close));
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("philox", draws().stream().map(d -> RandomUniformCodegen.generate(d.out().node())).toList());
    }
}
