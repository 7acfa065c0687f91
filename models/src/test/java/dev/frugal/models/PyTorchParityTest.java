package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every zoo model against a PyTorch twin with the same module names (pytorch_parity.py, run
 * when {@code python3} can import torch and numpy; skipped otherwise): given Frugal's initial
 * weights, three SGD steps in training mode give the same losses and batch-norm running
 * statistics, the evaluation-mode logits afterwards agree, and the forward FLOPs equal
 * {@code torch.utils.flop_counter}'s count. This pins the semantics (batch-norm statistics and
 * momentum, unbiased running variance, padding, groups, pooling, layer norm, residuals) to
 * PyTorch's, not just to our own reading of them. Python runs once for all models, since
 * importing torch is most of the cost.
 */
class PyTorchParityTest {
    private static final int BATCH = 4;
    private static final int STEPS = 3;
    private static final double LR = 0.05;
    private static final long MODEL_SEED = 11;
    private static final List<String> SPECS = List.of("mlp:hidden1=32,hidden2=16", "cnn-small:channels1=4,channels2=8,hidden=16",
            "mobilenet-tiny:width=4", "deep-mlp:depth=2,width=16");

    @TempDir
    static Path dir;
    private static float[] x;
    private static int[] y;
    private static final Map<String, Map<String, double[]>> TORCH = new HashMap<>();

    @BeforeAll
    static void runPyTorchOnEveryModel() throws Exception {
        assumeTrue(pythonHasTorch(), "python3 with torch and numpy is not available (pip install torch numpy)");
        SplittableRandom rnd = new SplittableRandom(21);
        x = new float[BATCH * 28 * 28];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-1, 1);
        }
        y = new int[BATCH];
        StringBuilder labels = new StringBuilder();
        for (int i = 0; i < BATCH; i++) {
            y[i] = rnd.nextInt(10);
            labels.append(y[i]).append(' ');
        }
        Path script = dir.resolve("pytorch_parity.py");
        try (InputStream in = PyTorchParityTest.class.getResourceAsStream("pytorch_parity.py")) {
            Files.write(script, in.readAllBytes());
        }
        List<String> command = new ArrayList<>(List.of("python3", script.toString(), Integer.toString(STEPS), Double.toString(LR)));
        for (int i = 0; i < SPECS.size(); i++) {
            Path d = Files.createDirectories(dir.resolve("model" + i));
            try (Model m = ModelZoo.create(SPECS.get(i), MODEL_SEED)) {
                StringBuilder manifest = new StringBuilder();
                for (Map.Entry<String, Variable> e : m.module().namedVariables().entrySet()) {
                    writeFloats(d.resolve(e.getKey() + ".bin"), e.getValue().value().toFloatArray());
                    manifest.append(e.getKey());
                    for (int dim : e.getValue().shape().dims()) {
                        manifest.append(' ').append(dim);
                    }
                    manifest.append('\n');
                }
                Files.writeString(d.resolve("manifest.txt"), manifest);
                writeFloats(d.resolve("x.bin"), x);
                Files.writeString(d.resolve("y.txt"), labels);
                String name = m.name();
                command.addAll(List.of(d.toString(), name, m.spec().toString().substring(name.length() + 1)));
            }
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("pytorch_parity.py failed:\n" + output);
        }
        Map<String, double[]> current = null;
        for (String line : output.lines().toList()) {
            String[] parts = line.strip().split("\\s+");
            if (parts[0].equals("model")) {
                current = new HashMap<>();
                TORCH.put(SPECS.get(Integer.parseInt(Path.of(parts[1]).getFileName().toString().substring("model".length()))), current);
            } else if (current != null && List.of("losses", "eval", "flops", "buffers").contains(parts[0])) {
                double[] values = new double[parts.length - 1];
                for (int i = 1; i < parts.length; i++) {
                    values[i - 1] = Double.parseDouble(parts[i]);
                }
                current.put(parts[0], values);
            }
        }
    }

    static List<String> specs() {
        return SPECS;
    }

    @ParameterizedTest
    @MethodSource("specs")
    void matchesPyTorch(String spec) {
        Map<String, double[]> torch = TORCH.get(spec);
        assertNotNull(torch, "no PyTorch result for " + spec);
        assertEquals(4, torch.size(), "PyTorch results for " + spec + ": " + torch.keySet());
        try (Model m = ModelZoo.create(spec, MODEL_SEED); Tensor xs = Tensor.of(x, BATCH, 1, 28, 28); Tensor ys = Tensor.ofInts(y, BATCH)) {
            m.module().train(true);
            double[] losses = SgdSteps.run(m.module(), xs, ys, STEPS, LR);
            assertClose(torch.get("losses"), losses, 1e-4, spec + " training losses");
            List<Float> buffers = new ArrayList<>();
            for (Variable v : m.module().namedBuffers().values()) {
                for (float f : v.value().toFloatArray()) {
                    buffers.add(f);
                }
            }
            double[] ours = buffers.stream().mapToDouble(Float::doubleValue).toArray();
            assertClose(torch.get("buffers"), ours, 1e-4, spec + " running statistics");
            m.module().eval();
            assertClose(torch.get("eval"), evalLogits(m, xs), 1e-3, spec + " evaluation logits");
            assertEquals((long) torch.get("flops")[0], m.forwardFlops(), spec + " forward FLOPs");
        }
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

    private static double[] evalLogits(Model m, Tensor xs) {
        Graph g = new Graph("eval");
        ModuleTrace trace = ModuleTrace.of(g, m.module());
        Value in = g.input("x", xs.shape(), DType.F32);
        Value out = trace.forward(in);
        try (Program p = Executor.cpu().compile(g, List.of(out))) {
            trace.bind(p);
            return p.run(Map.of(in, xs)).get(0).toDoubleArray();
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
