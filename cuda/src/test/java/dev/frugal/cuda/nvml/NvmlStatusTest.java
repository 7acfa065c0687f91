package dev.frugal.cuda.nvml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.NvmlException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** NVML status names and the unsupported/failure split; pure Java, checked against nvml.h's values. */
class NvmlStatusTest {

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
    "0, NVML_SUCCESS", "1, NVML_ERROR_UNINITIALIZED", "3, NVML_ERROR_NOT_SUPPORTED", "4, NVML_ERROR_NO_PERMISSION",
    "9, NVML_ERROR_DRIVER_NOT_LOADED", "12, NVML_ERROR_LIBRARY_NOT_FOUND", "13, NVML_ERROR_FUNCTION_NOT_FOUND",
    "15, NVML_ERROR_GPU_IS_LOST", "26, NVML_ERROR_DEPRECATED", "29, NVML_ERROR_INVALID_STATE",
    "999, NVML_ERROR_UNKNOWN", "77, NVML_ERROR_77",
  })
  void statusNamesFollowNvmlH(int status, String name) {
    assertEquals(name, Nvml.statusName(status));
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
