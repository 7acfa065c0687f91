package dev.frugal.runtime.exec;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.memory.MemoryStats;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The memory planner end to end on the CPU: the plan's prediction is what the memory manager
 * measures, checkpointed programs compute bit-identical gradients (through dropout and batch
 * norm, whose running statistics are updated once), budgets are met or refused before anything
 * is allocated.
 */
class MemoryPlannerTest {

    /** A training step traced into a graph: inputs, bound tensors, and what the step returns. */
    private record Step(Graph graph, List<Value> outputs, Map<Value, Tensor> bound, Map<Value, Tensor> feeds) implements AutoCloseable {
        @Override
        public void close() {
            bound.values().forEach(Tensor::close);
            feeds.values().forEach(Tensor::close);
        }

        Step copyBound() {
            Map<Value, Tensor> copies = new HashMap<>();
            bound.forEach((v, t) -> copies.put(v, t.contiguous()));
            Map<Value, Tensor> feedCopies = new HashMap<>();
            feeds.forEach((v, t) -> feedCopies.put(v, t.contiguous()));
            return new Step(graph, outputs, copies, feedCopies);
        }
    }

    private static Tensor random(Random r, double scale, int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return Tensor.of(v, dims);
    }

    private static Tensor labels(Random r, int batch, int classes) {
        int[] l = new int[batch];
        for (int i = 0; i < batch; i++) {
            l[i] = r.nextInt(classes);
        }
        return Tensor.ofInts(l, batch);
    }

    /**
     * A residual MLP (x + W2 relu(W1 x) per block, optional dropout), cross-entropy, its gradients,
     * and an SGD update of every weight: the program returns the loss, and the updated weights
     * (bit-identical only if every gradient is) are what the tests compare.
     */
    private static Step residualMlp(int batch, int width, int depth, boolean dropout, long seed) {
        Random r = new Random(seed);
        Graph g = new Graph("residual-mlp");
        Value x = g.input("x", Shape.of(batch, width), DType.F32);
        Value y = g.input("y", Shape.of(batch), DType.I32);
        Map<Value, Tensor> bound = new HashMap<>();
        Value counter = null;
        if (dropout) {
            counter = g.state("rng", Shape.scalar(), DType.I64);
            bound.put(counter, Tensor.zeros(Shape.scalar(), DType.I64));
        }
        List<Value> params = new ArrayList<>();
        Value h = x;
        for (int i = 0; i < depth; i++) {
            Value w1 = g.parameter("w1_" + i, Shape.of(width, width), DType.F32);
            Value w2 = g.parameter("w2_" + i, Shape.of(width, width), DType.F32);
            bound.put(w1, random(r, 1.0 / Math.sqrt(width), width, width));
            bound.put(w2, random(r, 0.5 / Math.sqrt(width), width, width));
            params.add(w1);
            params.add(w2);
            Value a = Ops.relu(Functional.linear(h, w1, null));
            if (dropout) {
                a = Functional.dropout(a, 0.2, true, counter, 1234, i);
            }
            h = Ops.add(h, Functional.linear(a, w2, null));
        }
        Value loss = Functional.crossEntropy(h, y);
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Ops.assign(params.get(i), Ops.sub(params.get(i), Ops.mul(grads.get(i), Ops.constant(g, 0.01, DType.F32))));
        }
        if (dropout) {
            Ops.assign(counter, Ops.add(counter, Ops.constant(g, (double) batch * width * depth, DType.I64)));
        }
        List<Value> outputs = List.of(loss);
        Map<Value, Tensor> feeds = new HashMap<>();
        feeds.put(x, random(r, 1.0, batch, width));
        feeds.put(y, labels(r, batch, width));
        return new Step(g, outputs, bound, feeds);
    }

    /**
     * A small CNN with batch norm in training mode (running statistics assigned), and an SGD
     * update of its weights; the program returns the loss.
     */
    private static Step batchNormCnn(int batch, long seed) {
        Random r = new Random(seed);
        Graph g = new Graph("bn-cnn");
        Value x = g.input("x", Shape.of(batch, 3, 12, 12), DType.F32);
        Value y = g.input("y", Shape.of(batch), DType.I32);
        Map<Value, Tensor> bound = new HashMap<>();
        List<Value> params = new ArrayList<>();
        Value h = x;
        int channels = 3;
        for (int i = 0; i < 3; i++) {
            int out = 8;
            Value w = g.parameter("conv" + i, Shape.of(out, channels, 3, 3), DType.F32);
            bound.put(w, random(r, 0.3, out, channels, 3, 3));
            params.add(w);
            h = Ops.conv2d(h, w, new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 1));
            Value mean = g.state("bn" + i + ".mean", Shape.of(out), DType.F32);
            Value var = g.state("bn" + i + ".var", Shape.of(out), DType.F32);
            bound.put(mean, Tensor.zeros(Shape.of(out), DType.F32));
            bound.put(var, Tensor.full(Shape.of(out), DType.F32, 1.0));
            Functional.BatchNormResult bn = Functional.batchNorm2dTrain(h, null, null, mean, var, 0.1, 1e-5);
            Ops.assign(mean, bn.runningMean());
            Ops.assign(var, bn.runningVar());
            h = Ops.relu(bn.output());
            channels = out;
        }
        Value logits = Functional.linear(Functional.flatten(h), param(g, bound, params, r, "fc", 10, channels * 12 * 12), null);
        Value loss = Functional.crossEntropy(logits, y);
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Ops.assign(params.get(i), Ops.sub(params.get(i), Ops.mul(grads.get(i), Ops.constant(g, 0.01, DType.F32))));
        }
        List<Value> outputs = List.of(loss);
        Map<Value, Tensor> feeds = new HashMap<>();
        feeds.put(x, random(r, 1.0, batch, 3, 12, 12));
        feeds.put(y, labels(r, batch, 10));
        return new Step(g, outputs, bound, feeds);
    }

    /**
     * Residual single-head self-attention blocks over {@code [batch, tokens, width]}: each block
     * adds {@code softmax(q k^T / sqrt(width)) v Wo} to its input, then a mean over tokens feeds
     * a classifier; an SGD update of every weight. Skip connections and attention both cross the
     * planner's cuts.
     */
    private static Step attention(int batch, int tokens, int width, int depth, long seed) {
        Random r = new Random(seed);
        Graph g = new Graph("attention");
        Value x = g.input("x", Shape.of(batch, tokens, width), DType.F32);
        Value y = g.input("y", Shape.of(batch), DType.I32);
        Map<Value, Tensor> bound = new HashMap<>();
        List<Value> params = new ArrayList<>();
        Value h = x;
        for (int i = 0; i < depth; i++) {
            Value q = Functional.linear(h, param(g, bound, params, r, "wq" + i, width, width), null);
            Value k = Functional.linear(h, param(g, bound, params, r, "wk" + i, width, width), null);
            Value v = Functional.linear(h, param(g, bound, params, r, "wv" + i, width, width), null);
            Value scores = Ops.mul(Ops.matmul(q, k, false, true), Ops.constant(g, 1.0 / Math.sqrt(width), DType.F32));
            Value attended = Ops.matmul(Functional.softmax(scores, -1), v);
            h = Ops.add(h, Functional.linear(attended, param(g, bound, params, r, "wo" + i, width, width), null));
        }
        Value pooled = Functional.mean(h, false, 1);
        Value loss = Functional.crossEntropy(Functional.linear(pooled, param(g, bound, params, r, "head", 10, width), null), y);
        List<Value> grads = Autodiff.grad(loss, params);
        for (int i = 0; i < params.size(); i++) {
            Ops.assign(params.get(i), Ops.sub(params.get(i), Ops.mul(grads.get(i), Ops.constant(g, 0.01, DType.F32))));
        }
        Map<Value, Tensor> feeds = new HashMap<>();
        feeds.put(x, random(r, 1.0, batch, tokens, width));
        feeds.put(y, labels(r, batch, 10));
        return new Step(g, List.of(loss), bound, feeds);
    }

    private static Value param(Graph g, Map<Value, Tensor> bound, List<Value> params, Random r, String name, int rows, int cols) {
        Value w = g.parameter(name, Shape.of(rows, cols), DType.F32);
        bound.put(w, random(r, 1.0 / Math.sqrt(cols), rows, cols));
        params.add(w);
        return w;
    }

    /**
     * A budget halfway between the smallest peak the planner can reach and the unplanned peak:
     * one the step only fits by recomputing.
     */
    private static long budgetThatNeedsRecompute(Step step) {
        MemoryPlan unplanned = Executor.cpu().plan(step.graph(), step.outputs());
        MemoryPlan impossible = Executor.cpu().withMemoryBudget(unplanned.boundBytes()).plan(step.graph(), step.outputs());
        long smallest = impossible.smallestPeakBytes();
        assertTrue(smallest > 0 && smallest < unplanned.predictedPeakBytes(), "recomputing saves memory:\n" + impossible.explain());
        return (smallest + unplanned.predictedPeakBytes()) / 2;
    }

    private static CachingAllocator ownMemory() {
        return new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults().withExactSegments(true));
    }

    /** Runs one step and returns the outputs (copied) and the bound tensors after it (copied). */
    private static List<float[]> runOnce(Executor executor, Step step, List<String> boundAfter, Program[] keep) {
        Program p = executor.compile(step.graph(), step.outputs());
        try {
            step.bound().forEach(p::bind);
            List<float[]> results = new ArrayList<>();
            for (Tensor t : p.run(step.feeds())) {
                results.add(t.dtype() == DType.F32 ? t.toFloatArray() : new float[] {(float) t.getFlat(0)});
            }
            step.bound().entrySet().stream()
                    .filter(e -> boundAfter.contains(e.getKey().ref()) || boundAfter.contains("*"))
                    .sorted((a, b) -> a.getKey().ref().compareTo(b.getKey().ref()))
                    .forEach(e -> results.add(e.getValue().dtype() == DType.F32 ? e.getValue().toFloatArray()
                        : new float[] {(float) e.getValue().getFlat(0)}));
            if (keep != null) {
                keep[0] = p;
                p = null;
            }
            return results;
        } finally {
            if (p != null) {
                p.close();
            }
        }
    }

    private static void assertBitIdentical(List<float[]> expected, List<float[]> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            float[] e = expected.get(i);
            float[] a = actual.get(i);
            assertEquals(e.length, a.length, "output " + i);
            for (int j = 0; j < e.length; j++) {
                assertEquals(Float.floatToRawIntBits(e[j]), Float.floatToRawIntBits(a[j]),
                        "output " + i + " element " + j + ": " + e[j] + " vs " + a[j]);
            }
        }
    }

    @Test
    void predictionIsWhatTheMemoryManagerMeasures() {
        try (Step step = residualMlp(32, 64, 6, true, 1); CachingAllocator memory = ownMemory()) {
            Executor ex = new Executor(new CpuBackend(memory));
            Program[] p = new Program[1];
            runOnce(ex, step, List.of(), p);
            try {
                MemoryPlan plan = p[0].memoryPlan();
                MemoryStats stats = memory.snapshot();
                // Exactly: the plan counts the memory manager's blocks, and exact segments reserve nothing more.
                assertEquals(plan.managedBytes(), stats.peakAllocatedBytes(), "measured peak vs the plan:\n" + plan.explain());
                assertEquals(plan.managedBytes(), stats.peakReservedBytes());
                assertEquals(stats.allocatedBytes(), stats.peakAllocatedBytes(), "nothing is allocated inside a step");
                assertTrue(plan.activationBytes() > 0 && plan.activationBytes() <= plan.unplannedActivationBytes());
                assertEquals(plan.activationBytes(), plan.unplannedActivationBytes(), "no budget: no checkpointing");
                assertFalse(plan.checkpointed());
                assertEquals(1.0, plan.recomputeFlopsRatio());
                long params = 6 * 2 * 64 * 64 * 4L;
                assertEquals(params, plan.parameterBytes());
                assertEquals(8, plan.stateBytes(), "the RNG counter");
                assertEquals(32 * 64 * 4 + 512, plan.inputBytes(), "two feeds, in whole 512-byte blocks");
            } finally {
                p[0].close();
            }
            assertEquals(0, memory.snapshot().allocatedBytes(), "closing the program gives everything back");
        }
    }

    @Test
    void checkpointedGradientsAreBitIdenticalThroughDropout() {
        try (Step plain = residualMlp(16, 48, 8, true, 7); Step again = plain.copyBound()) {
            long budget = budgetThatNeedsRecompute(plain);
            Executor budgeted = Executor.cpu().withMemoryBudget(budget);
            MemoryPlan planned = budgeted.plan(again.graph(), again.outputs());
            assertTrue(planned.fits(), planned.explain());
            assertTrue(planned.checkpointed(), planned.explain());
            assertTrue(planned.predictedPeakBytes() <= budget);
            assertTrue(planned.recomputeFlopsRatio() > 1.0 && planned.recomputeFlopsRatio() < 1.5, planned.explain());

            // The loss, every updated weight and the RNG counter.
            List<float[]> expected = runOnce(Executor.cpu(), plain, List.of("*"), null);
            List<float[]> actual = runOnce(budgeted, again, List.of("*"), null);
            assertBitIdentical(expected, actual);
        }
    }

    @Test
    void checkpointedBatchNormUpdatesItsStatisticsOnce() {
        try (Step plain = batchNormCnn(8, 3); Step again = plain.copyBound()) {
            long budget = budgetThatNeedsRecompute(plain);
            Executor budgeted = Executor.cpu().withMemoryBudget(budget);
            MemoryPlan planned = budgeted.plan(again.graph(), again.outputs());
            assertTrue(planned.fits() && planned.checkpointed(), planned.explain());
            // Every bound tensor after the step: the weights, and the running statistics updated exactly once.
            List<float[]> expected = runOnce(Executor.cpu(), plain, List.of("*"), null);
            List<float[]> actual = runOnce(budgeted, again, List.of("*"), null);
            assertBitIdentical(expected, actual);
        }
    }

    @Test
    void checkpointedAttentionWithSkipConnectionsIsBitIdentical() {
        try (Step plain = attention(4, 16, 24, 4, 9); Step again = plain.copyBound()) {
            long budget = budgetThatNeedsRecompute(plain);
            Executor budgeted = Executor.cpu().withMemoryBudget(budget);
            MemoryPlan planned = budgeted.plan(again.graph(), again.outputs());
            assertTrue(planned.fits() && planned.checkpointed(), planned.explain());
            assertBitIdentical(runOnce(Executor.cpu(), plain, List.of("*"), null), runOnce(budgeted, again, List.of("*"), null));
        }
    }

    @Test
    void aBudgetBelowTheParametersIsRefusedBeforeAnythingIsAllocated() {
        try (Step step = residualMlp(16, 64, 4, false, 2); CachingAllocator memory = ownMemory()) {
            long params = 4 * 2 * 64 * 64 * 4L;
            Executor ex = new Executor(new CpuBackend(memory)).withMemoryBudget(params / 2);
            MemoryBudgetExceededException e = assertThrows(MemoryBudgetExceededException.class,
                    () -> ex.compile(step.graph(), step.outputs()));
            assertTrue(e.getMessage().contains("parameters and state alone take"), e.getMessage());
            assertFalse(e.plan().fits());
            assertTrue(e.plan().smallestPeakBytes() > params, "the smallest feasible peak is reported");
            assertEquals(0, memory.snapshot().allocatedBytes(), "nothing stays allocated");
        }
    }

    @Test
    void theSmallestReachablePeakIsReportedAndFits() {
        try (Step step = residualMlp(64, 64, 12, false, 4)) {
            MemoryPlan unplanned = Executor.cpu().plan(step.graph(), step.outputs());
            MemoryPlan tooSmall = Executor.cpu().withMemoryBudget(unplanned.boundBytes() + unplanned.inputBytes()).plan(step.graph(), step.outputs());
            assertFalse(tooSmall.fits());
            long smallest = tooSmall.smallestPeakBytes();
            assertTrue(smallest > 0 && smallest < unplanned.predictedPeakBytes(), tooSmall.explain());
            MemoryPlan atSmallest = Executor.cpu().withMemoryBudget(smallest).plan(step.graph(), step.outputs());
            assertTrue(atSmallest.fits(), "the reported smallest peak is itself a budget that fits:\n" + atSmallest.explain());
        }
    }

    @Test
    void aBudgetThatFitsWithoutRecomputingChangesNothing() {
        try (Step step = residualMlp(8, 32, 3, false, 5)) {
            MemoryPlan unplanned = Executor.cpu().plan(step.graph(), step.outputs());
            MemoryPlan roomy = Executor.cpu().withMemoryBudget(unplanned.predictedPeakBytes()).plan(step.graph(), step.outputs());
            assertTrue(roomy.fits());
            assertFalse(roomy.checkpointed());
            assertEquals(unplanned.predictedPeakBytes(), roomy.predictedPeakBytes());
            assertEquals(unplanned.predictedPeakBytes(), unplanned.unplannedPeakBytes());
        }
    }

    @Test
    void theArenaIsSmallerThanOneBufferPerValue() {
        try (Step step = residualMlp(32, 64, 6, false, 6)) {
            MemoryPlan plan = Executor.cpu().plan(step.graph(), step.outputs());
            long everyValue = 0;
            for (var n : step.graph().nodes()) {
                if (n.output() != null && n.op() != dev.frugal.runtime.graph.Op.INPUT) {
                    everyValue += BufferPlan.bytesOf(n.output());
                }
            }
            assertTrue(plan.activationBytes() < everyValue / 2, plan.activationBytes() + " vs " + everyValue);
        }
    }

    @Test
    void withMemoryBudgetRejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> Executor.cpu().withMemoryBudget(-5));
        assertEquals(-1, Executor.cpu().memoryBudget());
        assertEquals(1000, Executor.cpu().withMemoryBudget(1000).memoryBudget());
    }

    @Test
    void listingsShowTheRecomputation() {
        try (Step step = residualMlp(16, 32, 6, false, 8)) {
            long budget = budgetThatNeedsRecompute(step);
            try (Program p = Executor.cpu().withMemoryBudget(budget).compile(step.graph(), step.outputs())) {
                String listing = p.listing();
                assertTrue(listing.contains("recompute into"), listing);
                assertTrue(listing.contains("(again)"), listing);
                assertTrue(p.memoryPlan().explain().contains("recomputed segment"), p.memoryPlan().explain());
            }
        }
    }
}
