package dev.frugal.runtime.cpu;

import dev.frugal.runtime.cpu.kernels.CpuParallel;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Data movement: RESHAPE, PERMUTE, EXPAND, SLICE, PAD and CONCAT. Each is one or more strided
 * copies between contiguous buffers: the source is read through the view the op describes
 * (permuted strides, stride 0 for broadcast axes, offset and stepped strides for a slice), the
 * destination is the output or, for PAD and CONCAT, a window of it. Copies are byte-exact, so
 * every dtype moves unchanged.
 */
final class CpuMovement {
    private static final int GRAIN = 1 << 15;

    private CpuMovement() {
    }

    /** One strided copy: {@code dims} elements read at (srcBase, srcStrides), written at (dstBase, dstStrides). */
    private record Copy(int srcSlot, StridedLayout layout) {
    }

    static Kernel prepare(Node node, int[] in, int out) {
        int bytes = node.output().dtype().byteSize();
        int[] od = node.output().shape().dims();
        long[] ost = StridedLayout.contiguous(od);
        List<Copy> copies = new ArrayList<>();
        boolean zeroFirst = false;
        switch (node.op()) {
            case RESHAPE -> copies.add(new Copy(in[0], StridedLayout.of(od, new long[2], ost, ost)));
            case PERMUTE -> {
                int[] perm = node.attrs(OpAttrs.Permute.class).perm();
                long[] ist = StridedLayout.contiguous(node.input(0).shape().dims());
                long[] src = new long[perm.length];
                for (int i = 0; i < perm.length; i++) {
                    src[i] = ist[perm[i]];
                }
                copies.add(new Copy(in[0], StridedLayout.of(od, new long[2], ost, src)));
            }
            case EXPAND -> copies.add(new Copy(in[0], StridedLayout.of(od, new long[2], ost,
                    StridedLayout.broadcastStrides(node.input(0).shape().dims(), od))));
            case SLICE -> {
                OpAttrs.Slice s = node.attrs(OpAttrs.Slice.class);
                long[] ist = StridedLayout.contiguous(node.input(0).shape().dims());
                long base = 0;
                long[] src = new long[ist.length];
                for (int i = 0; i < ist.length; i++) {
                    base += s.starts()[i] * ist[i];
                    src[i] = ist[i] * s.steps()[i];
                }
                copies.add(new Copy(in[0], StridedLayout.of(od, new long[] {0, base}, ost, src)));
            }
            case PAD -> {
                OpAttrs.Pad p = node.attrs(OpAttrs.Pad.class);
                int[] id = node.input(0).shape().dims();
                long base = 0;
                for (int i = 0; i < id.length; i++) {
                    base += p.before()[i] * ost[i];
                }
                zeroFirst = true;
                copies.add(new Copy(in[0], StridedLayout.of(id, new long[] {base, 0}, ost, StridedLayout.contiguous(id))));
            }
            case CONCAT -> {
                int axis = node.attrs(OpAttrs.Axis.class).axis();
                long at = 0;
                for (int j = 0; j < in.length; j++) {
                    int[] id = node.input(j).shape().dims();
                    copies.add(new Copy(in[j], StridedLayout.of(id, new long[] {at * ost[axis], 0}, ost, StridedLayout.contiguous(id))));
                    at += id[axis];
                }
            }
            default -> throw new IllegalStateException("not a movement op: " + node.op());
        }
        boolean zero = zeroFirst;
        long outBytes = node.output().shape().numel() * bytes;
        return new Kernel() {
            @Override
            public void run(Buffer[] slots) {
                MemorySegment dst = CpuElements.seg(slots, out);
                if (zero) {
                    dst.asSlice(0, outBytes).fill((byte) 0);
                }
                for (Copy c : copies) {
                    copy(bytes, c.layout(), CpuElements.seg(slots, c.srcSlot()), dst);
                }
            }
        };
    }

    /** Operand 0 of {@code l} is the destination, operand 1 the source. */
    static void copy(int bytes, StridedLayout l, MemorySegment src, MemorySegment dst) {
        long rows = l.rows();
        int inner = l.inner();
        long ds = l.innerStride(0);
        long ss = l.innerStride(1);
        int grain = Math.max(1, GRAIN / Math.max(1, inner));
        CpuParallel.parallelFor(0, (int) rows, grain, (from, to) -> {
            long[] off = new long[2];
            for (int row = from; row < to; row++) {
                l.rowOffsets(row, off);
                if (ds == 1 && ss == 1) {
                    MemorySegment.copy(src, off[1] * bytes, dst, off[0] * bytes, (long) inner * bytes);
                } else {
                    for (int i = 0; i < inner; i++) {
                        CpuElements.copyElement(bytes, src, off[1] + i * ss, dst, off[0] + i * ds);
                    }
                }
            }
        });
    }
}
