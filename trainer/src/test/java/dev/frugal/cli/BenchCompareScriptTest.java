package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The CPU path of {@code benchmarks/pytorch/bench_compare.sh}: Frugal's {@code bench --json}
 * (run from this test's class path through the script's {@code FRUGAL} override) and the PyTorch
 * reference on the same model, batch and optimizer, printed side by side with their ratio, eager
 * and under {@code torch.compile}. Skipped where PyTorch is not installed.
 */
class BenchCompareScriptTest {

    @Test
    void printsFrugalBesidePyTorchEagerAndCompiled() throws IOException, InterruptedException {
        Path script = Path.of("..", "benchmarks", "pytorch", "bench_compare.sh");
        assumeTrue(Files.exists(script), "run from the trainer module so ../benchmarks is the repository's");
        assumeTrue(torchInstalled(), "PyTorch is not installed (pip install torch==2.13.0+cpu)");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String frugal = String.join(" ", java, "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), FrugalCommand.class.getName());
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "mlp", "16", "fp32").redirectErrorStream(true);
        pb.environment().putAll(Map.of("FRUGAL", frugal, "WARMUP", "1", "REPEAT", "2", "TORCH_COMPILE", "1"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        for (String line : List.of("mlp:hidden1=256,hidden2=128 batch 16 fp32 adamw", "Frugal    cpu:", "(torch 2.", ", eager)",
                ", torch.compile)", "Frugal / PyTorch eager throughput: ", "Frugal / PyTorch torch.compile throughput: ")) {
            assertTrue(out.contains(line), "missing '" + line + "' in:\n" + out);
        }
    }

    private static boolean torchInstalled() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
