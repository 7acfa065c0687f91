package dev.frugal.trainer.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A directory of checkpoints that survives a crash at any moment. Layout under the root:
 *
 * <pre>
 * checkpoint-&lt;step&gt;/model.safetensors       weights and buffers (readable by Python safetensors/PyTorch)
 * checkpoint-&lt;step&gt;/optimizer.safetensors   optimizer state tensors
 * checkpoint-&lt;step&gt;/training_state.json     step, epoch, RNG state, metadata
 * </pre>
 *
 * <p>{@link #save} writes all three files into a temporary directory, forces each to disk, forces
 * the directory, then renames it to {@code checkpoint-<step>} in one atomic step and forces the
 * root. So a {@code checkpoint-<step>} directory exists only once it is complete, and the latest
 * checkpoint is simply the highest step. There is deliberately no separate "latest" pointer file:
 * updating it would be a second step after the rename, and a process killed between the two
 * would leave a newer complete checkpoint that the pointer does not name (a resumed run would then
 * collide with it). A process killed at any point leaves every earlier checkpoint intact; a failed
 * save deletes its temporary directory; leftovers of a killed process are removed by the next
 * save. One process writes to a store at a time.
 */
public final class CheckpointStore {
    /** The weights file in each checkpoint directory. */
    public static final String MODEL_FILE = "model.safetensors";
    /** The optimizer state file in each checkpoint directory. */
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    /** The step, epoch, RNG state and metadata file in each checkpoint directory. */
    public static final String STATE_FILE = "training_state.json";

    private static final String DIR_PREFIX = "checkpoint-";
    private static final Pattern DIR_NAME = Pattern.compile("checkpoint-(0|[1-9][0-9]{0,18})");
    private static final int FORMAT_VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;

    /**
     * A store rooted at {@code root}; nothing is read or created until the first call.
     *
     * @param root the directory holding the checkpoints (created by the first save)
     */
    public CheckpointStore(Path root) {
        this.root = root.toAbsolutePath();
    }

    /** The directory holding the checkpoints. */
    public Path root() {
        return root;
    }

    /**
     * Saves {@code checkpoint} as {@code checkpoint-<step>}; once this returns it is durable, and
     * it is the latest when its step is the highest.
     *
     * @param checkpoint what to save; its tensors must stay open until this returns
     * @return the new checkpoint directory
     * @throws FileAlreadyExistsException if a checkpoint of this step already exists (it is kept)
     * @throws IOException if writing fails; earlier checkpoints are untouched and the temporary
     *     directory is deleted
     */
    public Path save(Checkpoint checkpoint) throws IOException {
        Files.createDirectories(root);
        removeLeftovers();
        String name = DIR_PREFIX + checkpoint.step();
        Path target = root.resolve(name);
        if (Files.exists(target)) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "a checkpoint of step " + checkpoint.step() + " already exists; refusing to replace it");
        }
        Path temp = root.resolve(AtomicFiles.TEMP_PREFIX + name + "-" + Long.toUnsignedString(RANDOM.nextLong(), 36));
        try {
            Files.createDirectory(temp);
            Map<String, String> modelMeta = new LinkedHashMap<>();
            modelMeta.put("frugal.step", Long.toString(checkpoint.step()));
            modelMeta.put("frugal.epoch", Long.toString(checkpoint.epoch()));
            AtomicFiles.writeDurably(temp.resolve(MODEL_FILE), ch -> SafetensorsWriter.write(ch, checkpoint.model(), modelMeta));
            AtomicFiles.writeDurably(temp.resolve(OPTIMIZER_FILE), ch -> SafetensorsWriter.write(ch, checkpoint.optimizer(), Map.of()));
            byte[] state = stateJson(checkpoint);
            AtomicFiles.writeDurably(temp.resolve(STATE_FILE), ch -> {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(state);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            });
            AtomicFiles.syncDirectory(temp);
            AtomicFiles.moveAtomically(temp, target);
        } catch (IOException | RuntimeException | Error e) {
            try {
                AtomicFiles.deleteRecursively(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        AtomicFiles.syncDirectory(root);
        return target;
    }

    /**
     * Every complete checkpoint, oldest step first. Temporary directories of unfinished saves are
     * not listed.
     *
     * @throws IOException if the root cannot be listed
     */
    public List<StoredCheckpoint> list() throws IOException {
        List<StoredCheckpoint> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(root)) {
            for (Path p : dir) {
                Matcher m = DIR_NAME.matcher(p.getFileName().toString());
                if (m.matches() && Files.isDirectory(p)) {
                    out.add(new StoredCheckpoint(Long.parseLong(m.group(1)), p));
                }
            }
        }
        out.sort(Comparator.comparingLong(StoredCheckpoint::step));
        return out;
    }

    /**
     * The checkpoint with the highest step. Every listed directory is complete (it appears only by
     * the atomic rename that ends a save), so this is the newest checkpoint that was fully written.
     *
     * @return the latest checkpoint, or empty when the store has none
     * @throws IOException if the store cannot be listed
     */
    public Optional<StoredCheckpoint> latest() throws IOException {
        List<StoredCheckpoint> all = list();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /**
     * Loads the latest checkpoint ({@link #latest()}).
     *
     * @return the checkpoint, owning its tensors, or empty when the store has none
     * @throws IOException if it cannot be read or is malformed (the error names the file)
     */
    public Optional<Checkpoint> loadLatest() throws IOException {
        Optional<StoredCheckpoint> latest = latest();
        return latest.isEmpty() ? Optional.empty() : Optional.of(load(latest.get().directory()));
    }

    /**
     * Loads the checkpoint of {@code step}.
     *
     * @param step a step listed by {@link #list()}
     * @return the checkpoint, owning its tensors
     * @throws NoSuchFileException naming the steps there are when there is none of {@code step}
     * @throws IOException if it cannot be read or is malformed (the error names the file)
     */
    public Checkpoint load(long step) throws IOException {
        Path dir = root.resolve(DIR_PREFIX + step);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "no checkpoint of step " + step + "; the store has steps "
                    + list().stream().map(StoredCheckpoint::step).toList());
        }
        return load(dir);
    }

    /**
     * Deletes all but the newest {@code keep} checkpoints. Each
     * directory is first renamed to a temporary name, so a crash mid-delete never leaves a
     * partial directory that looks like a checkpoint.
     *
     * @param keep how many of the newest checkpoints to keep (at least 1)
     * @throws IOException if deleting fails
     */
    public void prune(int keep) throws IOException {
        if (keep < 1) {
            throw new IllegalArgumentException("prune keeps " + keep + " checkpoints; expected at least 1");
        }
        List<StoredCheckpoint> all = list();
        for (int i = 0; i < all.size() - keep; i++) {
            StoredCheckpoint c = all.get(i);
            Path doomed = root.resolve(AtomicFiles.TEMP_PREFIX + "deleted-" + c.directory().getFileName() + "-"
                    + Long.toUnsignedString(RANDOM.nextLong(), 36));
            AtomicFiles.moveAtomically(c.directory(), doomed);
            AtomicFiles.deleteRecursively(doomed);
        }
        AtomicFiles.syncDirectory(root);
    }

    private Checkpoint load(Path dir) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        JsonNode state;
        try {
            state = JSON.readTree(Files.readAllBytes(stateFile));
        } catch (JsonProcessingException e) {
            throw new IOException(stateFile + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (state == null || !state.isObject()) {
            throw new IOException(stateFile + ": expected a JSON object with format_version, step, epoch, rng_state and metadata");
        }
        int version = (int) requireLong(stateFile, state, "format_version");
        if (version != FORMAT_VERSION) {
            throw new IOException(stateFile + ": format_version " + version + " is not supported; expected " + FORMAT_VERSION);
        }
        long step = requireLong(stateFile, state, "step");
        long epoch = requireLong(stateFile, state, "epoch");
        if (!dir.getFileName().toString().equals(DIR_PREFIX + step)) {
            throw new IOException(stateFile + ": step " + step + " does not match the directory name " + dir.getFileName());
        }
        JsonNode rng = state.get("rng_state");
        if (rng == null || !rng.isArray()) {
            throw new IOException(stateFile + ": rng_state is " + rng + "; expected an array of 64-bit integers");
        }
        long[] rngState = new long[rng.size()];
        for (int i = 0; i < rngState.length; i++) {
            JsonNode v = rng.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new IOException(stateFile + ": rng_state[" + i + "] is " + v + "; expected a 64-bit integer");
            }
            rngState[i] = v.longValue();
        }
        JsonNode meta = state.get("metadata");
        if (meta == null || !meta.isObject()) {
            throw new IOException(stateFile + ": metadata is " + meta + "; expected an object of strings");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : meta.properties()) {
            if (!e.getValue().isTextual()) {
                throw new IOException(stateFile + ": metadata value of '" + e.getKey() + "' is " + e.getValue() + "; expected a string");
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        NamedTensors model = SafetensorsReader.read(dir.resolve(MODEL_FILE));
        try {
            NamedTensors optimizer = SafetensorsReader.read(dir.resolve(OPTIMIZER_FILE));
            return new Checkpoint(step, epoch, model.tensors(), optimizer.tensors(), rngState, metadata);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static long requireLong(Path file, JsonNode state, String field) throws IOException {
        JsonNode v = state.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new IOException(file + ": " + field + " is " + v + "; expected a non-negative integer");
        }
        return v.longValue();
    }

    private static byte[] stateJson(Checkpoint c) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format_version", FORMAT_VERSION);
        root.put("step", c.step());
        root.put("epoch", c.epoch());
        ArrayNode rng = root.putArray("rng_state");
        for (long v : c.rngState()) {
            rng.add(v);
        }
        ObjectNode meta = root.putObject("metadata");
        c.metadata().forEach(meta::put);
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not serialise the training state", e);
        }
    }

    /** Temporary entries left by a killed save or prune; safe to delete because one process writes at a time. */
    private void removeLeftovers() throws IOException {
        List<Path> leftovers = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(root, AtomicFiles.TEMP_PREFIX + "*")) {
            dir.forEach(leftovers::add);
        }
        for (Path p : leftovers) {
            AtomicFiles.deleteRecursively(p);
        }
    }
}
