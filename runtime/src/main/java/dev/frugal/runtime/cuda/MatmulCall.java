package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;
import java.util.Arrays;

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
        int aCols = as[as.length - 1];
        int bCols = bs[bs.length - 1];
        long aMat = (long) as[as.length - 2] * aCols;
        long bMat = (long) bs[bs.length - 2] * bCols;
        long cMat = (long) m * n;
        int nb = os.length - 2;
        int[] batch = Arrays.copyOf(os, nb);
        long batchCount = 1;
        for (int d : batch) {
            batchCount *= d;
        }
        if (batchCount > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("matmul: batch of " + batchCount + " matrices is too large for cuBLAS in " + node);
        }
        long aCount = node.input(0).shape().numel() / Math.max(1, aMat);
        long bCount = node.input(1).shape().numel() / Math.max(1, bMat);
        long size = t.byteSize();
        if ((aCount == batchCount || aCount == 1) && (bCount == batchCount || bCount == 1)) {
            GemmCall call = GemmCall.rowMajor(t, ta, tb, m, n, k, aCols, bCols, aCount == 1 ? 0 : aMat, bCount == 1 ? 0 : bMat,
                    (int) batchCount);
            return new MatmulCall(device, in[0], in[1], out, new GemmCall[] {call}, new long[1], new long[1], new long[1]);
        }
        long[] aStr = batchStrides(Arrays.copyOf(as, as.length - 2), batch, aMat);
        long[] bStr = batchStrides(Arrays.copyOf(bs, bs.length - 2), batch, bMat);
        int count = (int) batchCount;
        GemmCall one = GemmCall.rowMajor(t, ta, tb, m, n, k, aCols, bCols, 0, 0, 1);
        GemmCall[] calls = new GemmCall[count];
        long[] ao = new long[count];
        long[] bo = new long[count];
        long[] co = new long[count];
        for (int i = 0; i < count; i++) {
            long rem = i;
            for (int d = nb - 1; d >= 0; d--) {
                long ci = rem % batch[d];
                rem /= batch[d];
                ao[i] += ci * aStr[d];
                bo[i] += ci * bStr[d];
            }
            ao[i] *= size;
            bo[i] *= size;
            co[i] = i * cMat * size;
            calls[i] = one;
        }
        return new MatmulCall(device, in[0], in[1], out, calls, ao, bo, co);
    }

    /** Per output batch axis, the operand's element stride (0 where the operand has size 1 there or lacks the axis). */
    private static long[] batchStrides(int[] operandBatch, int[] outBatch, long matrix) {
        long[] strides = new long[outBatch.length];
        long stride = matrix;
        for (int d = outBatch.length - 1, od = operandBatch.length - 1; d >= 0; d--, od--) {
            int size = od >= 0 ? operandBatch[od] : 1;
            strides[d] = size == 1 ? 0 : stride;
            stride *= size;
        }
        return strides;
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
