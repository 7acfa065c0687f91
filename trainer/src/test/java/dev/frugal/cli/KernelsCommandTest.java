package dev.frugal.cli;

import static dev.frugal.cli.TrainCommandTest.frugal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cli.TrainCommandTest.Result;
import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.nvrtc.Nvrtc;
import dev.frugal.models.zoo.ModelZoo;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Every generated CUDA kernel of the op library and of every zoo model's training step, in fp32,
 * fp16 and bf16, compiles with the installed NVRTC for Turing to Hopper (sm_75 to sm_90): the CI
 * check of the code generator, no GPU needed. Fusion cuts every step's kernel calls, by at least
 * a bound per precision.
 */
class KernelsCommandTest {
    private static final Pattern ROW = Pattern.compile("^(\\S+)\\s+(fp32|fp16|bf16)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$", Pattern.MULTILINE);

    @Test
    void everyKernelOfEveryZooStepCompilesForTuringToHopper() {
        try {
            Nvrtc.supportedArchs();
        } catch (CudaException | LinkageError e) {
            Assumptions.abort("NVRTC is not installed (pip install nvidia-cuda-nvrtc): " + e.getMessage());
        }
        Result r = frugal("kernels", "--check");
        assertEquals(0, r.code(), r.out() + r.err());
        for (String arch : KernelsCommand.DEFAULT_ARCHS) {
            assertTrue(Pattern.compile("(?m)^" + arch + ": \\d+ kernels compiled").matcher(r.out()).find(), r.out());
        }
        assertTrue(r.out().contains("every kernel compiles"), r.out());

        List<String> seen = new ArrayList<>();
        Matcher m = ROW.matcher(r.out());
        while (m.find()) {
            String step = m.group(1) + " " + m.group(2);
            int unfused = Integer.parseInt(m.group(3));
            int fused = Integer.parseInt(m.group(4));
            int groups = Integer.parseInt(m.group(5));
            assertTrue(groups > 0 && fused <= unfused - groups, step + ": fusion must save calls, " + unfused + " -> " + fused);
            // the reduction per step (docs/benchmarks.md: 0.44-0.66 in fp32, 0.29-0.36 in half
            // precision today), with a margin: a change that loses a fusion shows here
            double bound = m.group(2).equals("fp32") ? 0.7 : m.group(2).equals("fp16") ? 0.4 : 0.75;
            assertTrue(fused <= bound * unfused, step + ": " + fused + " of " + unfused + " calls with fusion, expected at most " + bound + "x");
            seen.add(m.group(1).split(":")[0] + " " + m.group(2));
        }
        for (String model : ModelZoo.names()) {
            for (String p : List.of("fp32", "fp16", "bf16")) {
                assertTrue(seen.contains(model + " " + p), model + " " + p + " listed: " + seen);
            }
        }
    }

    @Test
    void badOptionsAreNamed() {
        Result r = frugal("kernels", "--model", "resnet");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown model 'resnet'"), r.err());
        Result p = frugal("kernels", "--model", "mlp", "--precision", "fp8");
        assertEquals(2, p.code());
        assertTrue(p.err().contains("fp8"), p.err());
    }
}
