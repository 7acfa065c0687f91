package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;
import java.util.Arrays;

/**
 * The row-major GEMMs a MATMUL node stands for, as every backend lays them out: {@code C[b] =
 * op(A[b]) op(B[b])} for each output batch index {@code b}, each matrix contiguous, an operand
 * broadcast along the batch axes where its own are 1 or missing. Backends differ only in what
 * they call with it (the CPU's GEMM kernels, cuBLAS).
 *
 * @param dtype      the element type of A, B and C
 * @param transA     whether A is used transposed
 * @param transB     whether B is used transposed
 * @param m          rows of C
 * @param n          columns of C
 * @param k          the inner dimension
 * @param aColumns   A's stored row length (its leading dimension, row-major)
 * @param bColumns   B's stored row length
 * @param aMatrix    elements of one A matrix
 * @param bMatrix    elements of one B matrix
 * @param cMatrix    elements of one C matrix ({@code m * n})
 * @param batch      the output's batch dimensions (empty for a plain 2-d product)
 * @param batchCount the number of C matrices
 * @param aCount     the number of A matrices stored
 * @param bCount     the number of B matrices stored
 */
public record MatmulGeometry(DType dtype, boolean transA, boolean transB, int m, int n, int k, int aColumns, int bColumns,
                             long aMatrix, long bMatrix, long cMatrix, int[] batch, int batchCount, long aCount, long bCount,
                             long[] aBatchStrides, long[] bBatchStrides) {

    /**
     * The geometry of {@code node}, a MATMUL.
     *
     * @throws UnsupportedOperationException when the batch holds more than {@code Integer.MAX_VALUE} matrices
     */
    public static MatmulGeometry of(Node node) {
        OpAttrs.Matmul attrs = node.attrs(OpAttrs.Matmul.class);
        int[] as = node.input(0).shape().dims();
        int[] bs = node.input(1).shape().dims();
        int[] os = node.output().shape().dims();
        int m = os[os.length - 2];
        int n = os[os.length - 1];
        int k = attrs.transA() ? as[as.length - 2] : as[as.length - 1];
        int aColumns = as[as.length - 1];
        int bColumns = bs[bs.length - 1];
        long aMatrix = (long) as[as.length - 2] * aColumns;
        long bMatrix = (long) bs[bs.length - 2] * bColumns;
        int[] batch = Arrays.copyOf(os, os.length - 2);
        long count = 1;
        for (int d : batch) {
            count *= d;
        }
        if (count > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("matmul: a batch of " + count + " matrices is too large in " + node);
        }
        return new MatmulGeometry(node.output().dtype(), attrs.transA(), attrs.transB(), m, n, k, aColumns, bColumns, aMatrix, bMatrix,
                (long) m * n, batch, (int) count, node.input(0).shape().numel() / Math.max(1, aMatrix),
                node.input(1).shape().numel() / Math.max(1, bMatrix), batchStrides(Arrays.copyOf(as, as.length - 2), batch, aMatrix),
                batchStrides(Arrays.copyOf(bs, bs.length - 2), batch, bMatrix));
    }

    /**
     * Whether each operand holds either one matrix per output matrix or a single matrix for all,
     * so the product is one strided batch ({@link #aStride()}, {@link #bStride()}); otherwise an
     * operand broadcasts along some batch axes only, and each C matrix needs its own offsets.
     */
    public boolean stridedBatch() {
        return (aCount == batchCount || aCount == 1) && (bCount == batchCount || bCount == 1);
    }

    /** Elements between consecutive A matrices of a strided batch: 0 when one A serves all. */
    public long aStride() {
        return aCount == 1 ? 0 : aMatrix;
    }

    /** Elements between consecutive B matrices of a strided batch: 0 when one B serves all. */
    public long bStride() {
        return bCount == 1 ? 0 : bMatrix;
    }

    /** The element offset of the A matrix that C matrix {@code i} (row-major over {@link #batch()}) reads. */
    public long aOffset(int i) {
        return offset(i, aBatchStrides);
    }

    /** The element offset of the B matrix that C matrix {@code i} reads. */
    public long bOffset(int i) {
        return offset(i, bBatchStrides);
    }

    private long offset(int i, long[] strides) {
        long offset = 0;
        long rem = i;
        for (int d = batch.length - 1; d >= 0; d--) {
            offset += rem % batch[d] * strides[d];
            rem /= batch[d];
        }
        return offset;
    }

    /** Per output batch axis, the operand's element stride (0 where it has size 1 there or lacks the axis). */
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
}
