package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.Gemm;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;

import dev.frugal.memory.CachingAllocator;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

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
        OpAttrs.Matmul attrs = node.attrs(OpAttrs.Matmul.class);
        boolean ta = attrs.transA();
        boolean tb = attrs.transB();
        int[] as = node.input(0).shape().dims();
        int[] bs = node.input(1).shape().dims();
        int[] os = node.output().shape().dims();
        DType t = node.output().dtype();
        int m = os[os.length - 2];
        int n = os[os.length - 1];
        int k = ta ? as[as.length - 2] : as[as.length - 1];
        long lda = as[as.length - 1];
        long ldb = bs[bs.length - 1];
        long aMat = (long) as[as.length - 2] * as[as.length - 1];
        long bMat = (long) bs[bs.length - 2] * bs[bs.length - 1];
        long cMat = (long) m * n;
        int nb = os.length - 2;
        int[] batch = Arrays.copyOf(os, nb);
        long batchCount = 1;
        for (int d : batch) {
            batchCount *= d;
        }
        // Per-batch-axis element strides of each operand (0 where it broadcasts).
        long[] aStr = batchStrides(Arrays.copyOf(as, as.length - 2), batch, aMat);
        long[] bStr = batchStrides(Arrays.copyOf(bs, bs.length - 2), batch, bMat);
        long aCount = node.input(0).shape().numel() / Math.max(1, aMat);
        long bCount = node.input(1).shape().numel() / Math.max(1, bMat);
        boolean aUniform = aCount == batchCount || aCount == 1;
        boolean bUniform = bCount == batchCount || bCount == 1;
        long aBatchStride = aCount == 1 ? 0 : aMat;
        long bBatchStride = bCount == 1 ? 0 : bMat;
        if (batchCount > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("matmul: batch of " + batchCount + " matrices is too large in " + node);
        }
        int bc = (int) batchCount;
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
                if (aUniform && bUniform) {
                    call(dt, bc, a, 0, aBatchStride, b, 0, bBatchStride, c, 0);
                    return;
                }
                for (int i = 0; i < bc; i++) {
                    long ao = 0;
                    long bo = 0;
                    long rem = i;
                    for (int d = nb - 1; d >= 0; d--) {
                        long ci = rem % batch[d];
                        rem /= batch[d];
                        ao += ci * aStr[d];
                        bo += ci * bStr[d];
                    }
                    call(dt, 1, a, ao, 0, b, bo, 0, c, i * cMat);
                }
            }

            private void call(DType dt, int count, MemorySegment a, long ao, long aStride, MemorySegment b, long bo, long bStride, MemorySegment c, long co) {
                if (dt == DType.F64) {
                    Gemm.gemmF64(count, m, n, k, a, ao, aStride, lda, ta, b, bo, bStride, ldb, tb, c, co, cMat, n, false);
                } else {
                    Gemm.gemmF32(count, m, n, k, a, ao, aStride, lda, ta, b, bo, bStride, ldb, tb, c, co, cMat, n, false);
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

    private static long[] batchStrides(int[] own, int[] batch, long matrix) {
        long[] st = new long[batch.length];
        int lead = batch.length - own.length;
        long s = matrix;
        for (int i = batch.length - 1; i >= lead; i--) {
            int d = own[i - lead];
            st[i] = d == 1 ? 0 : s;
            s *= d;
        }
        return st;
    }
}
