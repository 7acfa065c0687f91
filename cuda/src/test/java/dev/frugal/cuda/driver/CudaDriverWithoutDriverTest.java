package dev.frugal.cuda.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.frugal.cuda.CudaLibraryNotFoundException;
import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.cuda.discovery.LibraryLoader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * On a machine without the NVIDIA driver (CI), every driver call fails with a
 * {@link CudaLibraryNotFoundException} that says where libcuda.so.1 was looked for and what to
 * install, instead of crashing in native code. Skips where a driver is installed.
 */
class CudaDriverWithoutDriverTest {

  @BeforeEach
  void requireNoDriver() {
    assumeFalse(LibraryLoader.system().load(CudaLibrary.DRIVER).isLoaded(), "this machine has a CUDA driver");
  }

  @Test
  void theFirstCallExplainsWhatIsMissingAndWhatToInstall() {
    CudaLibraryNotFoundException e = assertThrows(CudaLibraryNotFoundException.class, CudaDriver::driverVersion);

    assertEquals("cuda-driver", e.library());
    assertTrue(e.getMessage().startsWith("libcuda.so.1 was not found by the dynamic linker (searched LD_LIBRARY_PATH,"
        + " /etc/ld.so.cache"), e.getMessage());
    assertTrue(e.getMessage().endsWith(CudaLibrary.DRIVER.installHint()), e.getMessage());
  }

  @Test
  void everyEntryPointFailsTheSameWay() {
    String expected = LibraryLoader.system().load(CudaLibrary.DRIVER).problem();

    for (Runnable call : new Runnable[] {CudaDriver::init, CudaDriver::deviceCount, () -> CudaDriver.memAlloc(1024),
        () -> CudaDriver.streamCreate(CudaDriver.STREAM_NON_BLOCKING), () -> CudaContext.retainPrimary(0)}) {
      CudaLibraryNotFoundException e = assertThrows(CudaLibraryNotFoundException.class, call::run);
      assertEquals(expected, e.getMessage());
    }
    assertEquals("CUDA_ERROR_2", CudaDriver.errorName(2));
  }

  @Test
  void theBindingReportShowsTheLibraryAsNotLoaded() {
    var report = CudaDriver.bindingReport();

    assertFalse(report.loaded());
    assertNull(report.path());
    assertTrue(report.missing().contains("cuMemAlloc_v2"), report::toString);
    assertTrue(report.bound().isEmpty(), report::toString);
  }
}
