package dev.frugal.trainer.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RunReport} and {@link RunComparison} on hand-written run directories: every plot of a
 * run with every field, plots skipped cleanly for an old run, a killed run and a torn metrics
 * line, escaping, stale plots removed, and a clear error for a directory that is not a run.
 */
class RunReportTest {
    @TempDir
    Path tmp;

    /** The {@code src} of every {@code <img>} in the page, resolved against its directory. */
    static List<Path> images(Path html) throws IOException {
        String page = Files.readString(html);
        Matcher m = Pattern.compile("<img src=\"([^\"]+)\"").matcher(page);
        List<Path> images = new ArrayList<>();
        while (m.find()) {
            images.add(html.getParent().resolve(java.net.URLDecoder.decode(m.group(1), java.nio.charset.StandardCharsets.UTF_8)));
        }
        return images;
    }

    /** Each image exists, is a PNG ImageIO can read, and has the plot size. */
    static void assertRealPngs(List<Path> images) throws IOException {
        for (Path png : images) {
            assertTrue(Files.isRegularFile(png), png + " missing");
            byte[] head = new byte[8];
            try (var in = Files.newInputStream(png)) {
                assertEquals(8, in.read(head));
            }
            assertEquals((byte) 0x89, head[0], png + " is not a PNG");
            assertEquals('P', head[1]);
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " unreadable");
            assertEquals(Charts.WIDTH, image.getWidth());
            assertEquals(Charts.HEIGHT, image.getHeight());
        }
    }

    @Test
    void fullRunHasEveryPlotTheSummaryAndTheGuardrail() throws IOException {
        Path run = SyntheticRuns.full(tmp.resolve("run-a"), "cnn-small", 1.0);
        Path html = RunReport.write(run);
        assertEquals(run.toAbsolutePath().normalize().resolve("report.html"), html);
        String page = Files.readString(html);
        assertTrue(page.contains("cnn-small"), page);
        for (PlotSpec spec : PlotSpec.REPORT) {
            assertTrue(page.contains("alt=\"" + spec.title() + "\""), spec.title() + " missing");
        }
        List<Path> images = images(html);
        assertEquals(PlotSpec.REPORT.size(), images.size());
        assertRealPngs(images);
        assertFalse(page.contains("Not plotted"), page);
        // summary rows from the optional fields
        assertTrue(page.contains("1,234,567"), page);
        assertTrue(page.contains("nvml"), page);
        assertTrue(page.contains("Energy per accuracy point"), page);
        assertTrue(page.contains("time 16.0s (98% used)"), page);
        assertTrue(page.contains("budget-time"), page);
        assertTrue(page.contains("GiB") || page.contains("MiB"), page);
        // the guardrail, listed and escaped; the unknown record type ignored; config escaped
        assertTrue(page.contains("halve lr"), page);
        assertTrue(page.contains("&lt;fp16 overflow?&gt;"), page);
        assertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), page);
        assertFalse(page.contains("<script>"), page);
        assertFalse(page.contains("future-thing"), page);
    }

    @Test
    void oldRunSkipsThePlotsItHasNoDataFor() throws IOException {
        Path run = SyntheticRuns.old(tmp.resolve("320MiB"), true);
        Path html = RunReport.write(run);
        String page = Files.readString(html);
        assertTrue(page.contains("deep-mlp:depth=64,width=512"), page);
        assertTrue(page.contains("alt=\"Loss by step\""), page);
        assertTrue(page.contains("alt=\"Test accuracy by step\""), page);
        assertTrue(page.contains("alt=\"Learning rate by step\""), page);
        assertTrue(page.contains("alt=\"Throughput by step\""), page);
        assertTrue(page.contains("Loss by wall time: no wall_seconds in metrics.jsonl"), page);
        assertTrue(page.contains("Loss by energy: no energy_joules in metrics.jsonl"), page);
        assertTrue(page.contains("Memory by step: no device_bytes or peak_device_bytes or host_bytes in metrics.jsonl"), page);
        assertTrue(page.contains("1 line(s) that are not JSON objects were skipped"), page);
        assertFalse(page.contains("Energy per accuracy point"), page);
        assertEquals(4, images(html).size());
        assertRealPngs(images(html));
        assertFalse(Files.exists(run.resolve("report/loss-energy.png")));
    }

    @Test
    void killedRunWithoutSummaryStillGetsAReport() throws IOException {
        Path run = SyntheticRuns.old(tmp.resolve("killed"), false);
        String page = Files.readString(RunReport.write(run));
        assertTrue(page.contains("no summary.json"), page);
        assertTrue(page.contains("unknown model"), page);
        assertTrue(page.contains("33.81%"), page);
    }

    @Test
    void summaryAloneGivesATableAndNoPlots() throws IOException {
        Path run = SyntheticRuns.old(tmp.resolve("s"), true);
        Files.delete(run.resolve("metrics.jsonl"));
        String page = Files.readString(RunReport.write(run));
        assertTrue(page.contains("No plots"), page);
        assertTrue(page.contains("34,093,578"), page);
    }

    @Test
    void rewritingRemovesPlotsThatNoLongerHaveData() throws IOException {
        Path run = SyntheticRuns.full(tmp.resolve("r"), "mlp", 1.0);
        RunReport.write(run);
        assertTrue(Files.exists(run.resolve("report/loss-energy.png")));
        Files.writeString(run.resolve("metrics.jsonl"), "{\"type\":\"step\",\"step\":1,\"loss\":2.0}\n");
        RunReport.write(run);
        assertFalse(Files.exists(run.resolve("report/loss-energy.png")));
        assertTrue(Files.exists(run.resolve("report/loss-step.png")));
    }

    @Test
    void aDirectoryThatIsNotARunIsRefusedByName() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("not-a-run"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunReport.write(empty));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("summary.json") && e.getMessage().contains("metrics.jsonl"), e.getMessage());
        Path missing = tmp.resolve("nowhere");
        e = assertThrows(IllegalArgumentException.class, () -> RunReport.write(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertFalse(Files.exists(missing));
    }

    @Test
    void comparisonDrawsEveryRunOnTheSameAxes() throws IOException {
        Path a = SyntheticRuns.full(tmp.resolve("runs/fast"), "cnn-small", 1.5);
        Path b = SyntheticRuns.old(tmp.resolve("runs/old run"), true);
        Path out = RunComparison.write(List.of(a, b), tmp.resolve("out/my compare.html"));
        String page = Files.readString(out);
        assertTrue(page.contains("fast") && page.contains("old run"), page);
        assertTrue(page.contains("cnn-small") && page.contains("deep-mlp:depth=64,width=512"), page);
        List<Path> images = images(out);
        assertEquals(PlotSpec.COMPARISON.size(), images.size(), "the full run has data for every plot");
        assertRealPngs(images);
        assertTrue(images.getFirst().startsWith(tmp.resolve("out/my compare-plots")), images.getFirst().toString());
        assertTrue(page.contains("Test accuracy by wall time: no data from old run"), page);
    }

    @Test
    void evaluationsWithoutTheirOwnTimeArePlacedAtTheTimeOfTheirStep() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("evals"));
        Files.writeString(run.resolve("metrics.jsonl"), """
            {"type":"step","step":1,"loss":2.0,"wall_seconds":1.0}
            {"type":"step","step":50,"loss":1.0,"wall_seconds":10.0}
            {"type":"epoch","epoch":1,"step":60,"wall_seconds":14.0}
            {"type":"eval","epoch":1,"step":60,"test_loss":1.2,"test_accuracy":0.5}
            {"type":"eval","epoch":1,"step":40,"test_loss":1.4,"test_accuracy":0.4}
            {"type":"eval","epoch":1,"step":99,"test_loss":1.1,"test_accuracy":0.6}
            """);
        RunData data = RunData.read(run);
        PlotSpec lossByWall = PlotSpec.REPORT.stream().filter(p -> p.file().equals("loss-wall.png")).findFirst().orElseThrow();
        Charts.Outcome outcome = Charts.draw(lossByWall, List.of(data), false);
        var dataset = outcome.chart().getXYPlot().getDataset();
        assertEquals(2, dataset.getSeriesCount());
        assertEquals("test loss", dataset.getSeriesKey(1));
        // step 40 lies between the steps logged at 1 s (step 1) and 10 s (step 50); step 60 is an epoch's end; step 99 is after everything
        assertEquals(2, dataset.getItemCount(1));
        assertEquals(1.0 + 9.0 * 39 / 49, dataset.getXValue(1, 0), 1e-9);
        assertEquals(14.0, dataset.getXValue(1, 1), 1e-9);
    }

    @Test
    void budgetsShowWhatWasSetAndHowMuchWasUsed() throws IOException {
        ObjectNode s = (ObjectNode) RunData.MAPPER.readTree("""
            {"budgets": {"time_seconds": 120, "energy_joules": 50000, "memory_bytes": null, "steps": 500},
             "budget_use": {"time": 0.5, "energy": 1.0}}""");
        assertEquals("time 2m0s (50% used); energy 50.0 kJ (100% used); steps 500", Summary.budgets(s));
        assertEquals("none", Summary.budgets((ObjectNode) RunData.MAPPER.readTree("{\"budgets\": {\"time_seconds\": null}}")));
        assertEquals(null, Summary.budgets(RunData.MAPPER.createObjectNode()));
    }

    @Test
    void htmlEscapesTextAndEncodesLinks() {
        assertEquals("&lt;a href=&quot;x&quot;&gt;&amp;&#39;", Html.escape("<a href=\"x\">&'"));
        assertEquals("my%20compare-plots/a.png", Html.relativeUrl("my compare-plots", "a.png"));
    }
}
