package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
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
 * The data-movement and indexing kernels (permute, expand, slice with steps, pad, concat, gather,
 * scatter-add, constant and iota fills, in several dtypes) compile for every architecture and,
 * replayed on the host, give exactly the CPU backend's bits; an index out of range stops the
 * kernel with its name.
 */
class MovementCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, List<Value> inputs, Value out) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (DType t : List.of(DType.F32, DType.BF16, DType.I64)) {
            Graph g = new Graph("move-" + t);
            Value x = g.input("x", Shape.of(3, 4, 5), t);
            Value y = g.input("y", Shape.of(3, 2, 5), t);
            cases.add(new Case(g, List.of(x), Ops.permute(x, 2, 0, 1)));
            cases.add(new Case(g, List.of(x), Ops.slice(x, new int[] {1, 0, 1}, new int[] {3, 4, 5}, new int[] {1, 2, 2})));
            cases.add(new Case(g, List.of(x), Ops.pad(x, new int[] {0, 1, 2}, new int[] {1, 0, 3})));
            cases.add(new Case(g, List.of(x, y), Ops.concat(1, x, y)));
            Value b = g.input("b", Shape.of(4, 1), t);
            cases.add(new Case(g, List.of(b), Ops.expand(b, Shape.of(2, 4, 6))));
            cases.add(new Case(g, List.of(x), Ops.reshape(x, 5, 12)));
        }
        Graph g = new Graph("index");
        Value table = g.input("table", Shape.of(11, 6), DType.F32);
        Value ids = g.input("ids", Shape.of(2, 7), DType.I32);
        cases.add(new Case(g, List.of(table, ids), Ops.gather(table, ids, 0)));
        Value grads = g.input("grads", Shape.of(2, 7, 6), DType.F32);
        cases.add(new Case(g, List.of(grads, ids), Ops.scatterAdd(grads, ids, 0, Shape.of(11, 6))));
        Value half = g.input("half", Shape.of(3, 2, 7), DType.F16);
        cases.add(new Case(g, List.of(half, ids), Ops.scatterAdd(half, ids, 1, Shape.of(3, 11))));
        cases.add(new Case(g, List.of(), constant(Ops.full(g, Shape.of(3, 3), 0.1, DType.F16))));
        cases.add(new Case(g, List.of(), constant(Ops.full(g, Shape.of(4), -2.5, DType.F32))));
        cases.add(new Case(g, List.of(), Ops.iota(g, Shape.of(3, 4), 1, DType.I64)));
        cases.add(new Case(g, List.of(), Ops.iota(g, Shape.of(5, 2), 0, DType.F32)));
        return cases;
    }

    /** The CONSTANT node of a fill (a fill is a scalar constant expanded). */
    private static Value constant(Value fill) {
        return fill.node().op() == Op.EXPAND ? fill.node().input(0) : fill;
    }

    @Test
    void onTheHostMovementAndIndexKernelsGiveTheCpuBackendsBits() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom r = new SplittableRandom(3);
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases()) {
            references.add(CpuReference.reference(c.graph(), c.inputs(), c.out(), MovementCodegen.generate(c.out().node()),
                    (in, i) -> in.dtype().isFloating() ? r.nextGaussian() : (in.dtype() == DType.I32 ? r.nextInt(11) : r.nextInt(-1000, 1000))));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            GeneratedKernel kernel = references.get(k).call().kernel();
            assertArrayEquals(references.get(k).expected(), actual.get(k), kernel.name() + " " + kernel.outputs());
        }
    }

    @Test
    void anIndexOutOfRangeStopsTheKernelWithItsName() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        Graph g = new Graph("bad");
        Value table = g.input("table", Shape.of(4, 2), DType.F32);
        Value ids = g.input("ids", Shape.of(3), DType.I64);
        GeneratedKernel k = MovementCodegen.generate(Ops.gather(table, ids, 0).node());
        AssertionError e = assertThrows(AssertionError.class, () -> HostHarness.run(nvcc, tmp,
                List.of(new HostHarness.Call(k, List.of(new double[8], new double[] {0, 4, 1})))));
        assertTrue(e.getMessage().contains(k.name() + ": index 4 out of range [0, 4)"), e.getMessage());
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("movement", cases().stream().map(c -> MovementCodegen.generate(c.out().node())).toList());
    }
}
