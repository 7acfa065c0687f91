package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;

import dev.frugal.memory.CachingAllocator;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GATHER and SCATTER_ADD along one axis. With x viewed as [pre, A, post] and the indices
 * flattened to [I], gather computes out[p, i, q] = x[p, idx[i], q] (whole rows of {@code post}
 * elements are copied at once), and scatter-add computes out[p, idx[i], q] += src[p, i, q] into
 * zeros. Every index is checked before anything is written; one outside [0, A) throws an
 * {@link IndexOutOfBoundsException} naming the op, the index value, its position, the valid
 * range and the node.
 *
 * <p>Scatter-add splits the work by (p, block of q), never by i, so no two threads add into the
 * same element and the summation order is fixed. F16/BF16 sums accumulate in a float32 scratch
 * buffer (the kernel's {@link CpuWorkspace}, allocated at prepare time from the backend's memory
 * manager) and round once at the end.
 */
final class CpuIndex {
    private CpuIndex() {
    }

    static Kernel prepare(Node node, int[] in, int out, CachingAllocator memory) {
        int axis = node.attrs(OpAttrs.Axis.class).axis();
        boolean gather = node.op() == Op.GATHER;
        int[] xd = (gather ? node.input(0).shape() : node.output().shape()).dims();
        long pre = 1;
        long post = 1;
        for (int i = 0; i < axis; i++) {
            pre *= xd[i];
        }
        for (int i = axis + 1; i < xd.length; i++) {
            post *= xd[i];
        }
        int extent = xd[axis];
        long count = node.input(1).shape().numel();
        DType idxType = node.input(1).dtype();
        DType t = node.output().dtype();
        int bytes = t.byteSize();
        String where = node.toString();
        Op op = node.op();
        long outNumel = node.output().shape().numel();
        boolean half = !gather && (t == DType.F16 || t == DType.BF16);
        CpuWorkspace scratch = half ? new CpuWorkspace(memory) : null;
        MemorySegment acc32 = half ? scratch.allocate(Math.max(4, outNumel * 4)) : null;
        final long fPre = pre;
        final long fPost = post;
        return new Kernel() {
            @Override
            public void run(Buffer[] slots) {
                MemorySegment src = CpuElements.seg(slots, in[0]);
                MemorySegment idx = CpuElements.seg(slots, in[1]);
                MemorySegment dst = CpuElements.seg(slots, out);
                for (long i = 0; i < count; i++) {
                    long v = CpuElements.loadLong(idx, idxType, i);
                    if (v < 0 || v >= extent) {
                        throw new IndexOutOfBoundsException(op.printName() + ": index " + v + " at position " + i
                                + " of the indices is out of range [0, " + extent + ") for axis " + axis + " in node: " + where.strip());
                    }
                }
                if (gather) {
                    long rowBytes = fPost * bytes;
                    CpuParallel.parallelFor(0, (int) (fPre * count), Math.max(1, (int) (8192 / Math.max(1, fPost))), (from, to) -> {
                        for (int r = from; r < to; r++) {
                            long p = r / count;
                            long i = r % count;
                            long v = CpuElements.loadLong(idx, idxType, i);
                            MemorySegment.copy(src, ((p * extent + v) * fPost) * bytes, dst, ((p * count + i) * fPost) * bytes, rowBytes);
                        }
                    });
                    return;
                }
                MemorySegment target = half ? acc32 : dst;
                DType accType = half ? DType.F32 : t;
                target.asSlice(0, outNumel * accType.byteSize()).fill((byte) 0);
                long qBlock = 512;
                long qBlocks = (fPost + qBlock - 1) / qBlock;
                CpuParallel.parallelFor(0, (int) (fPre * qBlocks), 1, (from, to) -> {
                    for (int task = from; task < to; task++) {
                        long p = task / qBlocks;
                        long q0 = (task % qBlocks) * qBlock;
                        long q1 = Math.min(fPost, q0 + qBlock);
                        for (long i = 0; i < count; i++) {
                            long v = CpuElements.loadLong(idx, idxType, i);
                            long so = (p * count + i) * fPost;
                            long d = (p * extent + v) * fPost;
                            addRow(accType, t, src, so + q0, target, d + q0, q1 - q0);
                        }
                    }
                });
                if (half) {
                    CpuHalf.narrow(t, acc32, 0, dst, 0, outNumel);
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

    /** target[d..d+n) += src[s..s+n): src holds {@code srcType}, target {@code accType}. */
    private static void addRow(DType accType, DType srcType, MemorySegment src, long s, MemorySegment target, long d, long n) {
        switch (accType) {
            case F32 -> {
                for (long j = 0; j < n; j++) {
                    float v = srcType == DType.F32 ? src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, s + j) : (float) CpuElements.load(src, srcType, s + j);
                    target.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, d + j, target.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, d + j) + v);
                }
            }
            case F64 -> {
                for (long j = 0; j < n; j++) {
                    target.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, d + j,
                            target.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, d + j) + src.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, s + j));
                }
            }
            default -> {
                for (long j = 0; j < n; j++) {
                    CpuElements.storeLong(target, accType, d + j, CpuElements.loadLong(target, accType, d + j) + CpuElements.loadLong(src, srcType, s + j));
                }
            }
        }
    }
}
