package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.testing.Bits;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.OpBuilders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused CPU kernel computes exactly what the unfused kernels compute, op by op: every
 * fusible op runs inside a group over inputs full of special values (NaN, infinities, signed
 * zeros, subnormals, huge and tiny numbers), with broadcast operands, on shapes whose rows are
 * not multiples of the tile or the vector length, and the outputs are compared bit for bit with
 * the same graph compiled without fusion.
 */
class CpuFusedElementwiseTest {
    /** Rows of 1000 (not a multiple of the 512-element tile) and 7 rows of 13 (shorter than a vector). */
    private static final List<int[]> SHAPES = List.of(new int[] {3, 5, 1000}, new int[] {7, 13}, new int[] {1});

    @ParameterizedTest
    @EnumSource(value = Op.class, names = {"NEG", "EXP", "LOG", "SQRT", "RSQRT", "RECIPROCAL", "ABS", "SIGN", "RELU",
            "SIGMOID", "TANH", "ERF", "ROUND"})
    void unaryOpsMatchTheUnfusedKernel(Op op) {
        for (int[] dims : SHAPES) {
            // u(x) * b: the unary op is a non-last member, then the product is stored
            check(dims, g -> {
                Value x = g.input("x", Shape.of(dims), DType.F32);
                Value b = g.input("b", Shape.of(dims[dims.length - 1]), DType.F32);
                return List.of(Ops.mul(unary(op, x), b));
            });
        }
    }

    @ParameterizedTest
    @EnumSource(value = Op.class, names = {"ADD", "SUB", "MUL", "DIV", "POW", "MAXIMUM", "MINIMUM"})
    void binaryOpsMatchTheUnfusedKernel(Op op) {
        for (int[] dims : SHAPES) {
            check(dims, g -> {
                Value x = g.input("x", Shape.of(dims), DType.F32);
                Value y = g.input("y", Shape.of(dims), DType.F32);
                Value row = g.input("row", Shape.of(dims[dims.length - 1]), DType.F32);
                Value s = g.input("s", Shape.of(), DType.F32);
                // same-shape, broadcast-row and broadcast-scalar operands on either side
                Value a = binary(op, x, y);
                Value b = binary(op, row, a);
                Value c = binary(op, b, s);
                return List.of(Ops.neg(c));
            });
        }
    }

    @ParameterizedTest
    @EnumSource(value = Op.class, names = {"LT", "LE", "GT", "GE", "EQ", "NE"})
    void comparisonsSelectsAndBooleanOutputsMatchTheUnfusedKernel(Op op) {
        for (int[] dims : SHAPES) {
            check(dims, g -> {
                Value x = g.input("x", Shape.of(dims), DType.F32);
                Value y = g.input("y", Shape.of(dims), DType.F32);
                Value zero = Ops.constant(g, 0.0, DType.F32);
                Value mask = compare(op, x, y);
                Value selected = Ops.where(mask, Ops.abs(x), zero);         // F32 root over a BOOL member
                Value notMask = Ops.not(compare(op, y, zero));               // BOOL root
                Value castBack = Ops.mul(Ops.cast(compare(op, x, zero), DType.F32), y); // BOOL -> F32 cast
                Value toBool = Ops.not(Ops.cast(Ops.sub(x, y), DType.BOOL));  // F32 -> BOOL cast (NaN is true)
                return List.of(selected, notMask, castBack, toBool);
            });
        }
    }

    @Test
    void booleanInputsAndExpandedOperandsAreReadAsBroadcasts() {
        int[] dims = {4, 6, 37};
        check(dims, g -> {
            Value x = g.input("x", Shape.of(dims), DType.F32);
            Value keep = g.input("keep", Shape.of(dims), DType.BOOL);
            Value perChannel = g.input("c", Shape.of(1, 6, 1), DType.F32);
            Value expanded = Ops.expand(perChannel, Shape.of(dims));
            Value y = Ops.add(Ops.mul(expanded, x), Ops.where(keep, x, expanded));
            return List.of(y);
        });
    }

    @Test
    void groupsStoreEveryValueNeededAfterThemInTheSamePass() {
        int[] dims = {5, 3, 700};
        // batch norm's affine step and its ReLU, both kept (the backward pass reads the
        // pre-activation), and a mask stored as BOOL beside them
        check(dims, g -> {
            Value x = g.input("x", Shape.of(dims), DType.F32);
            Value scale = g.input("scale", Shape.of(1, 3, 1), DType.F32);
            Value bias = g.input("bias", Shape.of(1, 3, 1), DType.F32);
            Value pre = Ops.add(Ops.mul(x, scale), bias);
            Value mask = Ops.gt(pre, Ops.constant(g, 0.0, DType.F32));
            Value y = Ops.where(mask, Ops.relu(pre), Ops.neg(pre));
            return List.of(y, pre, mask);
        });
        Graph g = new Graph("stores");
        Value x = g.input("x", Shape.of(8, 100), DType.F32);
        Value pre = Ops.mul(x, x);
        Value y = Ops.relu(pre);
        try (Program p = Executor.cpu().compile(g, List.of(y, pre))) {
            assertEquals(1, p.stepCount(), p.listing());
            assertTrue(p.listing().contains("fused(mul,relu)") && p.listing().contains("stores " + pre.ref()), p.listing());
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void halfPrecisionMembersRoundLikeTheirOwnKernels(DType half) {
        for (int[] dims : SHAPES) {
            check(dims, g -> {
                Value x = Ops.cast(g.input("x", Shape.of(dims), DType.F32), half);       // narrowing cast member
                Value y = Ops.cast(g.input("y", Shape.of(dims), DType.F32), half);
                Value row = g.input("row", Shape.of(dims[dims.length - 1]), DType.F32);
                Value rowHalf = Ops.cast(row, half);
                Value a = Ops.div(Ops.add(Ops.mul(x, y), rowHalf), Ops.sub(y, x));      // each member rounds to the half type
                Value b = Ops.maximum(Ops.sqrt(Ops.abs(a)), Ops.minimum(Ops.reciprocal(x), Ops.relu(Ops.neg(y))));
                Value mask = Ops.lt(a, b);
                Value selected = Ops.where(mask, a, b);
                Value wide = Ops.mul(Ops.cast(selected, DType.F32), row);              // widening cast is exact
                Value other = Ops.cast(Ops.cast(a, half == DType.F16 ? DType.BF16 : DType.F16), half); // half to half rounds
                Value bool = Ops.cast(Ops.sub(x, y), DType.BOOL);
                Value rounded = Ops.round(Ops.mul(a, rowHalf));                          // exact in half precision too
                return List.of(selected, wide, other, bool, rounded);
            });
        }
        // a half group fuses the casts around it: one pass from the float32 inputs to the float32 output
        Graph g = new Graph("half-chain");
        Value x = g.input("x", Shape.of(8, 100), DType.F32);
        Value h = Ops.cast(x, half);
        Value y = Ops.cast(Ops.relu(Ops.add(Ops.mul(h, h), h)), DType.F32);
        try (Program p = Executor.cpu().compile(g, List.of(Ops.mul(y, x)))) {
            assertEquals(1, p.stepCount(), p.listing());
        }
    }

    @Test
    void aChainBecomesOneKernelCall() {
        Graph g = new Graph("chain");
        Value x = g.input("x", Shape.of(8, 100), DType.F32);
        Value b = g.input("b", Shape.of(100), DType.F32);
        Value y = Ops.relu(Ops.add(Ops.mul(x, x), b));
        try (Program p = Executor.cpu().compile(g, List.of(y))) {
            assertEquals(1, p.stepCount(), p.listing());
            assertEquals(1, p.fusedCount());
            assertTrue(p.listing().contains("fused(mul,add,relu)"), p.listing());
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Compiles the graph {@code build} makes with and without fusion, runs both on the same
     * special-valued inputs, and compares bits, except that every NaN compares equal to every
     * other: IEEE leaves the sign and payload of a NaN an operation creates unspecified, and the
     * JIT's choice of instruction (scalar or vector, AVX2 or AVX-512, float32 or double) decides
     * them, so they differ between the fused and unfused loops on some CPUs and not on others.
     */
    private static void check(int[] dims, Function<Graph, List<Value>> build) {
        Graph g = new Graph("fused-" + dims.length);
        List<Value> outputs = build.apply(g);
        Map<Value, Tensor> feeds = new HashMap<>();
        SplittableRandom random = new SplittableRandom(dims.length * 31L + dims[0]);
        for (Value in : g.inputs()) {
            int n = (int) in.shape().numel();
            if (in.dtype() == DType.BOOL) {
                double[] v = new double[n];
                for (int i = 0; i < n; i++) {
                    v[i] = random.nextBoolean() ? 1 : 0;
                }
                feeds.put(in, Tensor.of(v, DType.BOOL, in.shape().dims()));
            } else {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = special(random);
                }
                feeds.put(in, Tensor.of(v, in.shape().dims()));
            }
        }
        try (Program fused = Executor.cpu().compile(g, outputs);
             Program plain = Executor.cpu().withFusion(false).compile(g, outputs)) {
            assertTrue(fused.fusedCount() > 0, () -> "nothing fused:\n" + fused.listing());
            List<Tensor> a = fused.run(feeds);
            List<Tensor> b = plain.run(feeds);
            for (int k = 0; k < outputs.size(); k++) {
                assertArrayEquals(Bits.of(b.get(k)), Bits.of(a.get(k)), "output " + k + " (" + outputs.get(k) + ") of\n" + fused.listing());
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    private static final float[] SPECIALS = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f,
            Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f, 0.5f, 2f, 88.7f, -104f};

    /** Mostly ordinary values in [-4, 4), one in eight drawn from {@link #SPECIALS}. */
    private static float special(SplittableRandom r) {
        return r.nextInt(8) == 0 ? SPECIALS[r.nextInt(SPECIALS.length)] : (float) (r.nextDouble() * 8 - 4);
    }

    private static Value unary(Op op, Value x) {
        return op == Op.ROUND
                ? Ops.round(Ops.mul(x, Ops.constant(x.graph(), 7.5, x.dtype()))) // spread over many integers and ties
                : OpBuilders.unary(op, x);
    }

    private static Value binary(Op op, Value a, Value b) {
        return OpBuilders.binary(op, a, b);
    }

    private static Value compare(Op op, Value a, Value b) {
        return switch (op) {
            case LT -> Ops.lt(a, b);
            case LE -> Ops.le(a, b);
            case GT -> Ops.gt(a, b);
            case GE -> Ops.ge(a, b);
            case EQ -> Ops.eq(a, b);
            case NE -> Ops.ne(a, b);
            default -> throw new IllegalArgumentException(op.toString());
        };
    }
}
