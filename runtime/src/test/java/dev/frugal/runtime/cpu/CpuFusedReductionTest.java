package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.testing.Bits;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.NonFiniteException;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Groups that end in a reduction ({@link CpuFusedReduction}, planned with
 * {@code Executor.withReductionFusion(true)}) compute the same bits as the unfused program, on every path of the CPU's reduction: rows shorter than a vector, rows with a
 * tail, rows longer than one chunk, the split partials of a few very long rows, column blocks
 * (more than one per row), the [A, R1, K, R2] channel statistic; sums, maxima and minima; half
 * precision values summed into float32; members stored by the same pass; and the non-finite
 * check with the same message.
 */
class CpuFusedReductionTest {

    @Test
    void rowReductionsOfEveryLengthMatchTheUnfusedProgram() {
        for (int r : new int[] {1, 3, 7, 8, 17, 1000, 2048, 2049, 5000}) {
            for (Op op : new Op[] {Op.REDUCE_SUM, Op.REDUCE_MAX, Op.REDUCE_MIN}) {
                check(new int[] {5, r}, g -> {
                    Value x = g.input("x", Shape.of(5, r), DType.F32);
                    Value b = g.input("b", Shape.of(r), DType.F32);
                    return List.of(reduce(op, Ops.mul(Ops.sigmoid(Ops.sub(x, b)), x), 1));
                }, true);
            }
        }
    }

    @Test
    void fewVeryLongRowsAreSplitIntoTheSamePartials() {
        // a < 8 rows of at least 4 * 16384 elements: CpuReduce's fixed split
        check(new int[] {2, 70_001}, g -> {
            Value x = g.input("x", Shape.of(2, 70_001), DType.F32);
            return List.of(Ops.sum(Ops.mul(x, x), false, 1));
        }, true);
        check(new int[] {140_003}, g -> {
            Value x = g.input("x", Shape.of(140_003), DType.F32);
            return List.of(Ops.max(Ops.abs(x), false));
        }, true);
    }

    @Test
    void columnReductionsMatchTheUnfusedProgram() {
        for (int k : new int[] {1 + 2, 5, 256, 300, 600}) {
            check(new int[] {37, k}, g -> {
                Value dy = g.input("dy", Shape.of(37, k), DType.F32);
                Value pre = g.input("pre", Shape.of(37, k), DType.F32);
                // a bias gradient through a ReLU: sum over the batch of dy * (pre > 0)
                Value masked = Ops.where(Ops.gt(pre, Ops.constant(g, 0, DType.F32)), dy, Ops.constant(g, 0, DType.F32));
                return List.of(Ops.sum(masked, false, 0), Ops.min(Ops.add(dy, pre), true, 0));
            }, true);
        }
        // [A, R, K] with a leading kept axis
        check(new int[] {3, 11, 40}, g -> {
            Value x = g.input("x", Shape.of(3, 11, 40), DType.F32);
            return List.of(Ops.sum(Ops.neg(x), false, 1));
        }, true);
    }

    @Test
    void channelStatisticsMatchTheUnfusedProgram() {
        // batch norm's variance: sum over N, H, W of (x - mean)^2, with the centred value stored for later
        check(new int[] {4, 6, 9, 9}, g -> {
            Value x = g.input("x", Shape.of(4, 6, 9, 9), DType.F32);
            Value mean = g.input("mean", Shape.of(1, 6, 1, 1), DType.F32);
            Value d = Ops.sub(x, mean);
            Value var = Ops.sum(Ops.mul(d, d), true, 0, 2, 3);
            return List.of(Ops.mul(d, Ops.rsqrt(Ops.add(var, Ops.constant(g, 1e-5, DType.F32)))));
        }, true);
        check(new int[] {2, 3, 5, 7, 4}, g -> {
            Value x = g.input("x", Shape.of(2, 3, 5, 7, 4), DType.F32);
            return List.of(Ops.max(Ops.relu(x), false, 1, 3, 4));
        }, true);
    }

    @Test
    void halfPrecisionValuesSumIntoFloat32() {
        for (DType half : new DType[] {DType.F16, DType.BF16}) {
            check(new int[] {6, 133}, g -> {
                Value x = g.input("x", Shape.of(6, 133), DType.F32);
                Value h = Ops.mul(Ops.cast(x, half), Ops.cast(x, half));
                Value s = Ops.sum(h, false, 1);
                // the mixed-precision sum the autocast pass makes: half in, float32 out
                Value wide = g.add(Op.REDUCE_SUM, List.of(h), s.node().attrs(), s.shape(), DType.F32);
                return List.of(wide, Ops.sum(Ops.cast(h, DType.F32), false, 0));
            }, true);
        }
    }

    @Test
    void softmaxStoresItsExponentialsFromTheSumsPass() {
        Graph g = new Graph("softmax");
        Value x = g.input("x", Shape.of(64, 10), DType.F32);
        Value y = Functional.softmax(x, 1);
        try (Program p = Executor.cpu().withReductionFusion(true).compile(g, List.of(y))) {
            FusedGroup sum = p.fusedGroups().stream().filter(FusedGroup::reduction).findFirst().orElseThrow(() -> new AssertionError(p.listing()));
            assertEquals("fused(sub,exp,reduce_sum)", sum.name(), p.listing());
            assertEquals(2, sum.outputs().size(), "the sum and the exponentials: " + sum.outputs());
            assertEquals(Op.EXP, sum.outputs().get(1).node().op());
        }
        check(new int[] {64, 10}, gr -> List.of(Functional.softmax(gr.input("x", Shape.of(64, 10), DType.F32), 1)), true);
        check(new int[] {8, 1000}, gr -> List.of(Functional.logSoftmax(gr.input("x", Shape.of(8, 1000), DType.F32), 1)), true);
    }

    @Test
    void reductionsTheCpuDoesNotFuseStayUnfused() {
        // reduced axes 0 and 2 of four with the last kept: CpuReduce's general odometer path
        Graph g = new Graph("general");
        Value x = g.input("x", Shape.of(3, 4, 5, 6), DType.F32);
        Value s = Ops.sum(Ops.exp(x), false, 0, 2);
        // a half-precision result and an argmax
        Value h = Ops.sum(Ops.cast(Ops.exp(x), DType.F16), false, 3);
        Value a = Ops.argmax(Ops.exp(x), 3, false);
        try (Program p = Executor.cpu().withReductionFusion(true).compile(g, List.of(s, h, a))) {
            assertFalse(p.fusedGroups().stream().anyMatch(FusedGroup::reduction), p.listing());
        }
        check(new int[] {3, 4, 5, 6}, gr -> {
            Value v = gr.input("x", Shape.of(3, 4, 5, 6), DType.F32);
            return List.of(Ops.sum(Ops.mul(v, v), false, 1), Ops.sum(Ops.exp(v), false, 0, 2));
        }, true);
    }

    @Test
    void aNonFiniteFusedSumThrowsTheSameMessage() {
        Graph g = new Graph("nan");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value y = Ops.sum(Ops.log(x), false, 1);
        try (Program fused = Executor.cpu().withReductionFusion(true).compile(g, List.of(y));
             Program plain = Executor.cpu().withFusion(false).compile(g, List.of(y));
             Tensor bad = Tensor.of(new float[] {1, 2, 3, 4, -1, 6}, 2, 3)) {
            assertTrue(fused.fusedGroups().getFirst().reduction(), fused.listing());
            var e1 = assertThrows(NonFiniteException.class, () -> fused.run(Map.of(x, bad)));
            var e2 = assertThrows(NonFiniteException.class, () -> plain.run(Map.of(x, bad)));
            assertEquals(e2.getMessage(), e1.getMessage());
            assertEquals(4, e1.inputIndex(), e1.getMessage());
        }
    }

    @Test
    void theCpusOwnRunsLeaveReductionsUnfusedUnlessAsked() {
        Graph g = new Graph("default");
        Value x = g.input("x", Shape.of(8, 100), DType.F32);
        Value s = Ops.sum(Ops.mul(x, x), false, 1);
        try (Program p = Executor.cpu().compile(g, List.of(s))) {
            assertFalse(p.fusedGroups().stream().anyMatch(FusedGroup::reduction), p.listing());
        }
        try (Program p = Executor.cpu().withReductionFusion(true).compile(g, List.of(s))) {
            assertTrue(p.fusedGroups().stream().anyMatch(FusedGroup::reduction), p.listing());
        }
    }

    @Test
    void layerNormComputesItsVarianceInTheCentringPass() {
        Graph g = new Graph("layer-norm");
        Value x = g.input("x", Shape.of(32, 64), DType.F32);
        Value y = layerNorm(x);
        try (Program p = Executor.cpu().withReductionFusion(true).compile(g, List.of(y))) {
            List<String> reductions = p.fusedGroups().stream().filter(FusedGroup::reduction).map(FusedGroup::name).toList();
            // x - mean, its square and their sum in one pass that stores x - mean for the normalisation
            assertTrue(reductions.contains("fused(sub,mul,reduce_sum)"), reductions + "\n" + p.listing());
            FusedGroup variance = p.fusedGroups().stream().filter(f -> f.name().equals("fused(sub,mul,reduce_sum)")).findFirst().orElseThrow();
            assertEquals(Op.SUB, variance.outputs().get(1).node().op(), variance.outputs().toString());
        }
        check(new int[] {32, 64}, gr -> List.of(layerNorm(gr.input("x", Shape.of(32, 64), DType.F32))), true);
    }

    // ------------------------------------------------------------------ helpers

    /** Layer normalisation over the last axis as primitives: the composition a fused pass sees. */
    private static Value layerNorm(Value x) {
        Value mean = Ops.mean(x, true, 1);
        Value d = Ops.sub(x, mean);
        Value var = Ops.mean(Ops.mul(d, d), true, 1);
        return Ops.mul(d, Ops.rsqrt(Ops.add(var, Ops.constant(x.graph(), 1e-5, DType.F32))));
    }

    private static Value reduce(Op op, Value x, int axis) {
        return switch (op) {
            case REDUCE_SUM -> Ops.sum(x, false, axis);
            case REDUCE_MAX -> Ops.max(x, false, axis);
            default -> Ops.min(x, false, axis);
        };
    }

    /**
     * Compiles the graph {@code build} makes with and without fusion, runs both on the same random
     * inputs and compares bits; with {@code expectReduction}, the fused program must have a group
     * that ends in a reduction.
     */
    private static void check(int[] dims, Function<Graph, List<Value>> build, boolean expectReduction) {
        Graph g = new Graph("fused-reduction");
        List<Value> outputs = build.apply(g);
        Map<Value, Tensor> feeds = new HashMap<>();
        SplittableRandom random = new SplittableRandom(dims.length * 31L + dims[0]);
        for (Value in : g.inputs()) {
            float[] v = new float[(int) in.shape().numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (random.nextGaussian() * 2);
            }
            feeds.put(in, Tensor.of(v, in.shape().dims()));
        }
        try (Program fused = Executor.cpu().withReductionFusion(true).compile(g, outputs);
             Program plain = Executor.cpu().withFusion(false).compile(g, outputs)) {
            if (expectReduction) {
                assertTrue(fused.fusedGroups().stream().anyMatch(FusedGroup::reduction), () -> "no fused reduction:\n" + fused.listing());
            }
            List<Tensor> a = fused.run(feeds);
            List<Tensor> b = plain.run(feeds);
            for (int k = 0; k < outputs.size(); k++) {
                assertArrayEquals(Bits.of(b.get(k)), Bits.of(a.get(k)), "output " + k + " (" + outputs.get(k) + ") of\n" + fused.listing());
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }
}
