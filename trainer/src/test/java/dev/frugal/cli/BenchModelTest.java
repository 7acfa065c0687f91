package dev.frugal.cli;

import static dev.frugal.cli.TrainCommandTest.frugal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.cli.TrainCommandTest.Result;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code frugal bench --model}: a zoo model's training step timed, with the per-kernel profile. */
class BenchModelTest {
    @Test
    void timesAStepAndProfilesItsKernels() throws IOException {
        Result r = frugal("bench", "--model", "cnn-small:channels1=4,channels2=8,hidden=16", "--batch-size", "8", "--warmup", "1",
                "--repeat", "3", "--profile", "--json");
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals("cnn-small:channels1=4,channels2=8,hidden=16,width=1", o.get("model").asText());
        assertEquals(8, o.get("batch_size").asInt());
        assertEquals("sgd", o.get("optimizer").asText(), "cnn-small's recipe");
        assertTrue(o.get("step_ms_median").asDouble() > 0);
        assertEquals(8 / (o.get("step_ms_median").asDouble() / 1e3), o.get("samples_per_second").asDouble(), 1e-6);
        assertTrue(o.get("peak_bytes").asLong() > 0);
        Set<String> kernels = new HashSet<>();
        int calls = 0;
        double previous = Double.MAX_VALUE;
        for (JsonNode k : o.get("profile")) {
            kernels.add(k.get("kernel").asText());
            calls += k.get("calls").asInt();
            assertTrue(k.get("ms").asDouble() <= previous, "largest first");
            previous = k.get("ms").asDouble();
        }
        assertTrue(kernels.containsAll(Set.of("conv2d", "conv2d_grad_weight", "matmul", "fused elementwise", "max_pool2d")), kernels.toString());
        assertEquals(o.get("kernel_calls").asInt(), calls, "every call of a step is in the profile");

        Result text = frugal("bench", "--model", "mlp:hidden1=8,hidden2=8", "--batch-size", "4", "--warmup", "0", "--repeat", "1",
                "--precision", "bf16", "--profile");
        assertEquals(0, text.code(), text.out() + text.err());
        assertTrue(text.out().startsWith("mlp:hidden1=8,hidden2=8, batch 4, bf16, adamw, CPU backend"), text.out());
        assertTrue(text.out().contains("kernel (per step)"), text.out());
    }

    @Test
    void badOptionsAreNamed() {
        Result noModel = frugal("bench", "--profile");
        assertEquals(2, noModel.code());
        assertTrue(noModel.err().contains("add --model SPEC"), noModel.err());
        if (dev.frugal.cuda.CudaDiscovery.report().devices().isEmpty()) {
            Result cuda = frugal("bench", "--model", "mlp", "--device", "cuda");
            assertEquals(2, cuda.code());
            assertTrue(cuda.err().contains("--device cuda: cannot open the GPU"), cuda.err());
        }
        Result batch = frugal("bench", "--model", "mlp", "--batch-size", "0");
        assertEquals(2, batch.code());
        assertTrue(batch.err().contains("--batch-size 0"), batch.err());
    }
}
