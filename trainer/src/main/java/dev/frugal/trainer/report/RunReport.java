package dev.frugal.trainer.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The report of one run: {@code RUN_DIR/report.html}, with its plots as PNG files in
 * {@code RUN_DIR/report/}. The page shows the summary table (model, size, how the run ended,
 * budgets, best and final accuracy, time, energy and its source, energy per accuracy point,
 * memory), loss and test accuracy against step, wall time and energy, the learning rate (and
 * loss scale), memory and throughput against step, the guardrail actions and the configuration.
 * Writing it again replaces it.
 *
 * <pre>{@code
 * Path html = RunReport.write(run.path());   // at the end of a run
 * }</pre>
 */
public final class RunReport {
    /** The page, in the run directory. */
    public static final String REPORT_FILE = "report.html";
    /** The directory of the page's plots, in the run directory. */
    public static final String PLOTS_DIR = "report";

    private static final Logger LOG = LoggerFactory.getLogger(RunReport.class);

    private RunReport() {
    }

    /**
     * Writes the report of a run. Missing optional data (a run without energy figures, an older
     * run without wall times, a run killed before its summary) only leaves out the plots and rows
     * it would feed; the page lists what was left out and why.
     *
     * @param runDir the run directory, written by {@code frugal train}
     * @return the path of {@code report.html}
     * @throws IllegalArgumentException naming the path when it is not a run directory (neither
     *     {@code summary.json} nor {@code metrics.jsonl})
     * @throws IOException if the metrics cannot be read or the report cannot be written; the old
     *     report, if any, is then left whole
     */
    public static Path write(Path runDir) throws IOException {
        RunData run = RunData.read(runDir);
        PlotFiles plots = PlotFiles.write(PlotSpec.REPORT, List.of(run), false, run.dir().resolve(PLOTS_DIR));
        Path html = run.dir().resolve(REPORT_FILE);
        AtomicFiles.write(html, page(run, plots).getBytes(StandardCharsets.UTF_8));
        LOG.info("wrote {} ({} plots, {} skipped)", html, plots.drawn().size(), plots.skipped().size());
        return html;
    }

    private static String page(RunData run, PlotFiles plots) {
        StringBuilder html = Html.page("Frugal run report: " + run.label());
        html.append("<h1>Run report: ").append(Html.escape(run.model())).append("</h1>\n<p class=\"path\">")
            .append(Html.escape(run.dir().toString())).append("</p>\n");

        html.append("<h2>Summary</h2>\n<table>\n");
        for (Map.Entry<String, String> row : Summary.rows(run).entrySet()) {
            html.append("<tr><th>").append(Html.escape(row.getKey())).append("</th><td>").append(Html.escape(row.getValue())).append("</td></tr>\n");
        }
        html.append("</table>\n");
        Html.notes(html, "Notes:", run.problems());

        html.append("<h2>Plots</h2>\n");
        if (plots.drawn().isEmpty()) {
            html.append("<p class=\"skipped\">No plots: the run has no metrics to plot.</p>\n");
        }
        for (PlotSpec spec : plots.drawn()) {
            Html.figure(html, Html.relativeUrl(PLOTS_DIR, spec.file()), spec.title());
        }
        Html.notes(html, "Not plotted:", plots.skipped());

        if (!run.guardrails().isEmpty()) {
            html.append("<h2>Guardrail actions</h2>\n<table>\n<tr><th>step</th><th>action</th><th>reason</th></tr>\n");
            for (ObjectNode g : run.guardrails()) {
                html.append("<tr><td class=\"num\">").append(Html.escape(g.path("step").asText(""))).append("</td><td>")
                    .append(Html.escape(g.path("action").asText("") + (g.hasNonNull("budget") ? " (" + g.get("budget").asText() + ")" : "")))
                    .append("</td><td>")
                    .append(Html.escape(g.path("reason").asText(""))).append("</td></tr>\n");
            }
            html.append("</table>\n");
        }

        if (!run.config().isEmpty()) {
            html.append("<h2>Configuration</h2>\n<table>\n");
            List<Map.Entry<String, JsonNode>> options = new ArrayList<>(run.config().properties());
            for (Map.Entry<String, JsonNode> option : options) {
                JsonNode v = option.getValue();
                html.append("<tr><th>").append(Html.escape(option.getKey())).append("</th><td>")
                    .append(Html.escape(v.isValueNode() ? v.asText() : v.toString())).append("</td></tr>\n");
            }
            html.append("</table>\n");
        }
        return Html.end(html, "Written by frugal report on " + ZonedDateTime.now().format(DateTimeFormatter.RFC_1123_DATE_TIME)
            + " from summary.json and metrics.jsonl.");
    }
}
