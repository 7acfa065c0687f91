package dev.frugal.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every zoo model against a PyTorch twin with the same module names (pytorch_parity.py, run
 * when {@code python3} can import torch and numpy; skipped otherwise): given Frugal's initial
 * weights, three SGD steps in training mode give the same losses and batch-norm running
 * statistics, the evaluation-mode logits afterwards agree, and the forward FLOPs equal
 * {@code torch.utils.flop_counter}'s count. This pins the semantics (batch-norm statistics and
 * momentum, unbiased running variance, padding, groups, pooling, layer norm, residuals) to
 * PyTorch's, not just to our own reading of them.
 */
class PyTorchParityTest {
    private static final int BATCH = 4;
    private static final int STEPS = 3;
    private static final double LR = 0.05;

    @BeforeAll
    static void needsPythonWithTorch() throws InterruptedException {
        boolean ok;
        try {
            Process p = new ProcessBuilder("python3", "-c", "import torch, numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            ok = false;
        }
        assumeTrue(ok, "python3 with torch and numpy is not available (pip install torch numpy)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp:hidden1=32,hidden2=16", "cnn-small:channels1=4,channels2=8,hidden=16", "mobilenet-tiny:width=4",
            "deep-mlp:depth=2,width=16"})
    void matchesPyTorch(String spec, @TempDir Path dir) throws Exception {
        try (Model m = ModelZoo.create(spec, 11)) {
            StringBuilder manifest = new StringBuilder();
            for (Map.Entry<String, Variable> e : m.module().namedVariables().entrySet()) {
                writeFloats(dir.resolve(e.getKey() + ".bin"), e.getValue().value().toFloatArray());
                manifest.append(e.getKey());
                for (int d : e.getValue().shape().dims()) {
                    manifest.append(' ').append(d);
                }
                manifest.append('\n');
            }
            Files.writeString(dir.resolve("manifest.txt"), manifest);
            SplittableRandom rnd = new SplittableRandom(21);
            float[] x = new float[BATCH * 28 * 28];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextDouble(-1, 1);
            }
            int[] y = new int[BATCH];
            StringBuilder labels = new StringBuilder();
            for (int i = 0; i < BATCH; i++) {
                y[i] = rnd.nextInt(10);
                labels.append(y[i]).append(' ');
            }
            writeFloats(dir.resolve("x.bin"), x);
            Files.writeString(dir.resolve("y.txt"), labels);
            Map<String, double[]> torch = runPython(dir, spec);

            try (Tensor xs = Tensor.of(x, BATCH, 1, 28, 28); Tensor ys = Tensor.ofInts(y, BATCH)) {
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
            }
            assertEquals((long) torch.get("flops")[0], m.forwardFlops(), spec + " forward FLOPs");
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

    private static Map<String, double[]> runPython(Path dir, String spec) throws Exception {
        Path script = dir.resolve("pytorch_parity.py");
        try (InputStream in = PyTorchParityTest.class.getResourceAsStream("pytorch_parity.py")) {
            Files.write(script, in.readAllBytes());
        }
        String name = spec.substring(0, spec.indexOf(':'));
        String options = ModelZoo.parse(spec).toString().substring(name.length() + 1);
        Process p = new ProcessBuilder("python3", script.toString(), dir.toString(), name, options, Integer.toString(STEPS), Double.toString(LR))
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("pytorch_parity.py failed for " + spec + ":\n" + output);
        }
        Map<String, double[]> result = new HashMap<>();
        for (String line : output.lines().toList()) {
            String[] parts = line.strip().split("\\s+");
            if (List.of("losses", "eval", "flops", "buffers").contains(parts[0])) {
                double[] values = new double[parts.length - 1];
                for (int i = 1; i < parts.length; i++) {
                    values[i - 1] = Double.parseDouble(parts[i]);
                }
                result.put(parts[0], values);
            }
        }
        if (result.size() != 4) {
            throw new AssertionError("unexpected output of pytorch_parity.py for " + spec + ":\n" + output);
        }
        return result;
    }

    private static void writeFloats(Path file, float[] values) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        Files.write(file, buf.array());
    }
}
