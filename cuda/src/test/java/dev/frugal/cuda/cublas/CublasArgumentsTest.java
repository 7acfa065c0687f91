package dev.frugal.cuda.cublas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * Bad GEMM arguments fail in Java with a message naming the argument and what was expected,
 * before any native call (so these run without cuBLAS and without a GPU).
 */
class CublasArgumentsTest {
  private final CublasHandle noHandle = new CublasHandle(MemorySegment.NULL);

  @Test
  void aLeadingDimensionSmallerThanTheStoredRowsIsRejectedByName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cublas.gemmEx(noHandle,
        Operation.N, Operation.N, 4, 3, 2, 1f, 0x1000, CudaDataType.R_32F, 3, 0x2000, CudaDataType.R_32F, 2,
        0f, 0x3000, CudaDataType.R_32F, 4, ComputeType.COMPUTE_32F));
    assertEquals("cublasGemmEx: lda = 3 is too small: op(A) = N stores A as m x k, so lda >= max(1, m) = 4",
        e.getMessage());
  }

  @Test
  void transposedOperandsAreCheckedAgainstTheirStoredShape() {
    Cublas.requireGemmShape("gemm", Operation.T, Operation.T, 4, 3, 2, 2, 3, 4);
    IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
        () -> Cublas.requireGemmShape("gemm", Operation.T, Operation.T, 4, 3, 2, 2, 2, 4));
    assertEquals("gemm: ldb = 2 is too small: op(B) = T stores B as n x k, so ldb >= max(1, n) = 3", b.getMessage());
    IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
        () -> Cublas.requireGemmShape("gemm", Operation.N, Operation.N, 4, 3, 2, 4, 2, 0));
    assertEquals("gemm: ldc = 0 is too small: C is m x n, so ldc >= max(1, m) = 4", c.getMessage());
  }

  @Test
  void negativeSizesAndBatchCountsAreRejected() {
    IllegalArgumentException sizes = assertThrows(IllegalArgumentException.class,
        () -> Cublas.requireGemmShape("gemm", Operation.N, Operation.N, -1, 3, 2, 1, 2, 1));
    assertEquals("gemm: m = -1, n = 3, k = 2; expected sizes >= 0", sizes.getMessage());
    IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
        () -> Cublas.gemmStridedBatchedEx(noHandle, Operation.N, Operation.N, 2, 2, 2, 1f,
            0x1000, CudaDataType.R_16F, 2, 4, 0x2000, CudaDataType.R_16F, 2, 4, 0f,
            0x3000, CudaDataType.R_16F, 2, 4, -2, ComputeType.COMPUTE_32F));
    assertEquals("cublasGemmStridedBatchedEx: batchCount = -2; expected >= 0", batch.getMessage());
  }

  @Test
  void floatScalesAreRefusedForComputeTypesThatScaleInAnotherPrecision() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cublas.gemmEx(noHandle,
        Operation.N, Operation.N, 2, 2, 2, 1f, 0x1000, CudaDataType.R_16F, 2, 0x2000, CudaDataType.R_16F, 2,
        0f, 0x3000, CudaDataType.R_16F, 2, ComputeType.COMPUTE_16F));
    assertEquals("COMPUTE_16F takes alpha/beta in its own precision, not float; use the MemorySegment overload",
        e.getMessage());
  }

  @Test
  void aWorkspaceNeedsAPointerWhenItHasASize() {
    assertThrows(IllegalArgumentException.class, () -> noHandle.setWorkspace(0, 4 << 20));
    assertThrows(IllegalArgumentException.class, () -> noHandle.setWorkspace(0x1000, -1));
  }

  @Test
  void layoutsRejectALeadingDimensionShorterThanTheirContiguousSide() {
    IllegalArgumentException column = assertThrows(IllegalArgumentException.class,
        () -> MatrixLayout.create(CudaDataType.R_32F, 8, 4, 4));
    assertEquals("matrix layout R_32F 8 x 4 with ld 4; expected sizes >= 0 and, column-major: ld >= max(1, rows)",
        column.getMessage());
    assertThrows(IllegalArgumentException.class, () -> MatrixLayout.createRowMajor(CudaDataType.R_32F, 4, 8, 4));
  }

  @Test
  void epilogueFlagsFollowTheHeadersBitLayout() {
    for (Epilogue epilogue : Epilogue.values()) {
      int value = epilogue.value();
      // cublasLt.h builds every AUX variant as "| 128", the gradients as DRELU = 8|128 / DGELU = 64|128,
      // bias as "| 4" and bias gradients as "| 16" or BGRADA/BGRADB.
      assertEquals((value & 128) != 0, epilogue.usesAux(), epilogue::name);
      assertEquals((value & (4 | 16 | 256 | 512)) != 0, epilogue.usesBias(), epilogue::name);
      int expectedMultiple = (value & 128) == 0 ? 0 : (value & (32 | 64)) != 0 ? 8 : 128;
      assertEquals(expectedMultiple, epilogue.auxLeadingDimensionMultiple(), epilogue::name);
    }
  }
}
