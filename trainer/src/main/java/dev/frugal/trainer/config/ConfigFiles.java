package dev.frugal.trainer.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads {@code frugal train --config FILE}: YAML ({@code .yaml}, {@code .yml}) or JSON
 * ({@code .json}), chosen by extension; one flat mapping whose keys are {@link TrainConfig#keys()}
 * (the command-line flags without dashes). The run directory's {@code config.json} is such a file.
 * Every problem is a {@link ConfigException} that names the file, and the key where there is one.
 */
public final class ConfigFiles {
    // a key given twice is almost always a merge mistake; last-one-wins would hide it
    private static final ObjectMapper JSON = JsonMapper.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final ObjectMapper YAML = YAMLMapper.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private ConfigFiles() {
    }

    /**
     * The defaults with a file's options applied.
     *
     * @param file a {@code .yaml}, {@code .yml} or {@code .json} file
     * @return {@code TrainConfig.defaults().withOverrides(readOverrides(file))}
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException if it cannot be read
     * @throws ConfigException if it does not parse, is not a mapping, has an unknown key, or a value
     *     of the wrong type or out of range; the message starts with the file's path
     */
    public static TrainConfig load(Path file) throws IOException {
        Map<String, Object> overrides = readOverrides(file);
        try {
            return TrainConfig.defaults().withOverrides(overrides);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * A file's options, checked for unknown keys, types and ranges but not applied, so that the
     * command line can merge its own flags (and the model's recipe under both) and apply the
     * result once: {@link TrainConfig#layered TrainConfig.layered(file, flags)}. Merging the maps
     * rather than chaining {@code withOverrides} lets a flag satisfy a rule that spans keys (the
     * file's {@code nesterov: true} with the command line's {@code --momentum 0.9}).
     *
     * @param file a {@code .yaml}, {@code .yml} or {@code .json} file
     * @return key to value in file order, values as {@link TrainConfig#withOverrides} accepts them
     * @throws NoSuchFileException if the file does not exist
     * @throws IOException if it cannot be read
     * @throws ConfigException as {@link #load}
     */
    public static Map<String, Object> readOverrides(Path file) throws IOException {
        ObjectMapper mapper = mapperFor(file);
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "configuration file not found");
        }
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new ConfigException(file + ": not valid " + format(file) + where + ": " + e.getOriginalMessage(), e);
        }
        // an empty file (or one with only comments) configures nothing
        if (root == null || root.isMissingNode() || root.isNull()) {
            return new LinkedHashMap<>();
        }
        if (!root.isObject()) {
            throw new ConfigException(file + ": expected a mapping of option names to values, found "
                + root.getNodeType().toString().toLowerCase(Locale.ROOT));
        }
        Map<String, Object> overrides = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            if (!TrainConfig.keys().contains(key)) {
                throw new ConfigException(file + ": " + TrainConfig.unknownKeyMessage(key));
            }
            JsonNode node = field.getValue();
            if (node.getNodeType() == JsonNodeType.OBJECT || node.getNodeType() == JsonNodeType.ARRAY) {
                throw new ConfigException(file + ": key '" + key + "': expected a single value, got a "
                    + (node.isObject() ? "mapping" : "list"));
            }
            overrides.put(key, node.isNull() ? null : mapper.treeToValue(node, Object.class));
        }
        // check types and ranges now, so the error names this file rather than the later merge
        try {
            TrainConfig.defaults().withOverrides(overrides);
        } catch (ConfigException e) {
            if (!isRangeProblemFixableLater(e)) {
                throw new ConfigException(file + ": " + e.getMessage(), e);
            }
        }
        return overrides;
    }

    /**
     * A cross-key rule such as "nesterov needs momentum" may be satisfied once the command line's
     * flags are merged in, so only it is left for the final check.
     */
    private static boolean isRangeProblemFixableLater(ConfigException e) {
        return e.getMessage().startsWith("nesterov ");
    }

    private static ObjectMapper mapperFor(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            return YAML;
        }
        if (name.endsWith(".json")) {
            return JSON;
        }
        throw new ConfigException(file + ": unknown configuration file type; use a .yaml, .yml or .json file");
    }

    private static String format(Path file) {
        return mapperFor(file) == YAML ? "YAML" : "JSON";
    }
}
