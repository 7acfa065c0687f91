package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.Gemm;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.exec.MatmulGeometry;
import dev.frugal.runtime.graph.Node;

import dev.frugal.memory.CachingAllocator;

import java.lang.foreign.MemorySegment;

/**
 * MATMUL: {@code op(a) @ op(b)} over the last two axes with broadcast batch axes, on
 * {@link Gemm}. When each operand's batch is either the full output batch or a single matrix,
 * the whole product is one batched GEMM call (batch stride 0 broadcasts); other broadcast
 * patterns call GEMM once per output matrix. F16/BF16 operands are widened into float32 scratch
 * buffers (the kernel's {@link CpuWorkspace}, allocated at prepare time from the backend's memory
 * manager and freed when the kernel closes), multiplied with float32 accumulation and rounded once on
 * store, as tensor cores do.
 */
final class CpuMatmul {
    private CpuMatmul() {
    }

    static Kernel prepare(Node node, int[] in, int out, CachingAllocator memory) {
        MatmulGeometry g = MatmulGeometry.of(node);
        DType t = g.dtype();
        boolean half = t == DType.F16 || t == DType.BF16;
        long aNum = node.input(0).shape().numel();
        long bNum = node.input(1).shape().numel();
        long cNum = node.output().shape().numel();
        CpuWorkspace scratch = half ? new CpuWorkspace(memory) : null;
        MemorySegment[] wide = half ? float32Scratch(scratch, aNum, bNum, cNum) : null;
        MemorySegment a32 = half ? wide[0] : null;
        MemorySegment b32 = half ? wide[1] : null;
        MemorySegment c32 = half ? wide[2] : null;
        return new Kernel() {
            @Override
            public void run(Buffer[] slots) {
                MemorySegment a = CpuElements.seg(slots, in[0]);
                MemorySegment b = CpuElements.seg(slots, in[1]);
                MemorySegment c = CpuElements.seg(slots, out);
                if (half) {
                    CpuHalf.widen(t, a, 0, a32, 0, aNum);
                    CpuHalf.widen(t, b, 0, b32, 0, bNum);
                    gemm(DType.F32, a32, b32, c32);
                    CpuHalf.narrow(t, c32, 0, c, 0, cNum);
                } else {
                    gemm(t, a, b, c);
                }
            }

            private void gemm(DType dt, MemorySegment a, MemorySegment b, MemorySegment c) {
                if (g.stridedBatch()) {
                    call(dt, g.batchCount(), a, 0, g.aStride(), b, 0, g.bStride(), c, 0);
                    return;
                }
                for (int i = 0; i < g.batchCount(); i++) {
                    call(dt, 1, a, g.aOffset(i), 0, b, g.bOffset(i), 0, c, i * g.cMatrix());
                }
            }

            private void call(DType dt, int count, MemorySegment a, long ao, long aStride, MemorySegment b, long bo, long bStride, MemorySegment c, long co) {
                if (dt == DType.F64) {
                    Gemm.gemmF64(count, g.m(), g.n(), g.k(), a, ao, aStride, g.aColumns(), g.transA(), b, bo, bStride, g.bColumns(), g.transB(),
                            c, co, g.cMatrix(), g.n(), false);
                } else {
                    Gemm.gemmF32(count, g.m(), g.n(), g.k(), a, ao, aStride, g.aColumns(), g.transA(), b, bo, bStride, g.bColumns(), g.transB(),
                            c, co, g.cMatrix(), g.n(), false);
                }
            }

            @Override
            public long workspaceBytes() {
                return scratch == null ? 0 : scratch.heldBytes();
            }

            @Override
            public void close() {
                if (scratch != null) {
                    scratch.close();
                }
            }
        };
    }

    /** The float32 copies of a, b and c for a half-precision product, from {@code scratch} (closed if one fails). */
    private static MemorySegment[] float32Scratch(CpuWorkspace scratch, long aNum, long bNum, long cNum) {
        try {
            return new MemorySegment[] {
                scratch.allocate(Math.max(4, aNum * 4)),
                scratch.allocate(Math.max(4, bNum * 4)),
                scratch.allocate(Math.max(4, cNum * 4))
            };
        } catch (RuntimeException | Error e) {
            scratch.close();
            throw e;
        }
    }
}
