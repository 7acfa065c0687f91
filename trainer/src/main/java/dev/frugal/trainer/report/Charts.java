package dev.frugal.trainer.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.function.DoubleFunction;
import java.util.stream.Stream;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.SeriesRenderingOrder;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws a {@link PlotSpec} for one run (its curves named by the spec) or for several (one curve per
 * run, named by the run) with JFreeChart, headless, and encodes it as PNG.
 */
final class Charts {
    /** Pixel size of every plot. */
    static final int WIDTH = 900;
    static final int HEIGHT = 450;
    /** Points are drawn as markers only on curves this short; longer ones are lines. */
    private static final int MAX_MARKED_POINTS = 60;
    /** More guardrail actions than this are marked without labels, which would overlap. */
    private static final int MAX_MARKER_LABELS = 8;
    /** Distinct on white, colour-blind friendly (Okabe and Ito, then a few more). */
    private static final Color[] PALETTE = {
        new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
        new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000), new Color(0x8C564B),
        new Color(0x7F7F7F), new Color(0xBCBD22)};
    private static final Color GUARDRAIL = new Color(0xB22222);

    static {
        // no display is needed to draw into an image; leave an application's own choice alone
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /**
     * A drawn plot, or why it was not drawn.
     *
     * @param chart the chart, or null when skipped
     * @param skipped why it was skipped (e.g. {@code "no energy_joules in metrics.jsonl"}), or null
     * @param runsWithoutData the names of the runs that have no curve in the chart
     */
    record Outcome(JFreeChart chart, String skipped, List<String> runsWithoutData) {
    }

    private Charts() {
    }

    /**
     * Draws a plot.
     *
     * @param spec the plot
     * @param runs the runs: one for a report, several for a comparison
     * @param perRun whether each curve is named by its run (a comparison) rather than by the spec
     * @return the chart, or the reason it has no data
     */
    static Outcome draw(PlotSpec spec, List<RunData> runs, boolean perRun) {
        List<XYSeries> left = new ArrayList<>();
        List<XYSeries> right = new ArrayList<>();
        List<String> seriesNames = new ArrayList<>();
        List<String> runsWithoutData = new ArrayList<>();
        for (RunData run : runs) {
            int before = left.size();
            DoubleFunction<OptionalDouble> byStep = run.alongSteps(spec.xField());
            for (PlotSpec.Curve curve : spec.curves()) {
                String name = !perRun ? curve.name() : spec.curves().size() == 1 ? run.label() : run.label() + ": " + curve.name();
                addIfPoints(left, unique(name, seriesNames), points(run, curve, spec.xField(), byStep));
            }
            if (spec.secondary() != null) {
                String name = perRun ? run.label() + ": " + spec.secondary().name() : spec.secondary().name();
                addIfPoints(right, unique(name, seriesNames), points(run, spec.secondary(), spec.xField(), byStep));
            }
            if (left.size() == before) {
                runsWithoutData.add(run.name());
            }
        }
        if (left.isEmpty()) {
            return new Outcome(null, whyEmpty(spec, runs), runsWithoutData);
        }
        Quantity.Unit xUnit = spec.x().unitFor(max(Stream.concat(left.stream(), right.stream()).toList(), true));
        Quantity.Unit yUnit = spec.y().unitFor(max(left, false));

        NumberAxis xAxis = new NumberAxis(xUnit.label(spec.xName()));
        xAxis.setAutoRangeIncludesZero(false);
        if (spec.x() == Quantity.COUNT) {
            xAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        }
        NumberAxis yAxis = new NumberAxis(yUnit.label(spec.yName()));
        // a single point or a flat curve would otherwise get a range of ~1e-8 and unreadable ticks
        xAxis.setAutoRangeMinimumSize(minimumRange(max(left, true) / xUnit.divisor()));
        yAxis.setAutoRangeMinimumSize(minimumRange(max(left, false) / yUnit.divisor()));
        yAxis.setAutoRangeIncludesZero(spec.y() == Quantity.BYTES || spec.y() == Quantity.RATE);
        XYLineAndShapeRenderer renderer = renderer(left, 0, !perRun);
        XYPlot plot = new XYPlot(scaled(left, xUnit, yUnit), xAxis, yAxis, renderer);
        plot.setOrientation(PlotOrientation.VERTICAL);
        // later curves on top: a dashed peak stays visible over the current value it equals
        plot.setSeriesRenderingOrder(SeriesRenderingOrder.FORWARD);
        style(plot);
        if (!right.isEmpty()) {
            LogAxis scaleAxis = new LogAxis(spec.secondary().name() + " (log scale)");
            scaleAxis.setBase(2);
            scaleAxis.setSmallestValue(1e-3);
            scaleAxis.setAutoRangeMinimumSize(Math.max(max(right, false), 1));
            // whole powers of two, written out (65536), not as 2 with a fractional superscript
            scaleAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
            scaleAxis.setNumberFormatOverride(new java.text.DecimalFormat("0.###", java.text.DecimalFormatSymbols.getInstance(java.util.Locale.ROOT)));
            plot.setRangeAxis(1, scaleAxis);
            plot.setDataset(1, scaled(right, xUnit, new Quantity.Unit(1, "")));
            plot.setRenderer(1, renderer(right, left.size(), false));
            plot.mapDatasetToRangeAxis(1, 1);
        }
        JFreeChart chart = new JFreeChart(spec.title(), new Font("SansSerif", Font.BOLD, 16), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        // a lone curve named like its axis needs no legend; "device memory" on a "memory" axis does
        if (!perRun && left.size() + right.size() == 1 && left.getFirst().getKey().equals(spec.yName())) {
            chart.removeLegend();
        }
        if (spec.guardrails() && runs.size() == 1 && !runs.getFirst().guardrails().isEmpty()) {
            markGuardrails(chart, plot, runs.getFirst().guardrails());
        }
        return new Outcome(chart, null, runsWithoutData);
    }

    /**
     * The chart as a PNG.
     *
     * @param chart the chart
     * @return the PNG's bytes, {@link #WIDTH} by {@link #HEIGHT}
     * @throws IOException if encoding fails
     */
    static byte[] png(JFreeChart chart) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT);
        return out.toByteArray();
    }

    /**
     * A curve's points, x to y: a record without the x field (an evaluation in a run that logs time
     * only on steps and epochs) takes the x of its step number; a repeated x (the steps
     * after the last checkpoint, logged again by a resumed run) keeps the later value.
     */
    private static NavigableMap<Double, Double> points(RunData run, PlotSpec.Curve curve, String xField,
                                                       DoubleFunction<OptionalDouble> byStep) {
        List<ObjectNode> records = curve.source() == PlotSpec.Source.STEPS ? run.steps() : run.evals();
        NavigableMap<Double, Double> points = new TreeMap<>();
        for (ObjectNode r : records) {
            OptionalDouble y = RunData.number(r, curve.field());
            if (y.isEmpty()) {
                continue;
            }
            OptionalDouble x = RunData.number(r, xField);
            if (x.isEmpty()) {
                OptionalDouble step = RunData.number(r, "step");
                x = step.isPresent() ? byStep.apply(step.getAsDouble()) : OptionalDouble.empty();
            }
            if (x.isPresent()) {
                points.put(x.getAsDouble(), y.getAsDouble());
            }
        }
        return points;
    }

    private static void addIfPoints(List<XYSeries> into, String name, NavigableMap<Double, Double> points) {
        if (points.isEmpty()) {
            return;
        }
        XYSeries series = new XYSeries(name, false, true);
        points.forEach(series::add);
        into.add(series);
    }

    /** JFreeChart needs distinct series keys; two runs in directories of the same name get {@code #2}. */
    private static String unique(String name, List<String> taken) {
        String candidate = name;
        for (int n = 2; taken.contains(candidate); n++) {
            candidate = name + " #" + n;
        }
        taken.add(candidate);
        return candidate;
    }

    private static String whyEmpty(PlotSpec spec, List<RunData> runs) {
        String where = runs.size() == 1 ? " in metrics.jsonl" : " in any run's metrics.jsonl";
        boolean anyX = spec.xField().equals("step") || runs.stream()
            .flatMap(r -> Stream.of(r.steps(), r.evals(), r.epochs()).flatMap(List::stream))
            .anyMatch(r -> RunData.number(r, spec.xField()).isPresent());
        if (!anyX) {
            return "no " + spec.xField() + where;
        }
        List<String> fields = spec.curves().stream().map(PlotSpec.Curve::field).toList();
        return "no " + String.join(" or ", fields) + (spec.xField().equals("step") ? "" : " with " + spec.xField()) + where;
    }

    private static double max(List<XYSeries> series, boolean x) {
        double max = 0;
        for (XYSeries s : series) {
            max = Math.max(max, Math.max(Math.abs(x ? s.getMaxX() : s.getMaxY()), Math.abs(x ? s.getMinX() : s.getMinY())));
        }
        return max;
    }

    /** A fifth of the largest magnitude shown, so a flat curve sits in the middle of a sensible range. */
    private static double minimumRange(double largest) {
        return Math.max(0.2 * Math.abs(largest), 1e-6);
    }

    private static XYSeriesCollection scaled(List<XYSeries> series, Quantity.Unit xUnit, Quantity.Unit yUnit) {
        XYSeriesCollection dataset = new XYSeriesCollection();
        for (XYSeries s : series) {
            XYSeries copy = new XYSeries(s.getKey(), false, true);
            for (int i = 0; i < s.getItemCount(); i++) {
                copy.add(s.getX(i).doubleValue() / xUnit.divisor(), s.getY(i).doubleValue() / yUnit.divisor());
            }
            dataset.addSeries(copy);
        }
        return dataset;
    }

    /**
     * Lines 2 px wide, one palette colour each; with {@code dashPeaks}, a curve named as a peak is
     * dashed, so that on a CPU, where the peak and the current device memory coincide, both show.
     */
    private static XYLineAndShapeRenderer renderer(List<XYSeries> series, int firstColour, boolean dashPeaks) {
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < series.size(); i++) {
            renderer.setSeriesPaint(i, PALETTE[(firstColour + i) % PALETTE.length]);
            boolean dashed = dashPeaks && series.get(i).getKey().toString().startsWith("peak ");
            renderer.setSeriesStroke(i, dashed
                ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {8f, 6f}, 0f)
                : new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            renderer.setSeriesShapesVisible(i, series.get(i).getItemCount() <= MAX_MARKED_POINTS);
        }
        return renderer;
    }

    private static void style(XYPlot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        plot.setOutlinePaint(new Color(0x999999));
    }

    private static void markGuardrails(JFreeChart chart, XYPlot plot, List<ObjectNode> guardrails) {
        boolean labelled = guardrails.size() <= MAX_MARKER_LABELS;
        for (ObjectNode g : guardrails) {
            OptionalDouble step = RunData.number(g, "step");
            if (step.isEmpty()) {
                continue;
            }
            ValueMarker marker = new ValueMarker(step.getAsDouble(), GUARDRAIL,
                new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            if (labelled) {
                marker.setLabel(g.path("action").asText("guardrail"));
                marker.setLabelFont(new Font("SansSerif", Font.PLAIN, 11));
                marker.setLabelPaint(GUARDRAIL);
                marker.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
                marker.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            }
            plot.addDomainMarker(marker);
        }
        TextTitle note = new TextTitle("dashed red lines: guardrail actions (listed below the plots)", new Font("SansSerif", Font.PLAIN, 11));
        note.setPaint(GUARDRAIL);
        chart.addSubtitle(note);
    }
}
