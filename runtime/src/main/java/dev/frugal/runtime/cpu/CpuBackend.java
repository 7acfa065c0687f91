package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Device;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Backend;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;

import dev.frugal.memory.Allocation;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * The CPU backend: buffers are off-heap segments from the memory manager's
 * {@link CachingAllocator} over host memory (shared segments, so the kernel thread pool can read
 * them; its statistics are this backend's memory statistics), and kernels are Java loops, multi-threaded with
 * {@link dev.frugal.runtime.cpu.kernels.CpuParallel} and vectorised with the Vector API where it
 * pays. It runs every {@link dev.frugal.runtime.graph.Op}: F64 everywhere (the reference for
 * finite-difference checks), F32 with fast paths, F16/BF16 computed in float32 and rounded to
 * nearest even on store (what a GPU does with fp32 accumulation), and the integer and boolean
 * types where the op is meaningful for them. A reduction's output has its input's dtype, except
 * ARGMAX's (I64) and a sum, max or min of F16/BF16 into F32 (mixed precision's float32
 * accumulation, see {@link CpuReduce}); {@link #prepare} refuses any other change.
 */
public final class CpuBackend implements Backend {
    /**
     * The allocator of backends made without one: one per process, as a device has one memory,
     * so memory a closed program gave back serves the next program.
     */
    private static final CachingAllocator SHARED_HOST_MEMORY = new CachingAllocator(new HostRawAllocator(), AllocatorConfig.defaults());

    private final CachingAllocator memory;

    /** A CPU backend over the process's shared host memory manager. */
    public CpuBackend() {
        this(SHARED_HOST_MEMORY);
    }

    /**
     * A CPU backend whose buffers come from {@code memory}, e.g. an allocator of its own with a
     * memory limit (a training budget) and statistics that count only this backend's programs.
     *
     * @param memory a caching allocator over host-accessible memory; the caller closes it
     */
    public CpuBackend(CachingAllocator memory) {
        this.memory = Objects.requireNonNull(memory, "memory");
    }

    @Override
    public CachingAllocator memory() {
        return memory;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public String name() {
        return "cpu";
    }

    /**
     * {@inheritDoc} The memory is zeroed (the allocator's blocks are 512-byte aligned, more than a
     * cache line or a vector register needs), so a buffer never shows another program's data.
     */
    @Override
    public Buffer allocate(long bytes, String tag) {
        Allocation a = memory.allocate(Math.max(1, bytes), tag);
        Arena scope = Arena.ofShared();
        MemorySegment s = a.segment().asSlice(0, Math.max(1, bytes)).reinterpret(scope, null);
        s.fill((byte) 0);
        return new CpuBuffer(s, a, scope);
    }

    @Override
    public Buffer slice(Buffer buffer, long offset, long bytes) {
        return new CpuBuffer(((CpuBuffer) buffer).segment().asSlice(offset, bytes), null, null);
    }

    @Override
    public void free(Buffer buffer) {
        CpuBuffer b = (CpuBuffer) buffer;
        if (b.owner() != null) {
            b.scope().close();
            b.owner().close();
        }
    }

    @Override
    public Buffer wrap(Tensor tensor) {
        long bytes = tensor.numel() * tensor.dtype().byteSize();
        MemorySegment s = tensor.segment().asSlice(tensor.offset() * tensor.dtype().byteSize(), bytes);
        return new CpuBuffer(s, null, null);
    }

    @Override
    public void upload(Tensor src, Buffer dst) {
        DType t = src.dtype();
        int bytes = t.byteSize();
        MemorySegment d = ((CpuBuffer) dst).segment();
        MemorySegment s = src.segment();
        if (src.isContiguous()) {
            MemorySegment.copy(s, src.offset() * bytes, d, 0, src.numel() * bytes);
            return;
        }
        int[] dims = src.shape().dims();
        StridedLayout l = StridedLayout.of(dims, new long[] {0, src.offset()}, StridedLayout.contiguous(dims), src.strides());
        CpuMovement.copy(bytes, l, s, d);
    }

    @Override
    public Tensor download(Buffer src, Shape shape, DType dtype) {
        return Tensor.wrap(((CpuBuffer) src).segment(), shape, dtype);
    }

    @Override
    public Kernel prepare(Node node, int[] inputSlots, int outputSlot, boolean checkNonFinite) {
        checkSize(node);
        return switch (node.op().kind()) {
            case SOURCE -> CpuSources.prepare(node, inputSlots, outputSlot);
            case UNARY, BINARY, COMPARE, TERNARY -> halfElementwise(node)
                    ? CpuFusedElementwise.prepareSingle(node, inputSlots, outputSlot)
                    : CpuElementwise.prepare(node, inputSlots, outputSlot);
            case REDUCE -> CpuReduce.prepare(node, inputSlots, outputSlot, checkNonFinite);
            case CONTRACTION -> switch (node.op()) {
                case MATMUL -> CpuMatmul.prepare(node, inputSlots, outputSlot, memory);
                case ATTENTION, ATTENTION_GRAD -> CpuAttention.prepare(node, inputSlots, outputSlot);
                default -> CpuConvolution.prepare(node, inputSlots, outputSlot, memory);
            };
            case ROWWISE -> switch (node.op()) {
                case SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_GRAD -> CpuCrossEntropy.prepare(node, inputSlots, outputSlot);
                default -> CpuLayerNorm.prepare(node, inputSlots, outputSlot);
            };
            case POOL -> CpuPooling.prepare(node, inputSlots, outputSlot);
            case MOVEMENT -> CpuMovement.prepare(node, inputSlots, outputSlot);
            case INDEX -> CpuIndex.prepare(node, inputSlots, outputSlot, memory);
            case EFFECT -> {
                // ASSIGN: the executor lowers it to prepareCopy; a direct request copies value into target.
                long bytes = node.input(1).shape().numel() * node.input(1).dtype().byteSize();
                yield prepareCopy(inputSlots[1], inputSlots[0], bytes);
            }
        };
    }

    @Override
    public boolean canFuse(Node node) {
        return CpuFusedElementwise.canFuse(node);
    }

    /**
     * An elementwise node with an F16/BF16 operand that the fused kernel can run: alone on that
     * kernel it runs in float32 registers with fast conversions, where {@link CpuElementwise}'s
     * generic path would convert each element through double.
     */
    private static boolean halfElementwise(Node node) {
        if (!CpuFusedElementwise.canFuse(node)) {
            return false;
        }
        boolean half = CpuHalf.isHalf(node.output().dtype());
        for (var in : node.inputs()) {
            half |= CpuHalf.isHalf(in.dtype());
        }
        return half;
    }

    @Override
    public boolean canFuseReduction(Node reduce) {
        return CpuFusedReduction.supports(reduce);
    }

    @Override
    public Kernel prepareFused(FusedGroup group, int[] inputSlots, int[] outputSlots) {
        return prepareFused(group, inputSlots, outputSlots, false);
    }

    @Override
    public Kernel prepareFused(FusedGroup group, int[] inputSlots, int[] outputSlots, boolean checkNonFinite) {
        for (Node m : group.elementwise()) {
            if (!canFuse(m)) {
                throw new UnsupportedOperationException("cpu backend cannot fuse " + m + " (in " + group.name() + ")");
            }
        }
        return group.reduction()
                ? CpuFusedReduction.prepare(group, inputSlots, outputSlots, checkNonFinite)
                : CpuFusedElementwise.prepare(group, inputSlots, outputSlots);
    }

    /**
     * The kernels index elements (and split work) with {@code int} counts: refuse a node with a
     * value of more than {@link Integer#MAX_VALUE} elements at compile time, naming it, rather
     * than let an index overflow at run time.
     */
    private static void checkSize(Node node) {
        for (int i = 0; i <= node.inputs().size(); i++) {
            var v = i < node.inputs().size() ? node.input(i) : node.output();
            if (v != null && v.shape().numel() > Integer.MAX_VALUE) {
                throw new UnsupportedOperationException(node.op().printName() + ": the cpu backend handles at most " + Integer.MAX_VALUE
                        + " elements per value, got " + v.dtype() + v.shape() + " (" + v.shape().numel() + " elements) in " + node);
            }
        }
    }

    @Override
    public Kernel prepareCopy(int src, int dst, long bytes) {
        return slots -> MemorySegment.copy(CpuElements.seg(slots, src), 0, CpuElements.seg(slots, dst), 0, bytes);
    }

    @Override
    public String toString() {
        return "cpu backend";
    }
}
