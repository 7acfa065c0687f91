package dev.frugal.trainer.amp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.optim.OptimizerUpdate;
import dev.frugal.trainer.optim.Sgd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loss scaler against {@code torch.amp.GradScaler} on the CPU: a least-squares problem in
 * float32 with SGD and momentum, a NaN put into the batch at some steps, a small growth interval
 * so the scale both grows and backs off. The scale after every step and the parameters at the end
 * must match (the scaler's rules are exact; the arithmetic is float32 on both sides). Skipped
 * without python3 and torch.
 */
class GradScalerPyTorchTest {
    private static final int STEPS = 14;
    private static final Set<Integer> POISONED = Set.of(4, 5, 10);

    @Test
    void scaleSequenceSkippedStepsAndParametersMatchGradScaler(@TempDir Path dir) throws IOException, InterruptedException {
        JsonNode ref = torch(dir);
        assumeTrue(ref != null, "python3 with torch is not available, so there is no GradScaler to compare with");

        Graph g = new Graph("grad-scaler-twin");
        Value x = g.input("x", Shape.of(5, 3), DType.F32);
        Value y = g.input("y", Shape.of(5, 4), DType.F32);
        Value w = g.parameter("w", Shape.of(3, 4), DType.F32);
        Value b = g.parameter("b", Shape.of(4), DType.F32);
        Value err = Ops.matmul(x, w).add(b).sub(y);
        Value loss = Ops.mean(err.mul(err), false);
        double[] scales = new double[STEPS];
        try (OptimizerUpdate update = new OptimizerUpdate(g);
             Tensor wt = Tensor.zeros(Shape.of(3, 4), DType.F32);
             Tensor bt = Tensor.zeros(Shape.of(4), DType.F32);
             Tensor xt = Tensor.zeros(Shape.of(5, 3), DType.F32);
             Tensor yt = Tensor.zeros(Shape.of(5, 4), DType.F32)) {
            LossScaler scaler = LossScaler.declare(new LossScaling(8, 2, 0.5, 3), update, g);
            List<Value> grads = scaler.gradients(loss, List.of(w, b));
            new Sgd(0.9, false, 0).append(update, List.of("w", "b"), List.of(w, b), grads);
            scaler.appendScaleUpdate();
            try (Program step = Executor.cpu().withNonFiniteCheck(false).compile(g, List.of(loss))) {
                for (int i = 0; i < 12; i++) {
                    wt.setFlat(i, (float) (0.5 * Math.sin(2.1 * i + 1.0)));
                }
                for (int i = 0; i < 4; i++) {
                    bt.setFlat(i, (float) (0.1 * i - 0.2));
                }
                for (int i = 0; i < 20; i++) {
                    yt.setFlat(i, (float) Math.cos(1.3 * i));
                }
                step.bind(w, wt);
                step.bind(b, bt);
                update.bind(step);
                for (int k = 0; k < STEPS; k++) {
                    for (int i = 0; i < 15; i++) {
                        xt.setFlat(i, (float) Math.sin(0.7 * i + 0.3 + 0.1 * k));
                    }
                    if (POISONED.contains(k)) {
                        xt.setFlat(0, Double.NaN);
                    }
                    Map<Value, Tensor> feeds = new HashMap<>(Map.of(x, xt, y, yt));
                    update.feedLearningRate(feeds, 0.05);
                    step.run(feeds);
                    scales[k] = LossScaler.scale(update.state());
                }
                assertEquals(POISONED.size(), LossScaler.skippedSteps(update.state()));
            }
            JsonNode refScales = ref.get("scales");
            for (int k = 0; k < STEPS; k++) {
                assertEquals(refScales.get(k).asDouble(), scales[k], "scale after step " + (k + 1));
            }
            compare("w", ref.get("w"), wt);
            compare("b", ref.get("b"), bt);
        }
    }

    private static void compare(String name, JsonNode want, Tensor got) {
        assertEquals(want.size(), got.numel(), name);
        for (int i = 0; i < want.size(); i++) {
            double v = want.get(i).asDouble();
            assertEquals(v, got.getFlat(i), 2e-5 * Math.max(1, Math.abs(v)), name + "[" + i + "]");
        }
    }

    /** GradScaler's scale after each step and the final parameters, or null without torch. */
    private static JsonNode torch(Path dir) throws IOException, InterruptedException {
        String py = """
                import json, math, sys
                try:
                    import torch
                except ImportError:
                    print(json.dumps({"missing": "torch"})); sys.exit(0)
                STEPS, POISONED = %d, %s
                y = torch.tensor([math.cos(1.3 * i) for i in range(20)]).reshape(5, 4)
                w = torch.tensor([0.5 * math.sin(2.1 * i + 1.0) for i in range(12)]).reshape(3, 4).requires_grad_()
                b = torch.tensor([0.1 * i - 0.2 for i in range(4)]).requires_grad_()
                opt = torch.optim.SGD([w, b], lr=0.05, momentum=0.9)
                scaler = torch.amp.GradScaler("cpu", init_scale=8.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
                scales = []
                for k in range(STEPS):
                    x = torch.tensor([math.sin(0.7 * i + 0.3 + 0.1 * k) for i in range(15)]).reshape(5, 3)
                    if k in POISONED:
                        x[0, 0] = float("nan")
                    opt.zero_grad()
                    loss = ((x @ w + b - y) ** 2).mean()
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                    scales.append(scaler.get_scale())
                print(json.dumps({"scales": scales, "w": w.detach().flatten().tolist(), "b": b.detach().tolist()}))
                """.formatted(STEPS, POISONED.stream().sorted().toList());
        Path script = dir.resolve("grad_scaler_twin.py");
        Files.writeString(script, py);
        Process p;
        try {
            p = new ProcessBuilder("python3", script.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            return null;
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("python twin failed: " + text);
        }
        JsonNode node = new ObjectMapper().readTree(text.lines().reduce((a, c) -> c).orElse("{}"));
        return node.has("missing") ? null : node;
    }
}
