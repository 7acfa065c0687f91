package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.memory.CachingAllocator;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Device;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.cpu.CpuBuffer;
import dev.frugal.runtime.exec.Backend;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.precision.Precision;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The GPU parity catalogue ({@link OpParityCases}) run on the CPU: every case with fusion on
 * (and with reduction groups fused, as the CUDA backend runs them) against the same graph with
 * fusion off, under the case's tolerances, with the reference's outputs free of NaN. The fused runs' buffers start poisoned (every byte
 * 0xFF, NaN for floats, as the GPU suite poisons device memory), so a CPU kernel that leaves an
 * element unwritten fails here too. This checks the catalogue itself (each case traces, compiles
 * and runs, its outputs are free of NaN so that a poisoned element on a GPU cannot pass for a
 * right one, and its names are unique), that it covers every op, that the runner reports a real
 * difference, and the CPU backend's fused kernels against its unfused ones on the shapes the GPU
 * is held to.
 */
class OpParityCasesCpuTest {
    private static final Executor UNFUSED = Executor.cpu().withFusion(false);
    private static final Executor FUSED = new Executor(new PoisonedCpuBackend());
    private static final Executor REDUCTIONS_FUSED = new Executor(new PoisonedCpuBackend()).withReductionFusion(true);

    /** The CPU backend with every buffer it allocates filled with 0xFF bytes instead of zeros. */
    static final class PoisonedCpuBackend implements Backend {
        private final CpuBackend cpu = new CpuBackend();

        @Override
        public Device device() {
            return cpu.device();
        }

        @Override
        public String name() {
            return "cpu (poisoned)";
        }

        @Override
        public CachingAllocator memory() {
            return cpu.memory();
        }

        @Override
        public Buffer allocate(long bytes, String tag) {
            Buffer b = cpu.allocate(bytes, tag);
            ((CpuBuffer) b).segment().fill((byte) 0xFF);
            return b;
        }

        @Override
        public Buffer slice(Buffer buffer, long offset, long bytes) {
            return cpu.slice(buffer, offset, bytes);
        }

        @Override
        public void free(Buffer buffer) {
            cpu.free(buffer);
        }

        @Override
        public Buffer wrap(Tensor tensor) {
            return cpu.wrap(tensor);
        }

        @Override
        public void upload(Tensor src, Buffer dst) {
            cpu.upload(src, dst);
        }

        @Override
        public Tensor download(Buffer src, Shape shape, DType dtype) {
            return cpu.download(src, shape, dtype);
        }

        @Override
        public Kernel prepare(Node node, int[] inputSlots, int outputSlot, boolean checkNonFinite) {
            return cpu.prepare(node, inputSlots, outputSlot, checkNonFinite);
        }

        @Override
        public boolean canFuse(Node node) {
            return cpu.canFuse(node);
        }

        @Override
        public boolean canFuseReduction(Node reduce) {
            return cpu.canFuseReduction(reduce);
        }

        @Override
        public Kernel prepareFused(FusedGroup group, int[] inputSlots, int[] outputSlots) {
            return cpu.prepareFused(group, inputSlots, outputSlots);
        }

        @Override
        public Kernel prepareFused(FusedGroup group, int[] inputSlots, int[] outputSlots, boolean checkNonFinite) {
            return cpu.prepareFused(group, inputSlots, outputSlots, checkNonFinite);
        }

        @Override
        public Kernel prepareCopy(int src, int dst, long bytes) {
            return cpu.prepareCopy(src, dst, bytes);
        }
    }

    @TestFactory
    Stream<DynamicTest> fusedMatchesUnfused() {
        return OpParityCases.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            BackendParity.compare(c, UNFUSED, FUSED, 1);
            BackendParity.compare(c, UNFUSED, REDUCTIONS_FUSED, 1);
        }));
    }

    @TestFactory
    Stream<DynamicTest> trainingStepsMatchOverThreeSteps() {
        return OpParityCases.trainingSteps().stream().map(tc -> DynamicTest.dynamicTest(tc.name(), () -> {
            BackendParity.compareTraining(tc, UNFUSED, FUSED, 3, 1);
            BackendParity.compareTraining(tc, UNFUSED, REDUCTIONS_FUSED, 3, 1);
        }));
    }

    @Test
    void everyOpIsCoveredAndNamesAreUnique() {
        Set<Op> seen = EnumSet.noneOf(Op.class);
        Set<String> names = new HashSet<>();
        Map<String, Integer> perFamily = new TreeMap<>();
        for (OpParityCases.Case c : OpParityCases.all()) {
            assertTrue(names.add(c.name()), "duplicate case name " + c.name());
            perFamily.merge(c.family(), 1, Integer::sum);
            for (Node n : c.build().graph().nodes()) {
                seen.add(n.op());
            }
        }
        for (OpParityCases.TrainingCase tc : OpParityCases.trainingSteps()) {
            for (Node n : tc.build().instance().graph().nodes()) {
                seen.add(n.op());
            }
        }
        Set<Op> missing = EnumSet.complementOf(EnumSet.copyOf(seen));
        assertTrue(missing.isEmpty(), "ops no parity case traces: " + missing + "; cases per family: " + perFamily);
    }

    @Test
    void mismatchMessagesNameTheCaseOutputIndexValuesAndTolerance() {
        OpParityCases.Output out = new OpParityCases.Output("y", null, OpParityCases.rounded(DType.F32));
        BackendParity.Snapshot expected = new BackendParity.Snapshot(DType.F32, Shape.of(2, 3), new double[] {1, 2, 3, 4, 5, 6});
        BackendParity.Snapshot actual = new BackendParity.Snapshot(DType.F32, Shape.of(2, 3), new double[] {1, 2, 3, 4, Double.NaN, 6.5});
        String message = BackendParity.mismatches("unary/exp/f32/[2, 3]", List.of(out), List.of(expected), List.of(actual), 1);
        assertTrue(message.startsWith("unary/exp/f32/[2, 3]:"), message);
        assertTrue(message.contains("output y (f32[2,3])"), message);
        assertTrue(message.contains("2 of 6 elements differ (1 NaN"), message);
        assertTrue(message.contains("[4] [1, 1]: expected 5.0, got NaN"), message);
        assertTrue(message.contains("[5] [1, 2]: expected 6.0, got 6.5"), message);
        assertTrue(message.contains("tolerance abs"), message);
        assertEquals(null, BackendParity.mismatches("same", List.of(out), List.of(expected), List.of(expected), 1));
        // exact mode tells -0 from +0 and demands the same bits
        assertFalse(OpParityCases.Tol.EXACT.accepts(0.0, -0.0));
        assertTrue(OpParityCases.Tol.EXACT.accepts(1.5, 1.5));
        assertFalse(OpParityCases.rounded(DType.F32).accepts(1.0, Double.NaN));
    }

    @Test
    void aCandidateThatComputesDifferentlyFails() {
        // bf16 matrix products (autocast) are far outside the fp32 tolerance: the runner must say so
        OpParityCases.Case c = OpParityCases.all().stream().filter(x -> x.name().equals("matmul/f32/[33, 65]@[65, 47]")).findFirst().orElseThrow();
        AssertionError e = assertThrows(AssertionError.class, () -> BackendParity.compare(c, UNFUSED, Executor.cpu().withAutocast(Precision.BF16)));
        assertTrue(e.getMessage().startsWith("matmul/f32/[33, 65]@[65, 47] (run 0):"), e.getMessage());
        assertTrue(e.getMessage().contains("output c (f32[33,47])"), e.getMessage());
    }
}
