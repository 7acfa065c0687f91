package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Kernel workspaces come from the backend's memory manager: a {@link CpuWorkspace} hands out
 * zeroed memory and frees it all on close; kernels allocate their workspace at prepare time
 * (exactly {@link Kernel#workspaceBytes()}), never while running, and free it when closed.
 */
class CpuWorkspaceTest {

    private static CachingAllocator newAllocator() {
        return new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults());
    }

    @Test
    void workspaceZeroesReusedMemoryAndFreesEverythingOnClose() {
        try (CachingAllocator memory = newAllocator()) {
            CpuWorkspace first = new CpuWorkspace(memory);
            MemorySegment a = first.allocate(1000);
            MemorySegment b = first.allocate(3000);
            assertEquals(1000, a.byteSize());
            assertEquals(3000, b.byteSize());
            assertEquals(0, a.address() % 64, "64-byte aligned");
            assertEquals(0, b.address() % 64, "64-byte aligned");
            assertEquals(4000, first.bytes());
            assertEquals(4000, memory.snapshot().requestedBytes());
            assertEquals(0, first.allocate(0).byteSize(), "an empty request allocates nothing");
            assertEquals(4000, first.bytes());
            assertEquals(1024 + 3072, first.heldBytes(), "requests rounded up to 512-byte blocks");
            assertEquals(first.heldBytes(), memory.snapshot().allocatedBytes());
            a.fill((byte) 0x5A);
            b.fill((byte) 0x5A);
            first.close();
            first.close(); // idempotent
            assertEquals(0, memory.snapshot().allocatedBytes());
            assertEquals(0, memory.snapshot().requestedBytes());
            assertThrows(IllegalStateException.class, () -> first.allocate(8));

            CpuWorkspace second = new CpuWorkspace(memory);
            MemorySegment c = second.allocate(3000);
            MemorySegment d = second.allocate(1000);
            assertTrue(memory.snapshot().cacheHits() > 0, "the freed blocks are reused");
            for (MemorySegment s : List.of(c, d)) {
                for (long i = 0; i < s.byteSize(); i++) {
                    assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " of reused workspace memory");
                }
            }
            second.close();
            assertEquals(0, memory.snapshot().allocatedBytes());
        }
    }

    private static OpAttrs.Conv2d geo(int stride, int pad, int groups) {
        return new OpAttrs.Conv2d(stride, stride, pad, pad, 1, 1, groups);
    }

    /** The three directions of one convolution, plus the values they read. */
    private record Conv(Value y, Value dx, Value dw, List<Value> inputs) {
    }

    private static Conv conv(Graph g, String name, Shape xs, Shape ws, OpAttrs.Conv2d p) {
        Value x = g.input(name + ".x", xs, DType.F32);
        Value w = g.input(name + ".w", ws, DType.F32);
        Value y = Ops.conv2d(x, w, p);
        Value dy = g.input(name + ".dy", y.shape(), DType.F32);
        return new Conv(y, Ops.conv2dGradInput(dy, w, p, xs), Ops.conv2dGradWeight(x, dy, p, ws), List.of(x, w, dy));
    }

    /** Prepares {@code v}'s node on {@code backend}, checks its workspace is what it drew from the allocator, and closes it. */
    private static long preparedWorkspace(CpuBackend backend, Value v) {
        CachingAllocator memory = backend.memory();
        long before = memory.snapshot().requestedBytes();
        long beforeHeld = memory.snapshot().allocatedBytes();
        int[] in = new int[v.node().inputs().size()];
        for (int i = 0; i < in.length; i++) {
            in[i] = i;
        }
        Kernel kernel = backend.prepare(v.node(), in, in.length, false);
        long drawn = memory.snapshot().requestedBytes() - before;
        assertEquals(memory.snapshot().allocatedBytes() - beforeHeld, kernel.workspaceBytes(),
                () -> v.node() + ": workspaceBytes() vs the blocks drawn at prepare");
        kernel.close();
        kernel.close();
        assertEquals(before, memory.snapshot().requestedBytes(), () -> v.node() + ": close frees the workspace");
        return drawn;
    }

    @Test
    void kernelsReportTheWorkspaceTheyDrawAtPrepareTime() {
        try (CachingAllocator memory = newAllocator()) {
            CpuBackend backend = new CpuBackend(memory);
            Graph g = new Graph("workspace_kernels");
            // im2col + GEMM (stride 2): one column matrix per part; the weight gradient adds
            // per-chunk partial sums.
            Conv gemm = conv(g, "gemm", Shape.of(3, 4, 9, 9), Shape.of(6, 4, 3, 3), geo(2, 1, 1));
            long parts = Math.min(CpuParallel.threads(), 3);
            long col = 4L * 4 * 3 * 3 * 5 * 5;
            long partials = (3 - 1) * 4L * 6 * 4 * 3 * 3;
            assertEquals(parts * col, preparedWorkspace(backend, gemm.y()));
            assertEquals(parts * col, preparedWorkspace(backend, gemm.dx()));
            assertEquals(parts * col + partials, preparedWorkspace(backend, gemm.dw()));
            // 1x1, stride 1, unpadded: no column matrix; the weight gradient still has partials.
            Conv pointwise = conv(g, "pointwise", Shape.of(2, 6, 8, 8), Shape.of(5, 6, 1, 1), geo(1, 0, 1));
            assertEquals(0, preparedWorkspace(backend, pointwise.y()));
            assertEquals(0, preparedWorkspace(backend, pointwise.dx()));
            assertEquals((2 - 1) * 4L * 5 * 6, preparedWorkspace(backend, pointwise.dw()));
            // Direct (padded planes) and depthwise paths, including the batch of padded planes of
            // a 3x3 weight gradient with several output channels per input channel.
            Conv direct = conv(g, "direct", Shape.of(2, 4, 8, 8), Shape.of(8, 4, 3, 3), geo(1, 1, 1));
            Conv depthwise = conv(g, "depthwise", Shape.of(2, 1, 8, 8), Shape.of(4, 1, 3, 3), geo(1, 1, 1));
            for (Value v : List.of(direct.y(), direct.dx(), direct.dw(), depthwise.y(), depthwise.dx(), depthwise.dw())) {
                assertTrue(preparedWorkspace(backend, v) > 0, () -> v.node() + " has a workspace");
            }
            // Half-precision matmul widens a, b and c to float32; scatter-add accumulates in float32.
            Value a = g.input("a", Shape.of(5, 7), DType.F16);
            Value b = g.input("b", Shape.of(7, 3), DType.F16);
            assertEquals(4L * (5 * 7 + 7 * 3 + 5 * 3), preparedWorkspace(backend, Ops.matmul(a, b)));
            Value a32 = g.input("a32", Shape.of(5, 7), DType.F32);
            Value b32 = g.input("b32", Shape.of(7, 3), DType.F32);
            assertEquals(0, preparedWorkspace(backend, Ops.matmul(a32, b32)));
            Value idx = g.input("idx", Shape.of(4), DType.I32);
            Value src = g.input("src", Shape.of(4, 3), DType.BF16);
            assertEquals(4L * 6 * 3, preparedWorkspace(backend, Ops.scatterAdd(src, idx, 0, Shape.of(6, 3))));
            assertEquals(0, memory.snapshot().requestedBytes());
        }
    }

    private static Tensor random(Shape shape, DType dtype, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] v = new double[(int) shape.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextDouble(-1, 1);
        }
        return Tensor.of(v, dtype, shape.dims());
    }

    @Test
    void programsDoNotAllocateWhileRunningAndFreeEverythingOnClose() {
        try (CachingAllocator memory = newAllocator()) {
            Graph g = new Graph("workspace_program");
            List<Conv> convs = List.of(
                    conv(g, "gemm", Shape.of(3, 4, 9, 9), Shape.of(6, 4, 3, 3), geo(2, 1, 1)),
                    conv(g, "direct", Shape.of(2, 4, 8, 8), Shape.of(8, 4, 3, 3), geo(1, 1, 1)),
                    conv(g, "depthwise", Shape.of(2, 1, 8, 8), Shape.of(4, 1, 3, 3), geo(1, 1, 1)),
                    conv(g, "grouped", Shape.of(2, 4, 7, 7), Shape.of(4, 1, 3, 3), geo(1, 1, 4)));
            List<Value> outputs = new ArrayList<>();
            List<Value> inputs = new ArrayList<>();
            for (Conv c : convs) {
                outputs.addAll(List.of(c.y(), c.dx(), c.dw()));
                inputs.addAll(c.inputs());
            }
            Value a = g.input("a", Shape.of(2, 5, 7), DType.F16);
            Value b = g.input("b", Shape.of(7, 3), DType.F16);
            inputs.addAll(List.of(a, b));
            outputs.add(Ops.matmul(a, b));

            Map<Value, Tensor> feeds = new HashMap<>();
            try (Program program = new Executor(new CpuBackend(memory)).compile(g, outputs)) {
                long seed = 1;
                for (Value in : inputs) {
                    feeds.put(in, random(in.shape(), in.dtype(), seed++));
                }
                long compiled = memory.snapshot().requestedBytes();
                assertTrue(compiled > 0);
                long allocations = memory.snapshot().allocations();
                List<double[]> first = copies(program.run(feeds));
                assertEquals(compiled, memory.snapshot().requestedBytes(), "first run");
                List<double[]> second = copies(program.run(feeds));
                assertEquals(compiled, memory.snapshot().requestedBytes(), "second run");
                assertEquals(allocations, memory.snapshot().allocations(), "no allocation while running");
                for (int i = 0; i < first.size(); i++) {
                    assertArrayEquals(first.get(i), second.get(i), outputs.get(i) + " is the same on both runs");
                }
            } finally {
                feeds.values().forEach(Tensor::close);
            }
            assertEquals(0, memory.snapshot().requestedBytes(), "closing the program frees every buffer and workspace");
            assertEquals(0, memory.snapshot().allocatedBytes());
        }
    }

    private static List<double[]> copies(List<Tensor> outs) {
        List<double[]> copies = new ArrayList<>();
        for (Tensor t : outs) {
            copies.add(t.toDoubleArray());
        }
        return copies;
    }
}
