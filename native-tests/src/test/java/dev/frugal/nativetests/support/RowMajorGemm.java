package dev.frugal.nativetests.support;

import dev.frugal.cuda.cublas.Operation;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.Map;

/**
 * A row-major GEMM as the runtime means it, {@code C[m,n] = op(A) @ op(B)} (optionally over a
 * batch), and the column-major call cuBLAS needs for it. cuBLAS reads a row-major matrix as its
 * transpose, so the call computes {@code C^T = op(B)^T op(A)^T}: B goes first, the sizes m and n
 * swap, and each leading dimension is the row length of that operand's row-major storage. Getting
 * this mapping wrong is the classic GEMM bug, which is why the tests also run transposed operands.
 *
 * @param batch the number of matrices (1 for a plain GEMM)
 * @param m rows of C
 * @param n columns of C
 * @param k the reduced dimension
 * @param transA whether A is stored as {@code [k, m]} and used transposed
 * @param transB whether B is stored as {@code [n, k]} and used transposed
 */
public record RowMajorGemm(int batch, int m, int n, int k, boolean transA, boolean transB) {

  /** A single (unbatched) GEMM. */
  public static RowMajorGemm of(int m, int n, int k, boolean transA, boolean transB) {
    return new RowMajorGemm(1, m, n, k, transA, transB);
  }

  /** A's row-major storage shape, with the batch axis first when batched. */
  public int[] aDims() {
    return dims(transA ? k : m, transA ? m : k);
  }

  /** B's row-major storage shape, with the batch axis first when batched. */
  public int[] bDims() {
    return dims(transB ? n : k, transB ? k : n);
  }

  /** C's row-major shape. */
  public int[] cDims() {
    return dims(m, n);
  }

  /** Elements in one A matrix. */
  public int aMatrix() {
    return m * k;
  }

  /** Elements in one B matrix. */
  public int bMatrix() {
    return k * n;
  }

  /** Elements in one C matrix. */
  public int cMatrix() {
    return m * n;
  }

  /** cuBLAS's m: rows of the column-major result {@code C^T}. */
  public int cublasM() {
    return n;
  }

  /** cuBLAS's n: columns of {@code C^T}. */
  public int cublasN() {
    return m;
  }

  /** The operation on cuBLAS's first operand, which is B. */
  public Operation firstOperation() {
    return transB ? Operation.T : Operation.N;
  }

  /** Leading dimension of the first operand (B): the row length of its storage. */
  public int firstLd() {
    return transB ? k : n;
  }

  /** The operation on cuBLAS's second operand, which is A. */
  public Operation secondOperation() {
    return transA ? Operation.T : Operation.N;
  }

  /** Leading dimension of the second operand (A). */
  public int secondLd() {
    return transA ? m : k;
  }

  /** Leading dimension of the result: the row length of C. */
  public int ldc() {
    return n;
  }

  /**
   * The per-element error scale {@code |op(A)| @ |op(B)|} of values already rounded to their
   * storage type, computed on the CPU in fp32: rounding error in a dot product grows with the sum
   * of the magnitudes of its terms, not with the (possibly cancelling) result.
   */
  public float[] errorScale(float[] a, float[] b) {
    Graph graph = new Graph("gemm_error_scale");
    Value va = graph.input("abs_a", Shape.of(aDims()), DType.F32);
    Value vb = graph.input("abs_b", Shape.of(bDims()), DType.F32);
    return CpuReference.run(Ops.matmul(va, vb, transA, transB), Map.of(va, RandomArrays.abs(a), vb, RandomArrays.abs(b)));
  }

  /** "2x 67x45x96 (A^T)" for messages. */
  @Override
  public String toString() {
    return (batch > 1 ? batch + "x " : "") + m + "x" + n + "x" + k + (transA ? " A^T" : "") + (transB ? " B^T" : "");
  }

  private int[] dims(int rows, int cols) {
    return batch > 1 ? new int[] {batch, rows, cols} : new int[] {rows, cols};
  }
}
