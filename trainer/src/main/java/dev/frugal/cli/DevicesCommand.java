package dev.frugal.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.cuda.CudaDiscovery;
import dev.frugal.cuda.DeviceInfo;
import dev.frugal.cuda.DiscoveryReport;
import dev.frugal.cuda.LibraryStatus;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * {@code frugal devices [--json]}: which CUDA libraries were found (where, which version, or why
 * not and what to install) and which GPUs the driver sees. Never fails for a missing GPU: that
 * is a normal answer on a CPU-only machine. Output goes to the command line's writer, so tests
 * (and embedders) can capture it.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the CUDA libraries Frugal found (or why not) and the GPUs the driver sees.")
public final class DevicesCommand implements Runnable {
    @Option(names = "--json", description = "Print JSON: {\"libraries\":[...],\"devices\":[...]}.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Prints {@link CudaDiscovery#report()} as JSON or as tables. */
    @Override
    public void run() {
        DiscoveryReport report = CudaDiscovery.report();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(report));
        } else {
            printTable(report, out);
        }
        out.flush();
    }

    /** The report as JSON with the field names the documentation promises. */
    static String toJson(DiscoveryReport report) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ArrayNode libs = root.putArray("libraries");
        for (LibraryStatus lib : report.libraries()) {
            ObjectNode o = libs.addObject();
            o.put("name", lib.name());
            o.put("found", lib.found());
            o.put("path", lib.path());
            o.put("version", lib.version());
            o.put("reason", lib.reason());
        }
        ArrayNode devices = root.putArray("devices");
        for (DeviceInfo d : report.devices()) {
            ObjectNode o = devices.addObject();
            o.put("index", d.index());
            o.put("name", d.name());
            o.put("compute_capability", d.computeCapability());
            o.put("memory_bytes", d.memoryBytes());
            o.put("driver_version", d.driverVersion());
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("could not render the device report as JSON", e);
        }
    }

    /** The same report as two readable tables. */
    static void printTable(DiscoveryReport report, PrintWriter out) {
        out.println("Libraries");
        out.printf(Locale.ROOT, "  %-15s %-6s %-12s %s%n", "NAME", "FOUND", "VERSION", "PATH / REASON");
        for (LibraryStatus lib : report.libraries()) {
            String where = lib.found() ? lib.path() : lib.reason();
            out.printf(Locale.ROOT, "  %-15s %-6s %-12s %s%n", lib.name(), lib.found() ? "yes" : "no",
                    lib.version() == null ? "-" : lib.version(), where == null ? "" : where);
            if (lib.found() && lib.reason() != null) {
                out.printf(Locale.ROOT, "  %-15s %-6s %-12s note: %s%n", "", "", "", lib.reason());
            }
        }
        out.println();
        out.println("Devices");
        if (report.devices().isEmpty()) {
            out.println("  none: Frugal will train on the CPU");
            return;
        }
        out.printf(Locale.ROOT, "  %-5s %-32s %-8s %-12s %s%n", "INDEX", "NAME", "SM", "MEMORY", "DRIVER");
        for (DeviceInfo d : report.devices()) {
            out.printf(Locale.ROOT, "  %-5d %-32s %-8s %-12s %s%n", d.index(), d.name(), d.computeCapability(),
                    String.format(Locale.ROOT, "%.1f GiB", d.memoryBytes() / (1024.0 * 1024 * 1024)), d.driverVersion());
        }
    }
}
