package dev.frugal.cuda.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.frugal.cuda.CudnnException;
import dev.frugal.cuda.NativeAssumptions;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** With cuDNN installed but no NVIDIA driver, making a handle fails with a CudnnException, not a crash. */
class CudnnWithoutGpuTest {

  @BeforeAll
  static void requireCudnnWithoutDriver() {
    NativeAssumptions.assumeLoaded(CudaLibrary.CUDNN);
    assumeFalse(LibraryLoader.system().load(CudaLibrary.DRIVER).isLoaded(), "a CUDA driver is present");
  }

  @Test
  void handleCreationFailsCleanly() {
    CudnnException e = assertThrows(CudnnException.class, Cudnn::create);
    assertEquals("cudnnCreate", e.call());
    assertEquals("cuDNN", e.library());
    assertEquals("CUDNN_STATUS_NOT_INITIALIZED", e.statusName());
    assertTrue(e.getMessage().contains("cuDNN needs a GPU and the NVIDIA driver"), e.getMessage());
    assertTrue(e.getMessage().contains("install the NVIDIA display driver"), "names what to install: " + e.getMessage());
  }
}
