package dev.frugal.cli;

import static dev.frugal.cli.TrainCommandTest.frugal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cli.TrainCommandTest.Result;
import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.nvrtc.Nvrtc;
import java.io.IOException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@code frugal plan --explain [--arch]}: the fused program of a training step, with no GPU. */
class PlanExplainTest {
    @Test
    void explainsTheFusedProgram() throws IOException {
        Result r = frugal("plan", "--model", "mlp", "--batch-size", "32", "--explain", "--json");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode fusion = new ObjectMapper().readTree(r.out()).get("fusion");
        assertTrue(fusion.get("kernels_after").asInt() < fusion.get("kernels_before").asInt(), fusion.toString());
        assertTrue(fusion.get("fused_groups").asInt() > 0, fusion.toString());
        assertTrue(fusion.get("generated_kernels").get(0).get("name").asText().matches("(fused|ew)_[a-z_]+_[0-9a-f]{12}"), fusion.toString());

        Result text = frugal("plan", "--model", "mlp", "--batch-size", "32", "--explain");
        assertEquals(0, text.code(), text.out() + text.err());
        assertTrue(text.out().contains("fused program (fp32): " + fusion.get("kernels_before").asInt() + " kernel calls per step without fusion, "
                + fusion.get("kernels_after").asInt() + " with fusion"), text.out());
    }

    @Test
    void compilesForATargetWithoutAGpu() throws IOException {
        try {
            Nvrtc.supportedArchs();
        } catch (CudaException | LinkageError e) {
            Assumptions.abort("NVRTC is not installed (pip install nvidia-cuda-nvrtc): " + e.getMessage());
        }
        Result r = frugal("plan", "--model", "cnn-small", "--batch-size", "16", "--precision", "fp16", "--explain", "--arch", "sm_86");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().matches("(?s).*NVRTC \\S+ compiled all \\d+ kernels for sm_86.*"), r.out());
        Result json = frugal("plan", "--model", "cnn-small", "--batch-size", "16", "--explain", "--arch", "sm_75", "--json");
        JsonNode fusion = new ObjectMapper().readTree(json.out()).get("fusion");
        assertEquals("sm_75", fusion.get("arch").asText());
        assertTrue(fusion.get("compiled").asBoolean(), fusion.toString());
    }

    @Test
    void cudaWithoutAGpuNeedsATarget() {
        Assumptions.assumeTrue(noGpu(), "a GPU is present");
        Result r = frugal("plan", "--model", "mlp", "--device", "cuda", "--explain");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--device cuda: no GPU here to take the architecture from; give the target, e.g. --arch sm_86"), r.err());
        Result bad = frugal("plan", "--model", "mlp", "--device", "tpu", "--explain");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--device tpu: expected cpu or cuda"), bad.err());
    }

    private static boolean noGpu() {
        try {
            return dev.frugal.cuda.driver.CudaDriver.deviceCount() == 0;
        } catch (CudaException | LinkageError e) {
            return true;
        }
    }

    @Test
    void archNeedsExplain() {
        Result r = frugal("plan", "--model", "mlp", "--arch", "sm_86");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--arch sm_86 compiles the kernels --explain lists; add --explain"), r.err());
    }
}
