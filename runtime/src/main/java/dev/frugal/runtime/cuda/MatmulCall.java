package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.exec.MatmulGeometry;
import dev.frugal.runtime.graph.Node;

/**
 * MATMUL on cuBLAS: {@code op(a) @ op(b)} over the last two axes with broadcast batch axes, as
 * the CPU's {@code CpuMatmul} computes it. When each operand's batch is either the whole output
 * batch or one matrix, the product is one strided-batched GEMM (stride 0 repeats the single
 * matrix); any other broadcast pattern is one GEMM per output matrix at the operands' offsets.
 * F16/BF16 operands multiply with float32 accumulation and are rounded once into the output.
 */
final class MatmulCall implements Kernel {
    private final DeviceApi device;
    private final int a;
    private final int b;
    private final int c;
    private final GemmCall[] calls;
    private final long[] aOffsets;
    private final long[] bOffsets;
    private final long[] cOffsets;

    private MatmulCall(DeviceApi device, int a, int b, int c, GemmCall[] calls, long[] aOffsets, long[] bOffsets, long[] cOffsets) {
        this.device = device;
        this.a = a;
        this.b = b;
        this.c = c;
        this.calls = calls;
        this.aOffsets = aOffsets;
        this.bOffsets = bOffsets;
        this.cOffsets = cOffsets;
    }

    /** The GEMM call(s) of a MATMUL node reading slots {@code in[0]}, {@code in[1]} and writing {@code out}. */
    static MatmulCall prepare(DeviceApi device, Node node, int[] in, int out) {
        MatmulGeometry g = MatmulGeometry.of(node);
        DType t = g.dtype();
        if (g.stridedBatch()) {
            GemmCall call = GemmCall.rowMajor(t, g.transA(), g.transB(), g.m(), g.n(), g.k(), g.aColumns(), g.bColumns(), g.aStride(),
                    g.bStride(), g.batchCount());
            return new MatmulCall(device, in[0], in[1], out, new GemmCall[] {call}, new long[1], new long[1], new long[1]);
        }
        // an operand broadcast along some batch axes only: one GEMM per output matrix, at byte offsets
        int count = g.batchCount();
        long size = t.byteSize();
        GemmCall one = GemmCall.rowMajor(t, g.transA(), g.transB(), g.m(), g.n(), g.k(), g.aColumns(), g.bColumns(), 0, 0, 1);
        GemmCall[] calls = new GemmCall[count];
        long[] ao = new long[count];
        long[] bo = new long[count];
        long[] co = new long[count];
        for (int i = 0; i < count; i++) {
            ao[i] = g.aOffset(i) * size;
            bo[i] = g.bOffset(i) * size;
            co[i] = i * g.cMatrix() * size;
            calls[i] = one;
        }
        return new MatmulCall(device, in[0], in[1], out, calls, ao, bo, co);
    }

    @Override
    public void run(Buffer[] slots) {
        long pa = CudaBuffer.address(slots, a);
        long pb = CudaBuffer.address(slots, b);
        long pc = CudaBuffer.address(slots, c);
        for (int i = 0; i < calls.length; i++) {
            // row-major trick: cuBLAS's A is our B and its B our A (see GemmCall.rowMajor)
            device.gemm(calls[i], pb + bOffsets[i], pa + aOffsets[i], pc + cOffsets[i]);
        }
    }

    @Override
    public String toString() {
        return calls.length == 1 ? calls[0].toString() : calls.length + " x " + calls[0];
    }
}
