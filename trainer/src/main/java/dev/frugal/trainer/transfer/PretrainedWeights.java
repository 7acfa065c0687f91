package dev.frugal.trainer.transfer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.models.Module;
import dev.frugal.models.Variable;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.checkpoint.SafetensorsEntry;
import dev.frugal.trainer.checkpoint.SafetensorsFile;
import dev.frugal.trainer.checkpoint.SafetensorsReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Loads pretrained weights from a safetensors file into a model by name: a PyTorch
 * {@code state_dict} saved with {@code safetensors.torch.save_file}, or any other file whose
 * tensor names follow the model's (the zoo's modules are named like their PyTorch twins:
 * {@code fc1.weight}, {@code block1.bn.running_mean}). Where the names differ, a name map
 * ({@code {"frugal.name": "file.name", ...}}) renames; variables it does not mention are looked up
 * under their own name.
 *
 * <p>Every matched tensor must have its variable's shape (PyTorch's layouts are Frugal's:
 * {@code Linear.weight} is {@code [out, in]}, a convolution's {@code [out, in/groups, kh, kw]}).
 * A floating tensor of another floating dtype ({@code F16}, {@code BF16}, {@code F64}) is converted
 * to the variable's dtype, and the report says so; integer and floating never mix. Everything is
 * checked before anything is copied, so a failed load leaves the model as it was. Variables the
 * file lacks keep their initialisation; tensors nothing takes (PyTorch's
 * {@code num_batches_tracked}, a replaced head) are reported, not an error.
 */
public final class PretrainedWeights {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PretrainedWeights() {
    }

    /**
     * Loads matching tensors of {@code file} into {@code model}'s variables (parameters and buffers).
     *
     * @param model an initialised module
     * @param file a safetensors file
     * @param nameMap model name to file name, for the names that differ; empty to match equal names only
     * @return what matched, what is missing and what was not used
     * @throws IOException when the file cannot be read or is damaged (naming the file and tensor)
     * @throws IllegalArgumentException naming the tensor and both shapes when a matched tensor's shape
     *     differs, naming it and both dtypes when its dtype cannot be converted, or naming a name-map
     *     key that is not a variable of the model (listing them), or a file name mapped twice
     */
    public static WeightImportReport load(Module model, Path file, Map<String, String> nameMap) throws IOException {
        Map<String, Variable> variables = model.namedVariables();
        checkNameMap(variables, nameMap, file);
        try (SafetensorsFile st = SafetensorsReader.open(file)) {
            Map<String, SafetensorsEntry> entries = st.entries();
            List<WeightImportReport.Match> matched = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            Set<String> used = new HashSet<>();
            for (Map.Entry<String, Variable> e : variables.entrySet()) {
                String modelName = e.getKey();
                String fileName = nameMap.getOrDefault(modelName, modelName);
                SafetensorsEntry entry = entries.get(fileName);
                if (entry == null) {
                    missing.add(modelName);
                    continue;
                }
                Variable v = e.getValue();
                String named = fileName.equals(modelName) ? "tensor '" + modelName + "'"
                        : "tensor '" + fileName + "' (mapped to '" + modelName + "')";
                if (!entry.shape().equals(v.shape())) {
                    throw new IllegalArgumentException(named + " in " + file + " has shape " + entry.shape() + ", the model's '"
                            + modelName + "' expects " + v.shape());
                }
                if (entry.dtype() != v.dtype() && !(entry.dtype().isFloating() && v.dtype().isFloating())) {
                    throw new IllegalArgumentException(named + " in " + file + " is " + entry.dtype().shortName() + ", the model's '"
                            + modelName + "' is " + v.dtype().shortName() + "; only floating dtypes convert into each other");
                }
                matched.add(new WeightImportReport.Match(modelName, fileName, v.shape(), entry.dtype(), v.dtype()));
                used.add(fileName);
            }
            List<String> unexpected = new ArrayList<>();
            for (String name : entries.keySet()) {
                if (!used.contains(name)) {
                    unexpected.add(name);
                }
            }
            // every check passed: load, converting where the dtypes differ
            Map<String, Tensor> loaded = new LinkedHashMap<>();
            try {
                for (WeightImportReport.Match m : matched) {
                    Tensor t = st.load(m.fileName());
                    if (m.converted()) {
                        Tensor converted = t.to(m.modelDType());
                        t.close();
                        t = converted;
                    }
                    loaded.put(m.modelName(), t);
                }
                loaded.forEach((name, t) -> variables.get(name).load(t));
            } finally {
                loaded.values().forEach(Tensor::close);
            }
            return new WeightImportReport(file, matched, missing, unexpected);
        }
    }

    /**
     * Reads a name map: a JSON object from the model's variable names to the file's tensor names,
     * such as {@code {"fc2.weight": "classifier.weight"}}.
     *
     * @param json the file
     * @return the map, in file order
     * @throws IOException when it cannot be read, or is not a JSON object of strings (naming the file and the entry)
     */
    public static Map<String, String> readNameMap(Path json) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(json));
        } catch (JsonProcessingException e) {
            throw new IOException("name map " + json + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException("name map " + json + ": expected a JSON object {\"frugal.name\": \"file.name\", ...}");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!e.getValue().isTextual()) {
                throw new IOException("name map " + json + ": the entry '" + e.getKey() + "' maps to " + e.getValue()
                        + ", expected the file's tensor name as a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    /** A key that names no variable is a typo that would silently load nothing; two keys mapped to one tensor a mistake. */
    private static void checkNameMap(Map<String, Variable> variables, Map<String, String> nameMap, Path file) {
        Map<String, String> byFileName = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : nameMap.entrySet()) {
            if (!variables.containsKey(e.getKey())) {
                throw new IllegalArgumentException("name map for " + file + ": '" + e.getKey() + "' is not a variable of the model; its variables are "
                        + String.join(", ", variables.keySet()));
            }
            String before = byFileName.put(e.getValue(), e.getKey());
            if (before != null) {
                throw new IllegalArgumentException("name map for " + file + ": '" + before + "' and '" + e.getKey() + "' both map to the tensor '"
                        + e.getValue() + "'");
            }
        }
    }
}
