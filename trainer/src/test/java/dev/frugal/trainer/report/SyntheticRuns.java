package dev.frugal.trainer.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Run directories written by hand, as {@code frugal train} writes them: a full one with every
 * optional field (wall time, energy, memory, loss scale, budgets, a guardrail action) and an
 * old-style one with only what the first versions logged.
 */
public final class SyntheticRuns {
    private SyntheticRuns() {
    }

    /**
     * A 300-step run with every field: a warm-up then cosine learning rate, a loss that falls, an
     * evaluation every 50 steps, a guardrail action at step 120, and a summary with budgets and an
     * energy source.
     *
     * @param dir the directory to create
     * @param model the model name
     * @param speed scales the loss and accuracy curves, so two runs differ
     * @return {@code dir}
     * @throws IOException if writing fails
     */
    public static Path full(Path dir, String model, double speed) throws IOException {
        Files.createDirectories(dir.resolve("checkpoints"));
        List<String> lines = new ArrayList<>();
        double wall = 0;
        double energy = 0;
        long peak = 0;
        double scale = 65536;
        for (int step = 1; step <= 300; step++) {
            wall += 0.05 + 0.01 * (step % 7) / 7.0;
            energy += 9.5;
            double lr = step <= 30 ? 0.1 * step / 30 : 0.05 * (1 + Math.cos(Math.PI * (step - 30) / 270.0));
            double loss = 2.3 * Math.exp(-speed * step / 80.0) + 0.25 + 0.05 * Math.sin(step * 1.7);
            long device = 600L * 1024 * 1024 + (step % 10) * 20L * 1024 * 1024;
            peak = Math.max(peak, device + 64L * 1024 * 1024);
            if (step % 97 == 0) {
                scale /= 2;
            } else if (step % 150 == 0) {
                scale *= 2;
            }
            lines.add(String.format(Locale.ROOT,
                "{\"type\":\"step\",\"step\":%d,\"epoch\":%d,\"loss\":%.5f,\"lr\":%.6f,\"samples_per_second\":%.1f,"
                    + "\"wall_seconds\":%.3f,\"device_seconds\":%.3f,\"energy_joules\":%.1f,\"samples\":%d,\"peak_device_bytes\":%d,"
                    + "\"device_bytes\":%d,\"host_bytes\":%d,\"flops_per_second\":%.3e,\"flops_utilisation\":%.3f,\"loss_scale\":%.1f}",
                step, 1 + (step - 1) / 100, loss, lr, 4000 + 300 * Math.sin(step / 9.0), wall, wall * 0.8, energy, step * 64L, peak,
                device, 300L * 1024 * 1024, 1.2e12, 0.31, scale));
            if (step % 50 == 0) {
                double acc = 0.95 - 0.8 * Math.exp(-speed * step / 90.0);
                lines.add(String.format(Locale.ROOT,
                    "{\"type\":\"eval\",\"epoch\":%d,\"step\":%d,\"test_loss\":%.5f,\"test_accuracy\":%.4f,\"train_loss\":%.5f,"
                        + "\"wall_seconds\":%.3f,\"energy_joules\":%.1f}",
                    1 + (step - 1) / 100, step, loss + 0.1, acc, loss, wall + 0.2, energy + 3));
            }
            if (step % 100 == 0) {
                lines.add(String.format(Locale.ROOT, "{\"type\":\"epoch\",\"epoch\":%d,\"step\":%d,\"wall_seconds\":%.3f,\"energy_joules\":%.1f}",
                    step / 100, step, wall, energy));
            }
            if (step == 120) {
                lines.add("{\"type\":\"guardrail\",\"step\":120,\"action\":\"halve lr\",\"reason\":\"loss spiked to 3.2x its running mean <fp16 overflow?>\"}");
            }
            if (step == 200) {
                lines.add("{\"type\":\"future-thing\",\"step\":200,\"whatever\":1}");
            }
        }
        Files.write(dir.resolve("metrics.jsonl"), lines, StandardCharsets.UTF_8);
        double best = 0.95 - 0.8 * Math.exp(-speed * 300 / 90.0);
        Files.writeString(dir.resolve("summary.json"), String.format(Locale.ROOT, """
            {
              "model" : "%s",
              "parameters" : 1234567,
              "epochs" : 3,
              "steps" : 300,
              "test_accuracy" : %.4f,
              "test_loss" : 0.41,
              "train_seconds" : %.3f,
              "samples_per_second" : 3950.5,
              "step_seconds" : 15.0,
              "step_samples_per_second" : 4100.2,
              "peak_host_bytes" : 400000000,
              "peak_device_bytes" : %d,
              "predicted_peak_bytes" : 900000000,
              "recompute_flops_ratio" : 1.0,
              "memory_budget_bytes" : null,
              "device" : "NVIDIA GeForce RTX 4060",
              "ended_by" : "budget-time",
              "last_checkpoint" : "%s",
              "wall_seconds" : %.3f,
              "device_seconds" : %.3f,
              "energy_joules" : %.1f,
              "energy_source" : "nvml",
              "flops_utilisation" : 0.31,
              "budgets" : { "time_seconds" : 16, "energy_joules" : null, "memory_bytes" : null, "steps" : null, "use" : { "time" : 0.98 } }
            }
            """, model, best, wall, peak, dir.resolve("checkpoints/checkpoint-300").toString().replace("\\", "/"), wall, wall * 0.8, energy),
            StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("config.json"), """
            {
              "model" : "%s",
              "batch-size" : 64,
              "lr" : 0.1,
              "optimizer" : "sgd",
              "schedule" : "warmup=10%%,cosine",
              "note" : "<script>alert(1)</script>"
            }
            """.formatted(model), StandardCharsets.UTF_8);
        return dir;
    }

    /**
     * A run as the first versions wrote it (like a 20-step deep-mlp run under a memory budget):
     * steps with loss, learning rate and throughput only, one evaluation, and no wall time,
     * energy, memory per step or guardrails.
     *
     * @param dir the directory to create
     * @param withSummary whether to write {@code summary.json} (a run killed early has none)
     * @return {@code dir}
     * @throws IOException if writing fails
     */
    public static Path old(Path dir, boolean withSummary) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("metrics.jsonl"), """
            {"type":"step","step":1,"epoch":1,"loss":2.353006362915039,"lr":0.05,"samples_per_second":63.81355951268452}
            {"type":"step","step":10,"epoch":1,"loss":"NaN","lr":0.05,"samples_per_second":250.0}
            {"type":"step","step":20,"epoch":1,"loss":3.754127264022827,"lr":0.05,"samples_per_second":306.7315603707731}
            {"type":"eval","epoch":1,"step":20,"test_loss":2.6060888421535493,"test_accuracy":0.3381,"train_loss":5.357960033416748}
            {"type":"step","step":21,"epo""", StandardCharsets.UTF_8);
        if (withSummary) {
            Files.writeString(dir.resolve("summary.json"), """
                {
                  "model" : "deep-mlp:depth=64,width=512",
                  "parameters" : 34093578,
                  "epochs" : 0,
                  "steps" : 20,
                  "test_accuracy" : 0.3381,
                  "test_loss" : 2.6060888421535493,
                  "train_seconds" : 27.081376821,
                  "samples_per_second" : 189.0598116130397,
                  "peak_host_bytes" : 331339856,
                  "peak_device_bytes" : 331339856,
                  "device" : "cpu",
                  "ended_by" : "steps"
                }
                """, StandardCharsets.UTF_8);
        }
        return dir;
    }
}
