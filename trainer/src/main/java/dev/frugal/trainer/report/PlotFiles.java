package dev.frugal.trainer.report;

import dev.frugal.trainer.checkpoint.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Draws a page's plots and writes them as PNG files into one directory, each atomically. A plot
 * without data is skipped, and its file from an earlier report removed, so the directory never
 * shows a stale picture; a plot that fails to draw is skipped too, with the reason, rather than
 * costing the whole report.
 *
 * @param drawn the plots written, in page order
 * @param skipped one sentence per plot not drawn: its title and why
 * @param partial one sentence per plot drawn without some of the runs (a comparison): its title
 *     and the runs that have no data for it
 */
record PlotFiles(List<PlotSpec> drawn, List<String> skipped, List<String> partial) {
    private static final Logger LOG = LoggerFactory.getLogger(PlotFiles.class);

    /**
     * Draws and writes the plots.
     *
     * @param specs the plots, in page order
     * @param runs the runs plotted
     * @param perRun whether curves are named by run (a comparison)
     * @param dir the directory for the PNGs; created when a plot is written
     * @return what was written and what was skipped
     * @throws IOException if a PNG cannot be written
     */
    static PlotFiles write(List<PlotSpec> specs, List<RunData> runs, boolean perRun, Path dir) throws IOException {
        List<PlotSpec> drawn = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        List<String> partial = new ArrayList<>();
        for (PlotSpec spec : specs) {
            Path file = dir.resolve(spec.file());
            byte[] png;
            String why;
            try {
                Charts.Outcome outcome = Charts.draw(spec, runs, perRun);
                png = outcome.chart() == null ? null : Charts.png(outcome.chart());
                why = outcome.skipped();
                if (png != null && perRun && !outcome.runsWithoutData().isEmpty()) {
                    partial.add(spec.title() + ": no data from " + String.join(", ", outcome.runsWithoutData()));
                }
            } catch (RuntimeException e) {
                LOG.warn("plot {} failed; skipped", spec.title(), e);
                png = null;
                why = "drawing failed: " + e;
            }
            if (png == null) {
                LOG.info("{}: skipped plot '{}' ({})", dir, spec.title(), why);
                skipped.add(spec.title() + ": " + why);
                Files.deleteIfExists(file);
                continue;
            }
            Files.createDirectories(dir);
            AtomicFiles.write(file, png);
            drawn.add(spec);
        }
        return new PlotFiles(List.copyOf(drawn), List.copyOf(skipped), List.copyOf(partial));
    }
}
