package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.testing.Bits;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Dropout's draw fused with what surrounds it: {@code residual + dropout(x + bias)} is one CPU
 * kernel that draws the random numbers in registers ({@link CpuFusedElementwise}'s RANDOM_UNIFORM
 * instruction), and its results are bit-identical to the unfused program's, which stores the
 * draw ({@link CpuSources}): odd sizes, rows of more than one tile, a broadcast bias, counter
 * offsets that do not start on a Philox block or that wrap past 2^64, F32, F16 and BF16
 * activations, a draw inside a group that ends in a reduction, and a training step's gradients.
 */
class CpuFusedDropoutTest {
    private static final long[] OFFSETS = {0, 3, 1_000_001, -2};

    @Test
    void biasDropoutResidualIsOneKernelWithTheUnfusedBits() {
        int[][] shapes = {{1, 7}, {3, 37}, {5, 1000}, {2, 3, 700}, {1301}};
        for (int[] dims : shapes) {
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                Graph g = new Graph("bias-dropout-residual");
                Shape shape = Shape.of(dims);
                Value x = g.input("x", shape, t);
                Value bias = g.input("bias", Shape.of(dims[dims.length - 1]), t);
                Value residual = g.input("residual", shape, t);
                Value offset = g.input("offset", Shape.scalar(), DType.I64);
                Value y = Ops.add(residual, Functional.dropout(Ops.add(x, bias), 0.3, true, offset, 1234, 5));
                try (Program p = Executor.cpu().compile(g, List.of(y))) {
                    String where = t + " " + shape + "\n" + p.listing();
                    assertEquals(1, p.fusedGroups().size(), where);
                    FusedGroup group = p.fusedGroups().getFirst();
                    assertTrue(group.members().stream().anyMatch(m -> m.op() == Op.RANDOM_UNIFORM), where);
                    assertTrue(group.name().contains("random_uniform"), where);
                    List<String> fusedCalls = p.listing().lines().filter(l -> l.contains(": fused(")).toList();
                    assertEquals(1, fusedCalls.size(), where);
                    assertTrue(fusedCalls.getFirst().contains("random_uniform"), where);
                    assertEquals(List.of(y), group.outputs(), "nothing but the result is stored: " + where);
                    for (Node n : p.unfusedKernelNodes()) {
                        assertEquals(Op.CONSTANT, n.op(), "only constants run outside the fused kernel: " + where);
                    }
                }
                for (long offsetValue : OFFSETS) {
                    check(g, List.of(y), offset, offsetValue);
                }
            }
        }
    }

    @Test
    void aDrawTheGroupDoesNotReadEntirelyStaysAKernelOfItsOwn() {
        Graph g = new Graph("shared-draw");
        Value x = g.input("x", Shape.of(4, 33), DType.F32);
        Value offset = g.input("offset", Shape.scalar(), DType.I64);
        Value u = Ops.randomUniform(offset, Shape.of(4, 33), 7, 1);
        Value y = Ops.mul(x, u);
        // the draw is also returned, so it must be stored: it stays random_uniform's own kernel
        try (Program p = Executor.cpu().compile(g, List.of(y, u))) {
            assertTrue(p.unfusedKernelNodes().stream().anyMatch(n -> n.op() == Op.RANDOM_UNIFORM), p.listing());
        }
        check(g, List.of(y, u), offset, 5);
        // a draw broadcast to the group's shape is not of the domain's shape: not fused either
        Graph b = new Graph("broadcast-draw");
        Value xb = b.input("x", Shape.of(4, 33), DType.F32);
        Value ob = b.input("offset", Shape.scalar(), DType.I64);
        Value yb = Ops.add(Ops.mul(xb, Ops.randomUniform(ob, Shape.of(33), 7, 1)), xb);
        try (Program p = Executor.cpu().compile(b, List.of(yb))) {
            assertFalse(p.fusedGroups().stream().anyMatch(f -> f.members().stream().anyMatch(m -> m.op() == Op.RANDOM_UNIFORM)), p.listing());
        }
        check(b, List.of(yb), ob, 9);
    }

    @Test
    void aDrawInsideAGroupThatEndsInAReduction() {
        Graph g = new Graph("dropout-sum");
        Value x = g.input("x", Shape.of(6, 777), DType.F32);
        Value b = g.input("b", Shape.of(777), DType.F32); // broadcast: the domain's rows stay rows
        Value offset = g.input("offset", Shape.scalar(), DType.I64);
        Value s = Ops.sum(Functional.dropout(Ops.exp(Ops.add(x, b)), 0.5, true, offset, 99, 2), false, 1);
        try (Program p = Executor.cpu().withReductionFusion(true).compile(g, List.of(s))) {
            assertTrue(p.fusedGroups().stream().anyMatch(f -> f.reduction() && f.name().contains("random_uniform")), p.listing());
        }
        for (long offsetValue : OFFSETS) {
            check(g, List.of(s), offset, offsetValue);
        }
    }

    @Test
    void aTrainingStepThroughDropoutHasTheUnfusedGradients() {
        Graph g = new Graph("dropout-step");
        Value x = g.input("x", Shape.of(9, 40), DType.F32);
        Value w = g.input("w", Shape.of(40, 70), DType.F32);
        Value bias = g.input("bias", Shape.of(70), DType.F32);
        Value residual = g.input("residual", Shape.of(9, 70), DType.F32);
        Value offset = g.input("offset", Shape.scalar(), DType.I64);
        Value h = Ops.add(residual, Functional.dropout(Ops.add(Ops.matmul(x, w), bias), 0.25, true, offset, 31, 0));
        Value loss = Ops.sum(Ops.mul(h, h), false);
        List<Value> outputs = new ArrayList<>(List.of(loss));
        outputs.addAll(Autodiff.grad(loss, List.of(w, bias, residual)));
        try (Program p = Executor.cpu().compile(g, outputs)) {
            assertTrue(p.fusedGroups().stream().anyMatch(f -> f.name().contains("random_uniform")), p.listing());
        }
        check(g, outputs, offset, 17);
    }

    /** Runs {@code outputs} with and without fusion on the same random inputs and counter offset and compares bits. */
    private static void check(Graph g, List<Value> outputs, Value offset, long offsetValue) {
        Map<Value, Tensor> feeds = new HashMap<>();
        SplittableRandom random = new SplittableRandom(offsetValue * 31 + g.inputs().size());
        for (Value in : g.inputs()) {
            if (in == offset) {
                feeds.put(in, Tensor.ofLongs(new long[] {offsetValue}));
                continue;
            }
            double[] v = new double[(int) in.shape().numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = random.nextGaussian() * 2;
            }
            feeds.put(in, Tensor.of(v, in.dtype(), in.shape().dims()));
        }
        try (Program fused = Executor.cpu().withReductionFusion(true).compile(g, outputs);
             Program plain = Executor.cpu().withFusion(false).compile(g, outputs)) {
            List<Tensor> a = fused.run(feeds);
            List<Tensor> b = plain.run(feeds);
            for (int k = 0; k < outputs.size(); k++) {
                assertArrayEquals(Bits.of(b.get(k)), Bits.of(a.get(k)),
                        "output " + k + " (" + outputs.get(k) + ") at offset " + offsetValue + " of\n" + fused.listing());
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }
}
