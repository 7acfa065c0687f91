package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tiny-gpt against a PyTorch twin (tiny_gpt_parity.py, with {@code F.scaled_dot_product_attention}
 * and the same parameter names; run when {@code python3} can import torch and numpy, skipped
 * otherwise): with Frugal's initial weights, the evaluation logits, the losses of three SGD steps
 * (next-token cross-entropy over every position) and the logits after them agree, and the forward
 * FLOPs equal {@code torch.utils.flop_counter}'s count. Windows shorter than the context check
 * the position slice; the larger learning rate makes the steps move the weights visibly.
 */
class TinyGptPyTorchParityTest {
    private static final String SPEC = "tiny-gpt:layers=2,width=32,heads=2,context=16,vocab=50";
    private static final int BATCH = 3;
    private static final int POSITIONS = 13;
    private static final int STEPS = 3;
    private static final double LR = 0.5;
    private static final long MODEL_SEED = 4;

    @TempDir
    Path dir;

    @Test
    void matchesPyTorch() throws Exception {
        assumeTrue(pythonHasTorch(), "python3 with torch and numpy is not available (pip install torch numpy)");
        SplittableRandom rnd = new SplittableRandom(12);
        int[] ids = new int[BATCH * POSITIONS];
        int[] next = new int[BATCH * POSITIONS];
        StringBuilder tokens = new StringBuilder();
        StringBuilder targets = new StringBuilder();
        for (int n = 0; n < BATCH; n++) {
            for (int i = 0; i < POSITIONS; i++) {
                ids[n * POSITIONS + i] = rnd.nextInt(50);
                next[n * POSITIONS + i] = rnd.nextInt(50);
                tokens.append(ids[n * POSITIONS + i]).append(i + 1 < POSITIONS ? " " : "\n");
                targets.append(next[n * POSITIONS + i]).append(i + 1 < POSITIONS ? " " : "\n");
            }
        }
        Files.writeString(dir.resolve("tokens.txt"), tokens);
        Files.writeString(dir.resolve("targets.txt"), targets);
        Path script = dir.resolve("tiny_gpt_parity.py");
        try (InputStream in = TinyGptPyTorchParityTest.class.getResourceAsStream("tiny_gpt_parity.py")) {
            Files.write(script, in.readAllBytes());
        }
        try (Model m = ModelZoo.create(SPEC, MODEL_SEED);
             Tensor x = Tensor.ofInts(ids, BATCH, POSITIONS);
             Tensor y = Tensor.ofInts(next, BATCH, POSITIONS)) {
            StringBuilder manifest = new StringBuilder();
            for (Map.Entry<String, Variable> e : m.module().namedParameters().entrySet()) {
                writeFloats(dir.resolve(e.getKey() + ".bin"), e.getValue().value().toFloatArray());
                manifest.append(e.getKey());
                for (int d : e.getValue().shape().dims()) {
                    manifest.append(' ').append(d);
                }
                manifest.append('\n');
            }
            Files.writeString(dir.resolve("manifest.txt"), manifest);
            Map<String, double[]> torch = runPython(script, m.spec().toString().substring("tiny-gpt:".length()));

            m.module().eval();
            assertClose(torch.get("logits"), LanguageModelSteps.logits(m.module(), x), 1e-4, "evaluation logits");
            m.module().train(true);
            assertClose(torch.get("losses"), LanguageModelSteps.sgd(m.module(), x, y, STEPS, LR), 1e-4, "training losses");
            m.module().eval();
            assertClose(torch.get("after"), LanguageModelSteps.logits(m.module(), x), 1e-3, "logits after the steps");
            assertEquals((long) torch.get("flops")[0], m.forwardFlops(), "forward FLOPs of one window");
        }
    }

    private Map<String, double[]> runPython(Path script, String options) throws IOException, InterruptedException {
        List<String> command = List.of("python3", script.toString(), dir.toString(), options, Integer.toString(STEPS), Double.toString(LR));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("tiny_gpt_parity.py failed:\n" + output);
        }
        Map<String, double[]> out = new HashMap<>();
        for (String line : output.lines().toList()) {
            String[] parts = line.strip().split("\\s+");
            if (List.of("logits", "losses", "after", "flops").contains(parts[0])) {
                double[] values = new double[parts.length - 1];
                for (int i = 1; i < parts.length; i++) {
                    values[i - 1] = Double.parseDouble(parts[i]);
                }
                out.put(parts[0], values);
            }
        }
        assertEquals(4, out.size(), "tiny_gpt_parity.py printed:\n" + output);
        return out;
    }

    private static boolean pythonHasTorch() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import torch, numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Element-wise agreement within {@code tol} relative to the larger of 1 and the expected value's magnitude. */
    private static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(1, Math.abs(expected[i]));
            assertEquals(expected[i], actual[i], tol * scale, what + " [" + i + "]");
        }
    }

    private static void writeFloats(Path file, float[] values) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        Files.write(file, buf.array());
    }
}
