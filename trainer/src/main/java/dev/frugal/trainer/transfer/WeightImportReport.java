package dev.frugal.trainer.transfer;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link PretrainedWeights#load} did: which of the model's variables were loaded from which
 * file tensor, which the file lacks (they keep their initialisation) and which file tensors were
 * not used.
 *
 * @param file the safetensors file read
 * @param matched the variables loaded, in the model's order
 * @param missing the model's variables (parameters and buffers) not found in the file, in the model's order
 * @param unexpected the file's tensors no variable took, in file order
 */
public record WeightImportReport(Path file, List<Match> matched, List<String> missing, List<String> unexpected) {

    /**
     * One variable loaded from the file.
     *
     * @param modelName the variable's full name in the model
     * @param fileName the tensor's name in the file (differs from {@code modelName} through the name map)
     * @param shape the shape both have
     * @param fileDType the tensor's dtype in the file
     * @param modelDType the variable's dtype, which the values were converted to when it differs
     */
    public record Match(String modelName, String fileName, Shape shape, DType fileDType, DType modelDType) {
        /** Whether the values were converted from another dtype. */
        public boolean converted() {
            return fileDType != modelDType;
        }
    }

    /** Copies the lists. */
    public WeightImportReport {
        matched = List.copyOf(matched);
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
    }

    /** The matches whose values were converted from another dtype. */
    public List<Match> converted() {
        return matched.stream().filter(Match::converted).toList();
    }

    /** The report as JSON-ready maps and lists (what {@code init-report.json} holds). */
    public Map<String, Object> toMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("file", file.toString());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Match m : matched) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", m.modelName());
            row.put("file_name", m.fileName());
            row.put("shape", m.shape().toString());
            row.put("file_dtype", m.fileDType().shortName());
            row.put("dtype", m.modelDType().shortName());
            rows.add(row);
        }
        out.put("matched", rows);
        out.put("missing", missing);
        out.put("unexpected", unexpected);
        out.put("converted", converted().stream().map(Match::modelName).toList());
        return out;
    }

    /** A few lines for a person: counts, then every missing, unexpected, renamed and converted name. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("weights from ").append(file).append(": ").append(matched.size()).append(" matched, ")
                .append(missing.size()).append(" missing (kept their initialisation), ")
                .append(unexpected.size()).append(" unexpected (not used)");
        for (Match m : matched) {
            if (!m.modelName().equals(m.fileName())) {
                sb.append("\n  renamed: ").append(m.fileName()).append(" -> ").append(m.modelName());
            }
            if (m.converted()) {
                sb.append("\n  converted: ").append(m.modelName()).append(" from ").append(m.fileDType().shortName())
                        .append(" to ").append(m.modelDType().shortName());
            }
        }
        for (String name : missing) {
            sb.append("\n  missing: ").append(name);
        }
        for (String name : unexpected) {
            sb.append("\n  unexpected: ").append(name);
        }
        return sb.toString();
    }
}
