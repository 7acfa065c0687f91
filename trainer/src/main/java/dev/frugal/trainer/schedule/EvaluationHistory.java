package dev.frugal.trainer.schedule;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.trainer.EvaluationMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The evaluations of a run as {@code metrics.jsonl} records them: what a resumed
 * {@link ReduceLrOnPlateau} replays to rebuild its state.
 *
 * <p>The file is append-only and a resumed run appends to it, so it may hold evaluations that a
 * crash made before their checkpoint was written, and their repeats after the resume. An
 * evaluation at step {@code s} therefore replaces every earlier record at step {@code s} or later
 * (the run went back and redid them), and only evaluations up to the step resumed from count.
 * The trainer evaluates before it checkpoints, so every evaluation up to a checkpoint's step is
 * in the file.
 */
public final class EvaluationHistory {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One evaluation.
     *
     * @param step optimizer steps done when it was made
     * @param value the metric's value; NaN where the file holds {@code null} (a non-finite value)
     */
    public record Entry(long step, double value) {
    }

    private EvaluationHistory() {
    }

    /**
     * Reads one metric of every {@code "type":"eval"} record of an image classifier's
     * {@code metrics.jsonl} (see {@link #read(Path, String, long, List)}).
     *
     * @param metricsFile the run's {@code metrics.jsonl}; a missing file is an empty history
     * @param metric the metric, one of {@link EvaluationMetrics#NAMES}
     * @param upToStep the step the run resumes from: later evaluations are left out
     * @return the evaluations, oldest first
     * @throws IOException as {@link #read(Path, String, long, List)}
     * @throws IllegalArgumentException when {@code metric} is not an image classifier's metric
     */
    public static List<Entry> read(Path metricsFile, String metric, long upToStep) throws IOException {
        return read(metricsFile, metric, upToStep, EvaluationMetrics.NAMES);
    }

    /**
     * Reads one metric of every {@code "type":"eval"} record of a {@code metrics.jsonl}.
     *
     * @param metricsFile the run's {@code metrics.jsonl}; a missing file is an empty history
     * @param metric the metric, one of {@code metrics}
     * @param upToStep the step the run resumes from: later evaluations are left out
     * @param metrics what the run's evaluations carry ({@code TrainingTask.metricNames()})
     * @return the evaluations, oldest first
     * @throws IOException when the file cannot be read, or a line other than an unfinished last
     *     one is not JSON, or an eval record lacks the step or the metric (the message names the line)
     * @throws IllegalArgumentException when {@code metric} is not one of {@code metrics}
     */
    public static List<Entry> read(Path metricsFile, String metric, long upToStep, List<String> metrics) throws IOException {
        if (!EvaluationMetrics.isMetric(metric, metrics)) {
            throw new IllegalArgumentException(EvaluationMetrics.unknownMetricMessage(metric, metrics));
        }
        List<Entry> entries = new ArrayList<>();
        if (!Files.exists(metricsFile)) {
            return entries;
        }
        List<String> lines = Files.readAllLines(metricsFile, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                if (i == lines.size() - 1) {
                    break; // a record cut short by a crash; the run resumes before it anyway
                }
                throw new IOException(metricsFile + " line " + (i + 1) + " is not a JSON record: " + e.getOriginalMessage(), e);
            }
            if (node == null || !node.isObject() || !"eval".equals(node.path("type").asText())) {
                continue;
            }
            JsonNode step = node.get("step");
            if (step == null || !step.canConvertToLong()) {
                throw new IOException(metricsFile + " line " + (i + 1) + ": eval record without a whole-number \"step\"");
            }
            JsonNode value = node.get(metric);
            if (value == null) {
                throw new IOException(metricsFile + " line " + (i + 1) + ": eval record without \"" + metric + "\"");
            }
            long s = step.asLong();
            entries.removeIf(e -> e.step() >= s);
            entries.add(new Entry(s, value(value, metricsFile, i + 1, metric)));
        }
        entries.removeIf(e -> e.step() > upToStep);
        return entries;
    }

    private static double value(JsonNode node, Path file, int line, String metric) throws IOException {
        if (node.isNull()) {
            return Double.NaN;
        }
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (node.isTextual()) {
            switch (node.asText()) {
                case "NaN":
                    return Double.NaN;
                case "Infinity":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity":
                    return Double.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw new IOException(file + " line " + line + ": \"" + metric + "\" is " + node + ", expected a number or null");
    }
}
