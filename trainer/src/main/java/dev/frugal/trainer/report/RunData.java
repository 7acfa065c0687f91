package dev.frugal.trainer.report;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.trainer.run.RunDirectory;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a report reads from one run directory: {@code summary.json}, {@code config.json} and the
 * records of {@code metrics.jsonl}, grouped by their {@code "type"}. Everything but the directory
 * itself is optional: a missing or unreadable file, a torn last line (a killed run) or a record of
 * an unknown type is logged and left out, never fatal.
 *
 * @param dir the run directory, absolute and normalised
 * @param summary {@code summary.json}; an empty object when absent or unreadable
 * @param config {@code config.json}; an empty object when absent or unreadable
 * @param steps the {@code "step"} records, in file order
 * @param evals the {@code "eval"} records, in file order
 * @param epochs the {@code "epoch"} records, in file order
 * @param guardrails the {@code "guardrail"} records, in file order
 * @param problems what could not be read, one sentence each, for the page
 */
record RunData(Path dir, ObjectNode summary, ObjectNode config, List<ObjectNode> steps, List<ObjectNode> evals,
               List<ObjectNode> epochs, List<ObjectNode> guardrails, List<String> problems) {
    private static final Logger LOG = LoggerFactory.getLogger(RunData.class);
    /** Reading only: no writer configuration needed. */
    static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * Reads a run directory.
     *
     * @param runDir the directory
     * @return its data
     * @throws IllegalArgumentException naming the path if it is not a directory, or has neither
     *     {@code summary.json} nor {@code metrics.jsonl}
     * @throws IOException if {@code metrics.jsonl} exists but cannot be read at all
     */
    static RunData read(Path runDir) throws IOException {
        Path dir = runDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is not a run directory: "
                + (Files.exists(dir) ? "not a directory" : "no such directory"));
        }
        Path summaryFile = dir.resolve(RunDirectory.SUMMARY_FILE);
        Path metricsFile = dir.resolve(RunDirectory.METRICS_FILE);
        if (!Files.isRegularFile(summaryFile) && !Files.isRegularFile(metricsFile)) {
            throw new IllegalArgumentException(dir + " is not a run directory: it has neither "
                + RunDirectory.SUMMARY_FILE + " nor " + RunDirectory.METRICS_FILE + " (expected a directory written by frugal train)");
        }
        List<String> problems = new ArrayList<>();
        ObjectNode summary = readObject(summaryFile, problems);
        ObjectNode config = readObject(dir.resolve(RunDirectory.CONFIG_FILE), problems);
        List<ObjectNode> steps = new ArrayList<>();
        List<ObjectNode> evals = new ArrayList<>();
        List<ObjectNode> epochs = new ArrayList<>();
        List<ObjectNode> guardrails = new ArrayList<>();
        if (Files.isRegularFile(metricsFile)) {
            Map<String, List<ObjectNode>> byType = Map.of("step", steps, "eval", evals, "epoch", epochs, "guardrail", guardrails);
            int lineNumber = 0;
            int bad = 0;
            try (BufferedReader in = Files.newBufferedReader(metricsFile, StandardCharsets.UTF_8)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lineNumber++;
                    if (line.isBlank()) {
                        continue;
                    }
                    try {
                        JsonNode node = MAPPER.readTree(line);
                        if (node instanceof ObjectNode record) {
                            List<ObjectNode> list = byType.get(record.path("type").asText(""));
                            if (list != null) {
                                list.add(record);
                            }
                            // other types are newer than this report: ignored
                        } else {
                            bad++;
                        }
                    } catch (JacksonException e) {
                        // a torn last line after a crash is normal; anything else is still not worth failing over
                        if (bad++ == 0) {
                            LOG.warn("{} line {}: not a JSON object, skipped ({})", metricsFile, lineNumber, e.getOriginalMessage());
                        }
                    }
                }
            }
            if (bad > 0) {
                problems.add(RunDirectory.METRICS_FILE + ": " + bad + " line(s) that are not JSON objects were skipped");
            }
        } else {
            problems.add("no " + RunDirectory.METRICS_FILE + ": nothing to plot");
        }
        if (!Files.isRegularFile(summaryFile)) {
            problems.add("no " + RunDirectory.SUMMARY_FILE + " (the run has not finished?)");
        }
        return new RunData(dir, summary, config, Collections.unmodifiableList(steps), Collections.unmodifiableList(evals),
            Collections.unmodifiableList(epochs), Collections.unmodifiableList(guardrails), Collections.unmodifiableList(problems));
    }

    private static ObjectNode readObject(Path file, List<String> problems) {
        if (!Files.isRegularFile(file)) {
            return MAPPER.createObjectNode();
        }
        try {
            JsonNode node = MAPPER.readTree(file.toFile());
            if (node instanceof ObjectNode object) {
                return object;
            }
            problems.add(file.getFileName() + " is not a JSON object; ignored");
        } catch (IOException e) {
            String why = e instanceof JacksonException j ? j.getOriginalMessage() : e.getMessage();
            LOG.warn("{}: unreadable, ignored ({})", file, why);
            problems.add(file.getFileName() + " could not be read (" + why + "); ignored");
        }
        return MAPPER.createObjectNode();
    }

    /** The directory's own name, which names the run in comparisons. */
    String name() {
        Path file = dir.getFileName();
        return file == null ? dir.toString() : file.toString();
    }

    /** The model: from the summary, else the configuration, else "unknown model". */
    String model() {
        String model = summary.path("model").asText("");
        if (model.isEmpty()) {
            model = config.path("model").asText("");
        }
        return model.isEmpty() ? "unknown model" : model;
    }

    /** How a run is named in a legend: {@code "dir (model)"}. */
    String label() {
        return name() + " (" + model() + ")";
    }

    /**
     * A finite number from a record or the summary.
     *
     * @return the value; empty when the field is absent, null, not a number, or NaN or infinite
     *     (Jackson writes those as the strings {@code "NaN"} and {@code "Infinity"})
     */
    static OptionalDouble number(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !value.isNumber()) {
            return OptionalDouble.empty();
        }
        double d = value.asDouble();
        return Double.isFinite(d) ? OptionalDouble.of(d) : OptionalDouble.empty();
    }

    /**
     * Where a step lies on another axis: the value of {@code field} ({@code wall_seconds},
     * {@code energy_joules}) that the step and epoch records give at {@code step}, interpolated
     * linearly between the nearest records around it when none was logged at that step. This places
     * an evaluation, which logs no time of its own in some versions, at its time.
     *
     * @param field the x field
     * @return a lookup from step to the field's value; empty where the step is outside the logged ones
     */
    java.util.function.DoubleFunction<OptionalDouble> alongSteps(String field) {
        java.util.TreeMap<Double, Double> byStep = new java.util.TreeMap<>();
        for (List<ObjectNode> list : List.of(epochs, steps)) {
            for (ObjectNode r : list) {
                OptionalDouble step = number(r, "step");
                OptionalDouble value = number(r, field);
                if (step.isPresent() && value.isPresent()) {
                    byStep.put(step.getAsDouble(), value.getAsDouble());
                }
            }
        }
        return step -> {
            Map.Entry<Double, Double> below = byStep.floorEntry(step);
            Map.Entry<Double, Double> above = byStep.ceilingEntry(step);
            if (below == null || above == null) {
                return OptionalDouble.empty();
            }
            if (below.getKey().equals(above.getKey())) {
                return OptionalDouble.of(below.getValue());
            }
            double t = (step - below.getKey()) / (above.getKey() - below.getKey());
            return OptionalDouble.of(below.getValue() + t * (above.getValue() - below.getValue()));
        };
    }

    /** The best {@code test_accuracy} of the evaluations, else the summary's. */
    OptionalDouble bestAccuracy() {
        OptionalDouble best = evals.stream().map(e -> number(e, "test_accuracy")).filter(OptionalDouble::isPresent)
            .mapToDouble(OptionalDouble::getAsDouble).max();
        return best.isPresent() ? best : number(summary, "test_accuracy");
    }

    /** The summary's {@code test_accuracy}, else the last evaluation's. */
    OptionalDouble finalAccuracy() {
        OptionalDouble s = number(summary, "test_accuracy");
        if (s.isPresent()) {
            return s;
        }
        for (int i = evals.size() - 1; i >= 0; i--) {
            OptionalDouble a = number(evals.get(i), "test_accuracy");
            if (a.isPresent()) {
                return a;
            }
        }
        return OptionalDouble.empty();
    }

    /**
     * A cumulative counter ({@code wall_seconds}, {@code energy_joules}, ...): the summary's, else
     * the largest value in any record (a run killed before its summary still has its records).
     */
    OptionalDouble total(String field) {
        OptionalDouble s = number(summary, field);
        if (s.isPresent()) {
            return s;
        }
        return java.util.stream.Stream.of(steps, evals, epochs).flatMap(List::stream).map(r -> number(r, field))
            .filter(OptionalDouble::isPresent).mapToDouble(OptionalDouble::getAsDouble).max();
    }

    /** The largest value of a field over the step records, else the summary's. */
    OptionalDouble peak(String field) {
        OptionalDouble s = number(summary, field);
        if (s.isPresent()) {
            return s;
        }
        return steps.stream().map(r -> number(r, field)).filter(OptionalDouble::isPresent).mapToDouble(OptionalDouble::getAsDouble).max();
    }
}
