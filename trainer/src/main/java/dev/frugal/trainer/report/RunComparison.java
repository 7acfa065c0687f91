package dev.frugal.trainer.report;

import dev.frugal.trainer.checkpoint.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Several runs side by side: one HTML page with their summaries as columns of one table and
 * plots that draw every run on the same axes, one curve per run named by its directory and model.
 * The plots go to a directory beside the page, named after it ({@code compare.html} puts them in
 * {@code compare-plots/}).
 */
public final class RunComparison {
    /** The default page, in the working directory. */
    public static final String DEFAULT_FILE = "compare.html";

    private RunComparison() {
    }

    /**
     * Writes the comparison.
     *
     * @param runDirs the run directories, in column and legend order; at least one
     * @param output the page to write; its directory is created when missing
     * @return the page's path, absolute
     * @throws IllegalArgumentException if there is no run, or one of them is not a run directory
     *     (the message names it)
     * @throws IOException if a run's metrics cannot be read or the page cannot be written
     */
    public static Path write(List<Path> runDirs, Path output) throws IOException {
        if (runDirs.isEmpty()) {
            throw new IllegalArgumentException("no run directories to compare");
        }
        List<RunData> runs = new ArrayList<>();
        for (Path dir : runDirs) {
            runs.add(RunData.read(dir));
        }
        Path page = output.toAbsolutePath().normalize();
        Path parent = page.getParent();
        Files.createDirectories(parent);
        String stem = page.getFileName().toString().replaceFirst("\\.html?$", "");
        String plotsDir = stem + "-plots";
        PlotFiles plots = PlotFiles.write(PlotSpec.COMPARISON, runs, true, parent.resolve(plotsDir));
        AtomicFiles.write(page, html(runs, plots, plotsDir).getBytes(StandardCharsets.UTF_8));
        return page;
    }

    private static String html(List<RunData> runs, PlotFiles plots, String plotsDir) {
        StringBuilder html = Html.page("Frugal comparison of " + runs.size() + " runs");
        html.append("<h1>Comparison of ").append(runs.size()).append(" runs</h1>\n<ul class=\"path\">\n");
        for (RunData run : runs) {
            html.append("<li>").append(Html.escape(run.dir().toString())).append("</li>\n");
        }
        html.append("</ul>\n<h2>Summary</h2>\n<table>\n<tr><th></th>");
        List<Map<String, String>> rows = new ArrayList<>();
        Set<String> labels = new LinkedHashSet<>();
        for (RunData run : runs) {
            html.append("<th>").append(Html.escape(run.name())).append("</th>");
            Map<String, String> r = Summary.rows(run);
            rows.add(r);
            labels.addAll(r.keySet());
        }
        html.append("</tr>\n");
        for (String label : labels) {
            html.append("<tr><th>").append(Html.escape(label)).append("</th>");
            for (Map<String, String> r : rows) {
                html.append("<td>").append(Html.escape(r.getOrDefault(label, "\u2013"))).append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</table>\n");
        List<String> problems = new ArrayList<>();
        for (RunData run : runs) {
            run.problems().forEach(p -> problems.add(run.name() + ": " + p));
        }
        Html.notes(html, "Notes:", problems);

        html.append("<h2>Plots</h2>\n");
        if (plots.drawn().isEmpty()) {
            html.append("<p class=\"skipped\">No plots: none of the runs has metrics to plot.</p>\n");
        }
        for (PlotSpec spec : plots.drawn()) {
            Html.figure(html, Html.relativeUrl(plotsDir, spec.file()), spec.title());
        }
        Html.notes(html, "Plotted without some runs:", plots.partial());
        Html.notes(html, "Not plotted:", plots.skipped());
        return Html.end(html, "Written by frugal compare on " + ZonedDateTime.now().format(DateTimeFormatter.RFC_1123_DATE_TIME) + ".");
    }
}
