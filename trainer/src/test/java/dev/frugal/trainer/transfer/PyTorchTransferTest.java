package dev.frugal.trainer.transfer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.frugal.models.ModuleTrace;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.checkpoint.NamedTensors;
import dev.frugal.trainer.checkpoint.SafetensorsReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PyTorch round trip of transfer learning: the torch twin of {@code cnn-small} (built by the
 * models module's {@code pytorch_parity.py}, with the same module names) saves its
 * {@code state_dict} with {@code safetensors.torch.save_file}; Frugal loads it and its
 * evaluation-mode logits match torch's. A name map renames the head, a wider twin fails naming the
 * tensor and both shapes, PyTorch's {@code num_batches_tracked} is reported as unexpected, and a
 * bfloat16 copy is converted to float32. Runs when {@code python3} with {@code torch} and
 * {@code safetensors} is available; skipped with the reason otherwise.
 */
class PyTorchTransferTest {
    /** The twins' builder; the trainer's tests run with the trainer module as the working directory. */
    private static final Path TWINS = Path.of("..", "models", "src", "test", "resources", "dev", "frugal", "models");
    private static final String SPEC = "cnn-small:channels1=4,channels2=8,hidden=16";

    private static final String SCRIPT = String.join("\n",
            "import sys, torch",
            "sys.path.insert(0, sys.argv[1])",
            "import pytorch_parity as pp",
            "from safetensors.torch import save_file",
            "out = sys.argv[2]",
            "torch.manual_seed(7)",
            "m = pp.build('cnn-small', {'channels1': 4, 'channels2': 8, 'hidden': 16})",
            "with torch.no_grad():",
            "    for mod in m.modules():",
            "        if isinstance(mod, torch.nn.BatchNorm2d):",
            "            mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2.0)",
            "            mod.weight.uniform_(0.5, 1.5); mod.bias.uniform_(-0.2, 0.2)",
            "            mod.num_batches_tracked.fill_(100)",
            "m.eval()",
            "x = torch.randn(3, 1, 28, 28)",
            "with torch.no_grad():",
            "    logits = m(x)",
            "sd = {k: v.contiguous() for k, v in m.state_dict().items()}",
            "save_file(sd, out + '/cnn.safetensors')",
            "save_file({('head.' + k[4:] if k.startswith('fc2.') else k): v for k, v in sd.items()}, out + '/renamed.safetensors')",
            "save_file({k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in sd.items()}, out + '/bf16.safetensors')",
            "wide = pp.build('cnn-small', {'channels1': 4, 'channels2': 8, 'hidden': 32})",
            "save_file({k: v.contiguous() for k, v in wide.state_dict().items()}, out + '/wide.safetensors')",
            "save_file({'x': x}, out + '/input.safetensors')",
            "print('logits ' + ' '.join(repr(float(v)) for v in logits.flatten()))");

    @TempDir
    static Path dir;
    private static double[] torchLogits;
    private static String skipReason;

    @BeforeAll
    static void runTorch() throws IOException, InterruptedException {
        if (!Files.isRegularFile(TWINS.resolve("pytorch_parity.py"))) {
            skipReason = "the torch twins (" + TWINS.resolve("pytorch_parity.py").toAbsolutePath() + ") are not there";
            return;
        }
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", SCRIPT, TWINS.toAbsolutePath().toString(), dir.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            skipReason = "python3 cannot be started: " + e.getMessage();
            return;
        }
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            skipReason = "python3 did not finish in 180 s";
            return;
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            skipReason = "needs python3 with torch and safetensors (pip install torch safetensors numpy); python3 exited with "
                    + p.exitValue() + ": " + text.strip();
            return;
        }
        String line = text.lines().filter(l -> l.startsWith("logits ")).findFirst().orElseThrow(
                () -> new AssertionError("the torch script printed no logits: " + text));
        torchLogits = Arrays.stream(line.substring("logits ".length()).trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
    }

    private static void assumeTorch() {
        assumeTrue(skipReason == null, () -> skipReason);
    }

    private static double[] evalLogits(Model m) throws IOException {
        m.module().eval();
        try (NamedTensors input = SafetensorsReader.read(dir.resolve("input.safetensors"))) {
            Tensor xs = input.get("x");
            Graph g = new Graph("eval");
            ModuleTrace trace = ModuleTrace.of(g, m.module());
            Value in = g.input("x", xs.shape(), DType.F32);
            Value out = trace.forward(in);
            try (Program p = Executor.cpu().compile(g, List.of(out))) {
                trace.bind(p);
                return p.run(Map.of(in, xs)).get(0).toDoubleArray();
            }
        }
    }

    private static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * Math.max(1, Math.abs(expected[i])), what + " [" + i + "]");
        }
    }

    @Test
    void aTorchStateDictLoadsAndTheEvalLogitsMatchTorch() throws IOException {
        assumeTorch();
        try (Model m = ModelZoo.create(SPEC, 1)) {
            WeightImportReport r = PretrainedWeights.load(m.module(), dir.resolve("cnn.safetensors"), Map.of());
            assertEquals(m.module().namedVariables().size(), r.matched().size(), r.describe());
            assertEquals(List.of(), r.missing(), r.describe());
            assertEquals(List.of("block1.1.num_batches_tracked", "block2.1.num_batches_tracked"), r.unexpected().stream().sorted().toList());
            assertClose(torchLogits, evalLogits(m), 1e-4, "eval logits after loading torch's state_dict");
        }
    }

    @Test
    void aNameMapRenamesTheHead() throws IOException {
        assumeTorch();
        try (Model m = ModelZoo.create(SPEC, 1)) {
            WeightImportReport r = PretrainedWeights.load(m.module(), dir.resolve("renamed.safetensors"),
                    Map.of("fc2.weight", "head.weight", "fc2.bias", "head.bias"));
            assertEquals(List.of(), r.missing(), r.describe());
            assertClose(torchLogits, evalLogits(m), 1e-4, "eval logits through the name map");
        }
        try (Model m = ModelZoo.create(SPEC, 1)) {
            WeightImportReport r = PretrainedWeights.load(m.module(), dir.resolve("renamed.safetensors"), Map.of());
            assertEquals(List.of("fc2.weight", "fc2.bias"), r.missing(), "without the map the head is missing: " + r.describe());
            assertTrue(r.unexpected().containsAll(List.of("head.weight", "head.bias")), r.describe());
        }
    }

    @Test
    void aWiderTwinFailsNamingTheTensorAndBothShapes() {
        assumeTorch();
        try (Model m = ModelZoo.create(SPEC, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PretrainedWeights.load(m.module(), dir.resolve("wide.safetensors"), Map.of()));
            assertTrue(e.getMessage().contains("'fc1.weight'") && e.getMessage().contains("[32,392]") && e.getMessage().contains("[16,392]"),
                    e.getMessage());
        }
    }

    @Test
    void bfloat16WeightsAreConvertedAndSaySo() throws IOException {
        assumeTorch();
        try (Model m = ModelZoo.create(SPEC, 1)) {
            WeightImportReport r = PretrainedWeights.load(m.module(), dir.resolve("bf16.safetensors"), Map.of());
            List<String> converted = new ArrayList<>(r.converted().stream().map(WeightImportReport.Match::modelName).toList());
            assertEquals(m.module().namedVariables().keySet().stream().toList(), converted, r.describe());
            assertTrue(r.describe().contains("from bf16 to f32"), r.describe());
            assertClose(torchLogits, evalLogits(m), 0.1, "eval logits from bfloat16 weights");
        }
    }
}
