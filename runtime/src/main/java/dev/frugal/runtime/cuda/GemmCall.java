package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;

/**
 * One cuBLAS strided-batched GEMM in cuBLAS's own column-major terms:
 * {@code C[b] = op(A[b]) * op(B[b])} for {@code b < batch}, {@code op(A)} m x k, {@code op(B)}
 * k x n, C m x n with leading dimension {@code ldc}, each operand {@code stride*} elements after
 * the previous one (0 repeats one matrix). All three have {@code type}; the products accumulate
 * in float32 (float64 for F64) and C is overwritten.
 *
 * <p>{@link #rowMajor} derives it from a row-major product: a row-major matrix is its column-major
 * transpose, so {@code C = op(A) op(B)} (row-major) is {@code C^T = op(B)^T op(A)^T}
 * (column-major): the operands swap places and m and n swap, while each keeps its transpose flag
 * and its row length as leading dimension.
 *
 * @param type    the element type of A, B and C
 * @param transA  whether cuBLAS reads A transposed
 * @param transB  whether cuBLAS reads B transposed
 * @param lda     leading dimension of A as stored (column-major)
 * @param strideA elements from one batch's A to the next (0: the same A for every batch)
 */
public record GemmCall(DType type, boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc,
                       long strideA, long strideB, long strideC, int batch) {
    /** Checks the sizes as cuBLAS would, naming the bad argument. */
    public GemmCall {
        if (m < 0 || n < 0 || k < 0 || batch < 0) {
            throw new IllegalArgumentException("GEMM sizes must be >= 0: m=" + m + " n=" + n + " k=" + k + " batch=" + batch);
        }
        if (lda < Math.max(1, transA ? k : m) || ldb < Math.max(1, transB ? n : k) || ldc < Math.max(1, m)) {
            throw new IllegalArgumentException("GEMM leading dimensions too small: m=" + m + " n=" + n + " k=" + k + " transA=" + transA
                    + " transB=" + transB + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc);
        }
    }

    /**
     * The call computing the row-major product {@code C = op(A) op(B)} of {@code batch} matrix
     * pairs, where row-major A is {@code aRows x aCols} (read transposed when {@code transA}),
     * B is {@code bRows x bCols}, and C is m x n.
     *
     * @param aStride elements between consecutive A matrices (0 broadcasts one)
     */
    public static GemmCall rowMajor(DType type, boolean transA, boolean transB, int m, int n, int k, int aCols, int bCols,
                                    long aStride, long bStride, int batch) {
        // column-major view: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m)
        return new GemmCall(type, transB, transA, n, m, k, bCols, aCols, n, bStride, aStride, (long) m * n, batch);
    }
}
