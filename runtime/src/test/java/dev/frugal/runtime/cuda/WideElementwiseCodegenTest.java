package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.OpBuilders;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Integer comparisons (one-hot targets: labels against an iota, broadcast), casts with a wide end,
 * and f64 and integer arithmetic (optimizer bookkeeping, counters) give the CPU backend's bits:
 * exactly for the IEEE operations, integer arithmetic (wrapping on overflow) and casts (Java's
 * saturation and NaN rules), within a few ulp for exp, log, pow, tanh, erf and sigmoid.
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

    /** Doubles that exercise every rule: NaN, signed zeros, infinities, subnormals, huge, halfway and ordinary values. */
    private static final double[] SPECIAL = {Double.NaN, 0.0, -0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 4.9e-324, -1e-310,
        1e300, -1e300, 9.3e18, -9.3e18, 3e9, -3e9, 2.5, -2.5, 0.5, -1.5, 1.0, 65519.99, 65520.0, 1e-8, 3.3895313892515355e38,
        1.0000000596046448, 0.1, -7.25, 123456.789};

    /** Longs that overflow when added, subtracted, multiplied or negated, and ordinary ones (exact in a double: the harness passes doubles). */
    private static final double[] INTEGERS = {0, 1, -1, 2, -3, 1L << 40, -(1L << 40), (1L << 52) - 1, -(1L << 52), 2147483647, -2147483648L,
        3000000000L, -3000000000L, 65504, 16777217, 7, -7};

    private static final List<Op> F64_EXACT_UNARY = List.of(Op.NEG, Op.SQRT, Op.RSQRT, Op.RECIPROCAL, Op.ABS, Op.SIGN, Op.RELU, Op.ROUND);
    private static final List<Op> F64_CLOSE_UNARY = List.of(Op.EXP, Op.LOG, Op.SIGMOID, Op.TANH, Op.ERF);
    private static final List<Op> F64_BINARY = List.of(Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.MAXIMUM, Op.MINIMUM);
    private static final List<Op> INTEGER_UNARY = List.of(Op.NEG, Op.ABS, Op.SIGN, Op.RELU, Op.ROUND);
    private static final List<Op> INTEGER_BINARY = List.of(Op.ADD, Op.SUB, Op.MUL, Op.MAXIMUM, Op.MINIMUM);

    private record Arithmetic(Case c, boolean exact) {
    }

    private static List<Arithmetic> arithmetic() {
        List<Arithmetic> cases = new ArrayList<>();
        int n = SPECIAL.length;
        Graph g = new Graph("f64");
        Value a = g.input("a", Shape.of(n, 1), DType.F64);
        Value b = g.input("b", Shape.of(1, n), DType.F64); // broadcast: every pair of special values
        for (Op op : F64_EXACT_UNARY) {
            cases.add(new Arithmetic(new Case(g, List.of(a), OpBuilders.unary(op, a)), true));
        }
        for (Op op : F64_CLOSE_UNARY) {
            cases.add(new Arithmetic(new Case(g, List.of(a), OpBuilders.unary(op, a)), false));
        }
        for (Op op : F64_BINARY) {
            cases.add(new Arithmetic(new Case(g, List.of(a, b), OpBuilders.binary(op, a, b)), op != Op.POW));
        }
        cases.add(new Arithmetic(new Case(g, List.of(a, b), Ops.lt(a, b)), true));
        Value pick = g.input("pick", Shape.of(n, 1), DType.BOOL);
        cases.add(new Arithmetic(new Case(g, List.of(pick, a, b), Ops.where(pick, a, b)), true));
        for (DType to : List.of(DType.F16, DType.BF16, DType.I32, DType.I64)) {
            cases.add(new Arithmetic(new Case(g, List.of(a), Ops.cast(a, to)), true));
        }
        for (DType from : List.of(DType.F32, DType.F16, DType.BF16)) {
            Graph h = new Graph("narrow");
            Value x = h.input("x", Shape.of(n), from);
            for (DType to : List.of(DType.F64, DType.I32, DType.I64)) {
                cases.add(new Arithmetic(new Case(h, List.of(x), Ops.cast(x, to)), true));
            }
        }
        for (DType t : List.of(DType.I32, DType.I64)) {
            int m = INTEGERS.length;
            Graph h = new Graph("int");
            Value x = h.input("x", Shape.of(m, 1), t);
            Value y = h.input("y", Shape.of(1, m), t);
            for (Op op : INTEGER_UNARY) {
                cases.add(new Arithmetic(new Case(h, List.of(x), OpBuilders.unary(op, x)), true));
            }
            for (Op op : INTEGER_BINARY) {
                cases.add(new Arithmetic(new Case(h, List.of(x, y), OpBuilders.binary(op, x, y)), true));
            }
            Value select = h.input("select", Shape.of(1, m), DType.BOOL);
            cases.add(new Arithmetic(new Case(h, List.of(select, x, y), Ops.where(select, x, y)), true));
            for (DType to : List.of(DType.F64, t == DType.I32 ? DType.I64 : DType.I32)) {
                cases.add(new Arithmetic(new Case(h, List.of(x), Ops.cast(x, to)), true));
            }
            Graph bools = new Graph("bool");
            Value mask = bools.input("mask", Shape.of(4), DType.BOOL);
            cases.add(new Arithmetic(new Case(bools, List.of(mask), Ops.cast(mask, t)), true));
        }
        return cases;
    }


    @Test
    void onTheHostF64AndIntegerArithmeticAndCastsGiveTheCpuBackendsValues() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        List<Arithmetic> cases = arithmetic();
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Arithmetic a : cases) {
            references.add(CpuReference.reference(a.c().graph(), a.c().inputs(), a.c().out(), WideElementwiseCodegen.generate(a.c().out().node()),
                    (in, i) -> in.dtype() == DType.BOOL ? i % 2 : in.dtype().isFloating() ? SPECIAL[i] : INTEGERS[i]));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            double[] expected = references.get(k).expected();
            String name = cases.get(k).c().out().node().toString();
            if (cases.get(k).exact()) {
                assertArrayEquals(expected, actual.get(k), name);
            } else {
                for (int i = 0; i < expected.length; i++) {
                    double e = expected[i];
                    double g = actual.get(k)[i];
                    // the CUDA math library within a few ulp; the CPU's erf is a rational approximation good to about 1e-15
                    boolean ok = Double.isNaN(e) ? Double.isNaN(g) : e == g || Math.abs(e - g) <= Math.max(4 * Math.ulp(e), 1e-14 * Math.abs(e));
                    assertTrue(ok, name + " element " + i + ": cpu " + e + ", generated " + g);
                }
            }
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        List<GeneratedKernel> kernels = new ArrayList<>(cases().stream().map(c -> WideElementwiseCodegen.generate(c.out().node())).toList());
        arithmetic().forEach(a -> kernels.add(WideElementwiseCodegen.generate(a.c().out().node())));
        ElementwiseCodegenTest.compileForEveryArchitecture("wide", kernels);
    }
}
