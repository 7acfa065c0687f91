package dev.frugal.trainer.checkpoint;

import static dev.frugal.trainer.checkpoint.TestTensors.sample;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files Frugal writes are read correctly by Python's safetensors (the reference implementation):
 * NumPy for every dtype NumPy has, PyTorch for BF16 (NumPy has no bfloat16). Runs when
 * {@code python3} with {@code safetensors} and {@code numpy} is available ({@code pip install
 * safetensors numpy}); the BF16 check also needs {@code torch}. Skipped otherwise, saying why.
 */
class SafetensorsPythonInteropTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Runs python3 with {@code args}; returns stdout, or null (with the reason in {@code why[0]}) when python3 cannot run. */
    private static String python(String[] why, String... args) throws InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("python3"));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                why[0] = "python3 did not finish in 120 s";
                return null;
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                why[0] = "python3 exited with " + p.exitValue() + ": " + text.strip();
                return null;
            }
            return text;
        } catch (IOException e) {
            why[0] = "python3 cannot be started: " + e.getMessage();
            return null;
        }
    }

    private static void assumeModules(String modules) throws InterruptedException {
        String[] why = new String[1];
        String out = python(why, "-c", "import " + modules);
        assumeTrue(out != null, () -> "needs python3 with " + modules + " (pip install safetensors numpy): " + why[0]);
    }

    private static final String DUMP = String.join("\n",
            "import json, sys",
            "from safetensors.numpy import load_file",
            "from safetensors import safe_open",
            "d = load_file(sys.argv[1])",
            "with safe_open(sys.argv[1], framework='np') as f: meta = f.metadata()",
            "out = {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': [float(x) for x in v.reshape(-1).tolist()] if v.dtype.kind == 'f'",
            "       else [int(x) for x in v.reshape(-1).tolist()]} for k, v in d.items()}",
            "print(json.dumps({'tensors': out, 'metadata': meta}))");

    @Test
    void pythonSafetensorsReadsWhatFrugalWrites() throws Exception {
        assumeModules("safetensors.numpy, numpy");
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        Map<DType, String> numpyNames = Map.of(DType.F64, "float64", DType.F32, "float32", DType.F16, "float16", DType.I64, "int64",
                DType.I32, "int32", DType.U8, "uint8", DType.BOOL, "bool");
        for (DType t : numpyNames.keySet()) {
            tensors.put(t.name().toLowerCase() + ".matrix", sample(t, 3, 4));
        }
        tensors.put("scalar", Tensor.scalar(-3.5, DType.F32));
        tensors.put("empty", Tensor.zeros(dev.frugal.runtime.Shape.of(2, 0), DType.I32));
        try (Tensor base = sample(DType.F32, 3, 4)) {
            tensors.put("transposed", base.permute(1, 0));
            Path file = dir.resolve("frugal.safetensors");
            SafetensorsWriter.write(file, tensors, Map.of("written_by", "frugal", "unicode", "\u00e9\u4e2d"));
            String[] why = new String[1];
            String out = python(why, "-c", DUMP, file.toString());
            if (out == null) {
                throw new AssertionError("python safetensors could not read the file Frugal wrote: " + why[0]);
            }
            JsonNode root = JSON.readTree(out);
            assertEquals("frugal", root.get("metadata").get("written_by").textValue());
            assertEquals("\u00e9\u4e2d", root.get("metadata").get("unicode").textValue());
            JsonNode got = root.get("tensors");
            assertEquals(tensors.size(), got.size());
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = e.getValue();
                JsonNode g = got.get(e.getKey());
                assertEquals(numpyNames.get(t.dtype()), g.get("dtype").textValue(), e.getKey());
                int[] shape = JSON.convertValue(g.get("shape"), int[].class);
                assertArrayEquals(t.shape().dims(), shape, e.getKey());
                double[] values = JSON.convertValue(g.get("values"), double[].class);
                assertArrayEquals(t.toDoubleArray(), values, 0.0, e.getKey());
            }
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    @Test
    void pytorchReadsFrugalBf16() throws Exception {
        assumeModules("safetensors.torch, torch");
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("w", Tensor.of(new double[] {1.0, -3.0, 0.1, 256.0, 1e-3, -7.25}, DType.BF16, 2, 3));
        try {
            Path file = dir.resolve("bf16.safetensors");
            SafetensorsWriter.write(file, tensors, Map.of());
            String[] why = new String[1];
            String out = python(why, "-c", String.join("\n",
                    "import json, sys",
                    "from safetensors.torch import load_file",
                    "w = load_file(sys.argv[1])['w']",
                    "print(json.dumps({'dtype': str(w.dtype), 'shape': list(w.shape), 'values': w.float().reshape(-1).tolist()}))"),
                    file.toString());
            if (out == null) {
                throw new AssertionError("PyTorch could not read the BF16 file Frugal wrote: " + why[0]);
            }
            JsonNode g = JSON.readTree(out);
            assertEquals("torch.bfloat16", g.get("dtype").textValue());
            assertArrayEquals(new int[] {2, 3}, JSON.convertValue(g.get("shape"), int[].class));
            assertArrayEquals(tensors.get("w").toDoubleArray(), JSON.convertValue(g.get("values"), double[].class), 0.0);
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }
}
