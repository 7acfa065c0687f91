package dev.frugal.cuda.cublas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.frugal.cuda.CublasException;
import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import dev.frugal.cuda.discovery.LoadedLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * The parts of the real cuBLAS/cuBLASLt that work without a GPU: versions, status names,
 * descriptors, layouts and preferences, and the failure of a call that does need one. Skips
 * where the libraries are not installed.
 */
class CublasWithoutGpuTest {

  @Test
  void versionsMatchWhatDiscoveryReports() {
    LoadedLibrary cublas = NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS);
    LoadedLibrary lt = NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT);

    int[] version = Cublas.version();
    assertEquals(cublas.version(), version[0] + "." + version[1] + "." + version[2]);
    assertEquals(cublas.cudaMajor(), version[0]);
    long ltVersion = CublasLt.version();
    assertEquals(lt.version(), ltVersion / 10000 + "." + ltVersion % 10000 / 100 + "." + ltVersion % 100);
  }

  @Test
  void statusesAreNamedByTheLibraries() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS);

    assertEquals("CUBLAS_STATUS_INVALID_VALUE", Cublas.statusName(7));
    assertEquals("CUBLAS_STATUS_NOT_SUPPORTED", CublasLt.statusName(15));
  }

  @Test
  void aRejectedAttributeThrowsWithTheStatusNameAndTheAttribute() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT);
    try (MatmulDescriptor desc = MatmulDescriptor.create(ComputeType.COMPUTE_32F, CudaDataType.R_32F);
        Arena arena = Arena.ofConfined()) {
      // EPILOGUE is a uint32: a 2-byte value is refused by cuBLASLt itself.
      MemorySegment tooShort = arena.allocate(ValueLayout.JAVA_SHORT);
      CublasException e = assertThrows(CublasException.class,
          () -> CublasLt.descSetAttribute(desc.handle(), MatmulDescAttribute.EPILOGUE, tooShort));
      assertEquals("cuBLASLt", e.library());
      assertEquals("cublasLtMatmulDescSetAttribute", e.call());
      assertEquals(7, e.status());
      assertEquals("CUBLAS_STATUS_INVALID_VALUE", e.statusName());
      assertTrue(e.getMessage().startsWith("cuBLASLt: cublasLtMatmulDescSetAttribute failed with"
          + " CUBLAS_STATUS_INVALID_VALUE (7): "), e.getMessage());
      assertTrue(e.getMessage().endsWith("[attribute 7]"), e.getMessage());
    }
  }

  @Test
  void descriptorsLayoutsAndPreferencesAreBuiltWithoutAGpu() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT);
    try (MatmulDescriptor desc = MatmulDescriptor.create(ComputeType.COMPUTE_32F, CudaDataType.R_32F);
        MatrixLayout a = MatrixLayout.create(CudaDataType.R_16BF, 64, 32, 64).setBatch(4, 64 * 32);
        MatrixLayout b = MatrixLayout.createRowMajor(CudaDataType.R_16BF, 32, 16, 16);
        MatmulPreference preference = MatmulPreference.create(32 << 20)) {
      desc.setTranspose(Operation.T, Operation.N).setEpilogue(Epilogue.GELU_AUX_BIAS).setBias(0x10000)
          .setBiasDataType(CudaDataType.R_32F).setAux(0x20000, 64).setAuxDataType(CudaDataType.R_16BF);
      assertEquals(Epilogue.GELU_AUX_BIAS, desc.epilogue());
      desc.setEpilogue(Epilogue.DRELU_BGRAD).setAux(0x30000, 128).setBias(0x40000);
      for (MemorySegment handle : new MemorySegment[] {desc.handle(), a.handle(), b.handle(), preference.handle()}) {
        assertTrue(handle.address() != 0);
      }
    }
  }

  @Test
  void epilogueBuffersAreCheckedAgainstTheEpilogue() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT);
    try (MatmulDescriptor desc = MatmulDescriptor.create(ComputeType.COMPUTE_32F, CudaDataType.R_32F)) {
      IllegalArgumentException noAux = assertThrows(IllegalArgumentException.class, () -> desc.setAux(0x1000, 64));
      assertEquals("AUX buffer set, but epilogue DEFAULT does not use one; set RELU_AUX*, GELU_AUX*, DRELU* or DGELU*"
          + " first", noAux.getMessage());
      desc.setEpilogue(Epilogue.RELU);
      assertThrows(IllegalArgumentException.class, () -> desc.setBias(0x1000));
      desc.setEpilogue(Epilogue.RELU_AUX_BIAS);
      IllegalArgumentException mask = assertThrows(IllegalArgumentException.class, () -> desc.setAux(0x1000, 64));
      assertEquals("AUX leading dimension 64 for epilogue RELU_AUX_BIAS; expected a positive multiple of 128 that is"
          + " at least D's rows", mask.getMessage());
      assertThrows(IllegalArgumentException.class, () -> desc.setBias(0));
    }
  }

  @Test
  void aMatmulWhoseEpilogueLacksItsBuffersFailsBeforeReachingCublasLt() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS_LT);
    CublasLtHandle noHandle = new CublasLtHandle(MemorySegment.NULL);
    try (MatmulDescriptor desc = MatmulDescriptor.create(ComputeType.COMPUTE_32F, CudaDataType.R_32F);
        MatrixLayout layout = MatrixLayout.create(CudaDataType.R_32F, 8, 8, 8)) {
      desc.setEpilogue(Epilogue.DGELU_BGRAD).setAux(0x1000, 8);
      IllegalArgumentException bias = assertThrows(IllegalArgumentException.class, () -> CublasLt.matmul(noHandle,
          desc, 1f, 0x1000, layout, 0x2000, layout, 0f, 0x3000, layout, 0x3000, layout, null, 0, 0, null));
      assertEquals("cublasLtMatmul: epilogue DGELU_BGRAD needs a bias vector (setBias) first", bias.getMessage());
      try (MatmulDescriptor fresh = MatmulDescriptor.create(ComputeType.COMPUTE_32F, CudaDataType.R_32F);
          MatmulPreference preference = MatmulPreference.create(0)) {
        fresh.setEpilogue(Epilogue.RELU_AUX);
        IllegalArgumentException aux = assertThrows(IllegalArgumentException.class, () -> CublasLt.heuristic(noHandle,
            fresh, layout, layout, layout, layout, preference, 1));
        assertEquals("cublasLtMatmulAlgoGetHeuristic: epilogue RELU_AUX needs an AUX buffer (setAux) first",
            aux.getMessage());
      }
      IllegalArgumentException scale;
      try (MatmulDescriptor half = MatmulDescriptor.create(ComputeType.COMPUTE_16F, CudaDataType.R_16F)) {
        scale = assertThrows(IllegalArgumentException.class, () -> CublasLt.matmul(noHandle, half, 1f, 0x1000, layout,
            0x2000, layout, 0f, 0x3000, layout, 0x3000, layout, null, 0, 0, null));
      }
      assertEquals("float alpha/beta given, but the descriptor's scale type is R_16F; use the MemorySegment overload"
          + " with values of that type", scale.getMessage());
    }
  }

  @Test
  void handlesWithoutAGpuFailWithTheStatusNameNotACrash() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUBLAS);
    assumeFalse(LibraryLoader.system().load(CudaLibrary.DRIVER).isLoaded(), "this machine has a CUDA driver");

    CublasException cublas = assertThrows(CublasException.class, Cublas::create);
    assertEquals("cublasCreate_v2", cublas.call());
    assertEquals("CUBLAS_STATUS_NOT_INITIALIZED", cublas.statusName());
    CublasException lt = assertThrows(CublasException.class, CublasLt::create);
    assertEquals("cublasLtCreate", lt.call());
    assertEquals("CUBLAS_STATUS_NOT_INITIALIZED", lt.statusName());
    String driverProblem = LibraryLoader.system().load(CudaLibrary.DRIVER).problem();
    assertTrue(cublas.getMessage().endsWith("[no usable CUDA driver: " + driverProblem + "]"), cublas.getMessage());
    assertTrue(lt.getMessage().endsWith("[no usable CUDA driver: " + driverProblem + "]"), lt.getMessage());
  }
}
