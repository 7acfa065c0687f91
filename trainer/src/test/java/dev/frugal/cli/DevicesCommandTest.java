package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.DiscoveryReport;
import dev.frugal.cuda.LibraryStatus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code frugal devices}: the JSON field names and types the issue fixes, and the readable tables. */
class DevicesCommandTest {

    private static final DiscoveryReport REPORT = new DiscoveryReport(
            List.of(new LibraryStatus("cuda-driver", true, "/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07", "13.0",
                            null),
                    new LibraryStatus("cublas", true, "/venv/nvidia/cu13/lib/libcublas.so.13", "13.1.1",
                            "a warning about cublas"),
                    new LibraryStatus("cudnn", false, null, null, "libcudnn.so.9 not found (searched /x); pip install it")),
            List.of(new DeviceInfo(0, "NVIDIA GeForce RTX 4090", "8.9", 25_757_220_864L, "13.0")));

    @Test
    void jsonHasExactlyTheDocumentedFieldsWithTheirTypes() throws Exception {
        JsonNode root = new ObjectMapper().readTree(DevicesCommand.toJson(REPORT));

        assertEquals(List.of("libraries", "devices"), fieldNames(root));
        JsonNode libraries = root.get("libraries");
        assertEquals(3, libraries.size());
        for (JsonNode library : libraries) {
            assertEquals(List.of("name", "found", "path", "version", "reason"), fieldNames(library));
            assertTrue(library.get("found").isBoolean(), library::toString);
        }
        JsonNode cudnn = libraries.get(2);
        assertEquals("cudnn", cudnn.get("name").asText());
        assertTrue(cudnn.get("path").isNull() && cudnn.get("version").isNull(), cudnn::toString);
        assertEquals("libcudnn.so.9 not found (searched /x); pip install it", cudnn.get("reason").asText());
        assertTrue(libraries.get(0).get("reason").isNull());
        JsonNode device = root.get("devices").get(0);
        assertEquals(List.of("index", "name", "compute_capability", "memory_bytes", "driver_version"), fieldNames(device));
        assertEquals(0, device.get("index").intValue());
        assertEquals("8.9", device.get("compute_capability").textValue());
        assertEquals(25_757_220_864L, device.get("memory_bytes").longValue());
        assertTrue(device.get("memory_bytes").isIntegralNumber());
        assertEquals("13.0", device.get("driver_version").textValue());
    }

    @Test
    void tableShowsPathsForFoundLibrariesReasonsForMissingOnesAndTheGpus() {
        StringWriter out = new StringWriter();
        DevicesCommand.printTable(REPORT, new PrintWriter(out, true));

        List<String> lines = out.toString().lines().toList();
        assertEquals("Libraries", lines.get(0));
        assertEquals("  NAME            FOUND  VERSION      PATH / REASON", lines.get(1));
        assertEquals("  cuda-driver     yes    13.0         /usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07", lines.get(2));
        assertEquals("  cublas          yes    13.1.1       /venv/nvidia/cu13/lib/libcublas.so.13", lines.get(3));
        assertEquals("                                      note: a warning about cublas", lines.get(4));
        assertEquals("  cudnn           no     -            libcudnn.so.9 not found (searched /x); pip install it",
                lines.get(5));
        assertEquals("", lines.get(6));
        assertEquals("Devices", lines.get(7));
        assertEquals("  INDEX NAME                             SM       MEMORY       DRIVER", lines.get(8));
        assertEquals("  0     NVIDIA GeForce RTX 4090          8.9      24.0 GiB     13.0", lines.get(9));
    }

    @Test
    void tableSaysTheCpuIsUsedWhenThereIsNoGpu() {
        StringWriter out = new StringWriter();
        DevicesCommand.printTable(new DiscoveryReport(REPORT.libraries(), List.of()), new PrintWriter(out, true));

        assertTrue(out.toString().endsWith("Devices\n  none: Frugal will train on the CPU\n"), out::toString);
    }

    @Test
    void theCommandPrintsThisMachinesReportAsJsonAndNeverFails() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setOut(new PrintWriter(out));

        int code = cli.execute("devices", "--json");

        assertEquals(0, code, out::toString);
        JsonNode root = new ObjectMapper().readTree(out.toString());
        List<String> names = new ArrayList<>();
        root.get("libraries").forEach(library -> names.add(library.get("name").asText()));
        assertTrue(names.containsAll(List.of("cuda-driver", "nvml", "cublasLt", "cublas", "nvrtc", "nvrtc-builtins",
                "cudnn")), names::toString);
        root.get("libraries").forEach(library -> assertTrue(
                library.get("found").booleanValue() || !library.get("reason").asText().isBlank(), library::toString));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
