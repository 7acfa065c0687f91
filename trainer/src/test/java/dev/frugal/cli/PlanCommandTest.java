package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cli.TrainCommandTest.Result;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code frugal plan}: the text report, the JSON fields, the largest batch against the budget, and one-line errors. */
class PlanCommandTest {

    private static Result frugal(String... args) {
        return TrainCommandTest.frugal(args);
    }

    private static JsonNode planJson(String... extra) throws IOException {
        List<String> args = new java.util.ArrayList<>(List.of("plan", "--json"));
        args.addAll(List.of(extra));
        Result r = frugal(args.toArray(String[]::new));
        assertTrue(r.code() == 0 || r.code() == 1, r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void textReportShowsThePeakByClassCheckpointsAndTheLargestBatch() {
        Result r = frugal("plan", "--model", "mlp", "--batch-size", "32", "--memory-budget", "32MiB");
        assertEquals(0, r.code(), r.err());
        for (String part : List.of("memory plan of training mlp at batch size 32 with adamw", "evaluation programs (batches of 100)",
                "activations (arena)", "predicted peak", "checkpointing:", "recompute overhead", "memory budget 32.0 MiB", "fits",
                "largest batch that fits: ")) {
            assertTrue(r.out().contains(part), part + " in:\n" + r.out());
        }
        Result none = frugal("plan", "--model", "mlp");
        assertEquals(0, none.code(), none.err());
        assertTrue(none.out().contains("no memory budget"), none.out());
        assertTrue(none.out().contains("at batch size 16"), "the recipe's batch size: " + none.out());
    }

    @Test
    void jsonHasEveryFieldAndTheLargestBatchGrowsWithTheBudget() throws IOException {
        JsonNode j = planJson("--model", "cnn-small", "--batch-size", "64", "--memory-budget", "512MiB");
        for (String key : List.of("model", "batch_size", "predicted_peak_bytes", "unplanned_peak_bytes", "recompute_flops_ratio",
                "max_batch_size", "fits", "parameter_bytes", "state_bytes", "input_bytes", "activation_bytes", "workspace_bytes",
                "staging_bytes", "budget_bytes", "smallest_peak_bytes", "checkpoints", "evaluation_bytes")) {
            assertTrue(j.has(key), key + " missing: " + j);
        }
        assertEquals("cnn-small", j.get("model").asText());
        assertEquals(64, j.get("batch_size").asInt());
        assertEquals(512L << 20, j.get("budget_bytes").asLong());
        assertTrue(j.get("fits").asBoolean(), j.toString());
        assertTrue(j.get("predicted_peak_bytes").asLong() <= 512L << 20);
        assertTrue(j.get("checkpoints").isArray());
        assertTrue(j.get("max_batch_size").asInt() >= 64, j.toString());
        // cnn-small's recipe is SGD with momentum: one state tensor per parameter, plus the batch norms' statistics
        long params = j.get("parameter_bytes").asLong();
        long state = j.get("state_bytes").asLong();
        assertTrue(state > params && state < params + 64 * 1024, j.toString());

        JsonNode none = planJson("--model", "mlp", "--batch-size", "32");
        assertTrue(none.get("fits").asBoolean());
        assertTrue(none.get("max_batch_size").isNull(), "no budget, no largest batch: " + none);
        assertTrue(none.get("budget_bytes").isNull());
        assertEquals(1.0, none.get("recompute_flops_ratio").asDouble());

        int previous = -1;
        for (String budget : List.of("12MiB", "16MiB", "24MiB", "40MiB")) {
            int max = planJson("--model", "mlp", "--batch-size", "16", "--memory-budget", budget).get("max_batch_size").asInt();
            assertTrue(max >= previous, "a larger budget (" + budget + ") gives no smaller batch: " + max + " < " + previous);
            previous = max;
        }
        assertTrue(previous > 0);

        JsonNode tight = planJson("--model", "mlp", "--batch-size", "100000", "--memory-budget", "12MiB");
        assertFalse(tight.get("fits").asBoolean());
        assertTrue(tight.get("smallest_peak_bytes").asLong() > 12L << 20, tight.toString());
        assertEquals(1, frugal("plan", "--model", "mlp", "--batch-size", "100000", "--memory-budget", "12MiB").code(), "exit 1: does not fit");
    }

    @Test
    void badInputGetsOneClearLine() {
        Result below = frugal("plan", "--model", "mlp", "--memory-budget", "100KiB");
        assertEquals(2, below.code());
        assertTrue(below.err().startsWith("frugal plan: memory budget 100.0 KiB (102400 bytes) is below"), below.err());
        assertTrue(below.err().contains("of parameters") && below.err().contains("of optimizer state"), below.err());
        assertEquals(1, below.err().strip().lines().count(), below.err());

        Result unit = frugal("plan", "--model", "mlp", "--memory-budget", "12parsecs");
        assertEquals(2, unit.code());
        assertTrue(unit.err().contains("memory-budget") && unit.err().contains("unknown size unit 'parsecs'"), unit.err());

        Result zero = frugal("plan", "--model", "mlp", "--batch-size", "0");
        assertEquals(2, zero.code());
        assertTrue(zero.err().contains("batch-size must be at least 1"), zero.err());

        Result half = frugal("plan", "--model", "mlp", "--precision", "fp8");
        assertEquals(2, half.code());
        assertTrue(half.err().contains("valid: fp32, fp16, bf16"), half.err());

        Result auto = frugal("plan", "--model", "mlp", "--batch-size", "auto");
        assertEquals(2, auto.code());
        assertTrue(auto.err().contains("needs memory-budget"), auto.err());
    }

    @Test
    void planWithAPrecisionShowsWhichOpsRunInWhichDtypeAndTheSmallerArena() throws IOException {
        Result text = frugal("plan", "--model", "cnn-small", "--precision", "fp16");
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("autocast fp16:") && text.out().contains("conv2d") && text.out().contains("f16 x"), text.out());
        Result fp16 = frugal("plan", "--model", "cnn-small", "--precision", "fp16", "--json");
        Result fp32 = frugal("plan", "--model", "cnn-small", "--json");
        JsonNode half = new ObjectMapper().readTree(fp16.out());
        JsonNode full = new ObjectMapper().readTree(fp32.out());
        assertTrue(half.get("autocast").get("ops_low_precision").asInt() > 0, half.toString());
        assertEquals(2, half.get("autocast").get("by_op").get("conv2d").get("f16").asInt(), half.toString());
        assertEquals(0, full.get("autocast").get("ops_low_precision").asInt());
        assertTrue(half.get("activation_bytes").asLong() < 0.55 * full.get("activation_bytes").asLong(),
                half.get("activation_bytes") + " vs " + full.get("activation_bytes"));
    }
}
