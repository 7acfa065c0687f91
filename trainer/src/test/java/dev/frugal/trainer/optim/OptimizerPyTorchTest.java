package dev.frugal.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs each optimizer on a small fixed least-squares problem (W [3,4], b [4], a learning rate
 * that changes every step) in Frugal and in PyTorch (through python3, skipped without torch) and
 * compares the losses and final parameters.
 */
class OptimizerPyTorchTest {
    private static final int STEPS = 6;
    private static JsonNode torch;

    /** The configurations, by name: each line is evaluated by the Python twin. */
    private static final Map<String, String> PY_CONFIGS = new LinkedHashMap<>();

    static {
        PY_CONFIGS.put("sgd", "(lambda ps: torch.optim.SGD(ps, lr=0.1), None)");
        PY_CONFIGS.put("sgd_momentum", "(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), None)");
        PY_CONFIGS.put("sgd_nesterov_wd", "(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05), None)");
        PY_CONFIGS.put("adamw", "(lambda ps: torch.optim.AdamW(ps, lr=0.1), None)");
        PY_CONFIGS.put("adamw_wd", "(lambda ps: torch.optim.AdamW(ps, lr=0.1, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3), None)");
        PY_CONFIGS.put("sgd_momentum_clip", "(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), 0.5)");
        PY_CONFIGS.put("adamw_clip", "(lambda ps: torch.optim.AdamW(ps, lr=0.1), 0.25)");
        PY_CONFIGS.put("sgd_clip_inactive", "(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5), 100.0)");
    }

    private static Optimizer frugal(String name) {
        return switch (name) {
            case "sgd", "sgd_momentum_clip" -> name.equals("sgd") ? Sgd.plain() : new Sgd(0.9, false, 0);
            case "sgd_momentum" -> new Sgd(0.9, false, 0);
            case "sgd_clip_inactive" -> new Sgd(0.5, false, 0);
            case "sgd_nesterov_wd" -> new Sgd(0.8, true, 0.05);
            case "adamw", "adamw_clip" -> AdamW.defaults();
            case "adamw_wd" -> new AdamW(0.8, 0.95, 1e-6, 0.3);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static double clipOf(String name) {
        return switch (name) {
            case "sgd_momentum_clip" -> 0.5;
            case "adamw_clip" -> 0.25;
            case "sgd_clip_inactive" -> 100.0;
            default -> 0;
        };
    }

    /** Learning rate of step k: changes every step so a fed value that is ignored shows. */
    private static double lr(int k) {
        return 0.1 * (1.0 - 0.1 * k);
    }

    private static double xAt(int i) {
        return Math.sin(0.7 * i + 0.3);
    }

    private static double yAt(int i) {
        return Math.cos(1.3 * i);
    }

    private static double wAt(int i) {
        return 0.5 * Math.sin(2.1 * i + 1.0);
    }

    private static double bAt(int i) {
        return 0.1 * i - 0.2;
    }

    @BeforeAll
    static void runTorch(@TempDir Path dir) throws IOException, InterruptedException {
        StringBuilder py = new StringBuilder("""
                import json, math, sys
                try:
                    import torch
                except ImportError:
                    print(json.dumps({"missing": "torch"})); sys.exit(0)
                torch.set_default_dtype(torch.float32)
                STEPS = %d
                x = torch.tensor([math.sin(0.7 * i + 0.3) for i in range(15)]).reshape(5, 3)
                y = torch.tensor([math.cos(1.3 * i) for i in range(20)]).reshape(5, 4)
                out = {}
                configs = {}
                """.formatted(STEPS));
        PY_CONFIGS.forEach((k, v) -> py.append("configs['").append(k).append("'] = ").append(v).append('\n'));
        py.append("""
                for name, (make, clip) in configs.items():
                    w = torch.tensor([0.5 * math.sin(2.1 * i + 1.0) for i in range(12)]).reshape(3, 4).requires_grad_()
                    b = torch.tensor([0.1 * i - 0.2 for i in range(4)]).requires_grad_()
                    opt = make([w, b])
                    losses = []
                    for k in range(STEPS):
                        for gr in opt.param_groups:
                            gr['lr'] = 0.1 * (1.0 - 0.1 * k)
                        opt.zero_grad()
                        loss = ((x @ w + b - y) ** 2).mean()
                        loss.backward()
                        if clip is not None:
                            torch.nn.utils.clip_grad_norm_([w, b], clip)
                        opt.step()
                        losses.append(loss.item())
                    out[name] = {"losses": losses, "w": w.detach().flatten().tolist(), "b": b.detach().tolist()}
                print(json.dumps(out))
                """);
        Path script = dir.resolve("optim_twin.py");
        Files.writeString(script, py.toString());
        Process p;
        try {
            p = new ProcessBuilder("python3", script.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            torch = null;
            return;
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("python twin failed: " + text);
        }
        JsonNode node = new ObjectMapper().readTree(text.lines().reduce((a, b) -> b).orElse("{}"));
        torch = node.has("missing") ? null : node;
    }

    /** Frugal's losses then final w and b for one configuration. */
    private static List<double[]> runFrugal(String name) {
        Graph g = new Graph("optim-" + name);
        Value x = g.input("x", Shape.of(5, 3), DType.F32);
        Value y = g.input("y", Shape.of(5, 4), DType.F32);
        Value w = g.parameter("w", Shape.of(3, 4), DType.F32);
        Value b = g.parameter("b", Shape.of(4), DType.F32);
        Value err = Ops.matmul(x, w).add(b).sub(y);
        Value loss = Ops.mean(err.mul(err), false);
        List<Value> grads = Autodiff.grad(loss, List.of(w, b));
        if (clipOf(name) > 0) {
            grads = GradientClipping.clip(grads, clipOf(name)).gradients();
        }
        double[] losses = new double[STEPS];
        try (OptimizerUpdate update = frugal(name).append(List.of("w", "b"), List.of(w, b), grads);
             Tensor wt = Tensor.zeros(Shape.of(3, 4), DType.F32);
             Tensor bt = Tensor.zeros(Shape.of(4), DType.F32);
             Tensor xt = Tensor.zeros(Shape.of(5, 3), DType.F32);
             Tensor yt = Tensor.zeros(Shape.of(5, 4), DType.F32);
             Program step = Executor.cpu().compile(g, List.of(loss))) {
            for (int i = 0; i < 12; i++) {
                wt.setFlat(i, (float) wAt(i));
            }
            for (int i = 0; i < 4; i++) {
                bt.setFlat(i, (float) bAt(i));
            }
            for (int i = 0; i < 15; i++) {
                xt.setFlat(i, (float) xAt(i));
            }
            for (int i = 0; i < 20; i++) {
                yt.setFlat(i, (float) yAt(i));
            }
            step.bind(w, wt);
            step.bind(b, bt);
            update.bind(step);
            for (int k = 0; k < STEPS; k++) {
                Map<Value, Tensor> feeds = new HashMap<>(Map.of(x, xt, y, yt));
                update.feedLearningRate(feeds, lr(k));
                losses[k] = step.run(feeds).getFirst().getFlat(0);
            }
            List<double[]> out = new ArrayList<>();
            out.add(losses);
            out.add(toDoubles(wt));
            out.add(toDoubles(bt));
            return out;
        }
    }

    private static double[] toDoubles(Tensor t) {
        double[] out = new double[(int) t.shape().numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFlat(i);
        }
        return out;
    }

    private static void compare(String name) {
        assumeTrue(torch != null, "python3 with torch is not available, so there is no PyTorch reference to compare with");
        List<double[]> mine = runFrugal(name);
        JsonNode ref = torch.get(name);
        String[] keys = {"losses", "w", "b"};
        for (int k = 0; k < keys.length; k++) {
            JsonNode arr = ref.get(keys[k]);
            double[] got = mine.get(k);
            assertEquals(arr.size(), got.length, name + " " + keys[k] + " length");
            for (int i = 0; i < got.length; i++) {
                double want = arr.get(i).asDouble();
                assertEquals(want, got[i], 2e-5 * Math.max(1, Math.abs(want)), name + " " + keys[k] + "[" + i + "]");
            }
        }
    }

    @Test
    void sgdMatchesPyTorch() {
        compare("sgd");
    }

    @Test
    void sgdMomentumMatchesPyTorch() {
        compare("sgd_momentum");
    }

    @Test
    void sgdNesterovWithWeightDecayMatchesPyTorch() {
        compare("sgd_nesterov_wd");
    }

    @Test
    void adamWMatchesPyTorch() {
        compare("adamw");
    }

    @Test
    void adamWWithBetasEpsAndWeightDecayMatchesPyTorch() {
        compare("adamw_wd");
    }

    @Test
    void clippedSgdMomentumMatchesPyTorch() {
        compare("sgd_momentum_clip");
    }

    @Test
    void clippingAboveTheNormLeavesGradientsAsPyTorchDoes() {
        compare("sgd_clip_inactive");
    }

    @Test
    void clippedAdamWMatchesPyTorch() {
        compare("adamw_clip");
    }
}
