package dev.frugal.cuda.nvml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.frugal.cuda.CudaLibraryNotFoundException;
import dev.frugal.cuda.NvmlException;
import dev.frugal.cuda.internal.BindingReport;
import org.junit.jupiter.api.Test;

/** On a machine without the NVIDIA driver, NVML fails clearly and never crashes. */
class NvmlWithoutDriverTest {

  @Test
  void openSaysWhatIsMissingAndWhatToInstall() {
    assumeFalse(Nvml.isInstalled(), "libnvidia-ml.so.1 is installed here");
    NvmlException e = assertThrows(NvmlException.class, Nvml::open);
    assertEquals("NVML", e.library());
    assertEquals("nvmlInit_v2", e.call());
    assertEquals(12, e.status());
    assertEquals("NVML_ERROR_LIBRARY_NOT_FOUND", e.statusName());
    assertTrue(e.getMessage().contains("libnvidia-ml.so.1"), e.getMessage());
    assertTrue(e.getMessage().contains("install the NVIDIA display driver"), e.getMessage());
    assertInstanceOf(CudaLibraryNotFoundException.class, e.getCause());
  }

  @Test
  void tryOpenIsEmpty() {
    assumeFalse(Nvml.isInstalled(), "libnvidia-ml.so.1 is installed here");
    assertTrue(Nvml.tryOpen().isEmpty());
  }

  @Test
  void bindingReportListsEverySymbolAsMissing() {
    assumeFalse(Nvml.isInstalled(), "libnvidia-ml.so.1 is installed here");
    BindingReport report = Nvml.bindingReport();
    assertFalse(report.loaded());
    assertTrue(report.bound().isEmpty());
    assertTrue(report.missing().contains("nvmlDeviceGetTotalEnergyConsumption"), report.missing().toString());
    assertTrue(report.missing().contains("nvmlInit_v2"), report.missing().toString());
  }

  @Test
  void errorStringIsNullWithoutNvml() {
    assumeFalse(Nvml.isInstalled(), "libnvidia-ml.so.1 is installed here");
    assertNull(Nvml.errorString(3));
  }
}
