package dev.frugal.trainer.text;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A run's tokenizer on disk, {@value #NAME} in the run directory, so that evaluation, sampling
 * and a resumed run encode and decode exactly as training did, even when the text file has
 * changed since: {@code {"kind": "byte", "vocab_size": 256}}, or for a char tokenizer also
 * {@code "characters"}, the vocabulary in id order as one JSON string.
 */
public final class TokenizerFile {
    /** The file's name in a run directory. */
    public static final String NAME = "tokenizer.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFile() {
    }

    /**
     * Writes {@code tokenizer} into {@code runDir}, atomically.
     *
     * @param tokenizer the run's tokenizer
     * @param runDir the run directory
     * @return the file written
     * @throws IOException when writing fails
     */
    public static Path write(Tokenizer tokenizer, Path runDir) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("kind", tokenizer.kind());
        o.put("vocab_size", tokenizer.vocabSize());
        if (tokenizer instanceof CharTokenizer c) {
            o.put("characters", c.characters());
        }
        Path file = runDir.resolve(NAME);
        AtomicFiles.write(file, (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8));
        return file;
    }

    /**
     * Reads the tokenizer of a run directory.
     *
     * @param runDir the run directory
     * @return the tokenizer
     * @throws NoSuchFileException when the run has no {@value #NAME} (not a language-model run)
     * @throws IOException when the file cannot be read or is damaged, naming it and what is wrong
     */
    public static Tokenizer read(Path runDir) throws IOException {
        Path file = runDir.resolve(NAME);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no tokenizer: not the run directory of a language model");
        }
        JsonNode o;
        try {
            o = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            throw new IOException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (o == null || !o.isObject()) {
            throw new IOException(file + ": expected a JSON object with \"kind\"");
        }
        String kind = o.path("kind").asText("");
        Tokenizer t;
        try {
            t = switch (kind) {
                case ByteTokenizer.KIND -> new ByteTokenizer();
                case CharTokenizer.KIND -> {
                    JsonNode chars = o.get("characters");
                    if (chars == null || !chars.isTextual()) {
                        throw new IOException(file + ": a char tokenizer needs \"characters\", its vocabulary as a string");
                    }
                    yield CharTokenizer.of(chars.asText());
                }
                default -> throw new IOException(file + ": unknown tokenizer kind '" + kind + "'; valid: " + String.join(", ", Tokenizer.KINDS));
            };
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
        JsonNode size = o.get("vocab_size");
        if (size != null && size.asInt() != t.vocabSize()) {
            throw new IOException(file + ": vocab_size " + size.asInt() + " disagrees with the " + t.vocabSize() + " ids the tokenizer has");
        }
        return t;
    }
}
