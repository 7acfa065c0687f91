package dev.frugal.trainer.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every schedule against the learning rates PyTorch's schedulers produce for the same spec,
 * recorded by {@code schedule/generate_reference.py} into {@code schedule/reference.json}.
 */
class LrScheduleReferenceTest {
    /** PyTorch's StepLR and CosineAnnealingLR update recursively, so they drift by a few ulps. */
    private static final double RELATIVE_TOLERANCE = 1e-9;

    static Stream<Arguments> cases() throws IOException {
        JsonNode root;
        try (InputStream in = LrScheduleReferenceTest.class.getResourceAsStream("/schedule/reference.json")) {
            assertNotNull(in, "schedule/reference.json is missing from the test resources");
            root = new ObjectMapper().readTree(in);
        }
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            List<Double> lrs = new ArrayList<>();
            c.get("lr").forEach(v -> lrs.add(v.asDouble()));
            cases.add(Arguments.of(c.get("spec").asText(), c.get("base_lr").asDouble(),
                c.get("total_steps").asLong(), lrs));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} base={1} total={2}")
    @MethodSource("cases")
    void matchesPyTorch(String spec, double baseLr, long totalSteps, List<Double> expected) {
        LrSchedule schedule = LrSchedules.parse(spec, baseLr, totalSteps);
        for (int step = 0; step < expected.size(); step++) {
            double want = expected.get(step);
            double got = schedule.lr(step);
            assertEquals(want, got, Math.max(1e-15, Math.abs(want) * RELATIVE_TOLERANCE),
                () -> schedule.describe() + " differs from PyTorch");
        }
    }

    @Test
    void referenceCoversEverySchedule() throws IOException {
        List<String> specs = cases().map(a -> (String) a.get()[0]).toList();
        for (String name : List.of("constant", "step", "warmup-cosine", "one-cycle")) {
            assertFalse(specs.stream().noneMatch(s -> s.equals(name) || s.startsWith(name + ":")),
                "no reference case for " + name);
        }
    }
}
