package dev.frugal.cuda.nvml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.NvmlException;
import org.junit.jupiter.api.Test;

/** NVML status names and the unsupported/failure split; pure Java, checked against nvml.h's values. */
class NvmlStatusTest {

  @Test
  void statusNamesFollowNvmlH() {
    assertEquals("NVML_SUCCESS", Nvml.statusName(0));
    assertEquals("NVML_ERROR_UNINITIALIZED", Nvml.statusName(1));
    assertEquals("NVML_ERROR_NOT_SUPPORTED", Nvml.statusName(3));
    assertEquals("NVML_ERROR_NO_PERMISSION", Nvml.statusName(4));
    assertEquals("NVML_ERROR_DRIVER_NOT_LOADED", Nvml.statusName(9));
    assertEquals("NVML_ERROR_LIBRARY_NOT_FOUND", Nvml.statusName(12));
    assertEquals("NVML_ERROR_FUNCTION_NOT_FOUND", Nvml.statusName(13));
    assertEquals("NVML_ERROR_GPU_IS_LOST", Nvml.statusName(15));
    assertEquals("NVML_ERROR_DEPRECATED", Nvml.statusName(26));
    assertEquals("NVML_ERROR_INVALID_STATE", Nvml.statusName(29));
    assertEquals("NVML_ERROR_UNKNOWN", Nvml.statusName(999));
    assertEquals("NVML_ERROR_77", Nvml.statusName(77));
  }

  @Test
  void onlyNotSupportedFunctionNotFoundAndDeprecatedCountAsUnsupported() {
    assertTrue(Nvml.isUnsupported(3));
    assertTrue(Nvml.isUnsupported(13));
    assertTrue(Nvml.isUnsupported(26));
    assertFalse(Nvml.isUnsupported(0));
    assertFalse(Nvml.isUnsupported(4), "no permission is a failure the user must see");
    assertFalse(Nvml.isUnsupported(15), "a lost GPU is a failure the user must see");
  }

  @Test
  void failureNamesLibraryCallAndStatus() {
    NvmlException e = assertThrows(NvmlException.class, () -> Nvml.check("nvmlDeviceGetPowerUsage", 15, "device 0"));
    assertEquals("nvmlDeviceGetPowerUsage", e.call());
    assertEquals("NVML_ERROR_GPU_IS_LOST", e.statusName());
    assertTrue(e.getMessage().startsWith("NVML: nvmlDeviceGetPowerUsage failed with NVML_ERROR_GPU_IS_LOST (15)"),
        e.getMessage());
    assertTrue(e.getMessage().contains("device 0"), e.getMessage());
  }
}
