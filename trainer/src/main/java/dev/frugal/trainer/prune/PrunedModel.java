package dev.frugal.trainer.prune;

import dev.frugal.models.zoo.ChannelSurgery;
import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.checkpoint.NamedTensors;
import dev.frugal.trainer.checkpoint.SafetensorsReader;
import dev.frugal.trainer.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The physically smaller model a structured-pruning run ends with: its channels removed
 * ({@link ChannelSurgery}), saved as {@code RUN_DIR/pruned/model.safetensors} with its zoo spec in
 * the file's metadata, so {@code frugal eval} and {@code frugal export} use it in place of the
 * masked full-size checkpoints (which stay, for {@code --resume}).
 */
public final class PrunedModel {
    /** The folder of a run directory holding the pruned model. */
    public static final String DIRECTORY = "pruned";
    /** The file inside it. */
    public static final String FILE = "model.safetensors";
    /** The metadata key of the pruned model's zoo spec. */
    public static final String SPEC_KEY = "frugal.model";
    /** The metadata key of the spec it was pruned from. */
    public static final String SOURCE_KEY = "frugal.pruned_from";

    private PrunedModel() {
    }

    /**
     * Removes the channels the pruner's masks dropped from {@code model} and writes the result
     * (atomically: a failed write leaves no partial file).
     *
     * @param model  the trained, masked model
     * @param pruner the run's structured pruner
     * @param runDir the run directory
     * @param seed   the run's seed (for the new model's allocation; every value is then copied)
     * @return the pruned model, open; the caller closes it
     * @throws IOException when writing fails
     */
    public static Model write(Model model, Pruner pruner, Path runDir, long seed) throws IOException {
        Model pruned = ChannelSurgery.keep(model, pruner.keptChannels(), seed);
        try {
            Path dir = runDir.resolve(DIRECTORY);
            Files.createDirectories(dir);
            SafetensorsWriter.write(dir.resolve(FILE), new LinkedHashMap<>(pruned.module().state()),
                    Map.of(SPEC_KEY, pruned.spec().toString(), SOURCE_KEY, model.spec().toString()));
            return pruned;
        } catch (IOException | RuntimeException e) {
            pruned.close();
            throw e;
        }
    }

    /** Where a run directory keeps its pruned model. */
    public static Path file(Path runDir) {
        return runDir.resolve(DIRECTORY).resolve(FILE);
    }

    /**
     * The pruned model of a run directory, when it has one.
     *
     * @param runDir a run directory of {@code frugal train}
     * @return the model with its weights, open (the caller closes it); empty when the run has no pruned model
     * @throws IOException when the file cannot be read
     * @throws IllegalArgumentException when the file lacks its spec or its tensors do not fit it
     */
    public static Optional<Model> load(Path runDir) throws IOException {
        Path file = file(runDir);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try (NamedTensors saved = SafetensorsReader.read(file)) {
            String spec = saved.metadata().get(SPEC_KEY);
            if (spec == null) {
                throw new IllegalArgumentException(file + ": no '" + SPEC_KEY + "' in its metadata; expected the pruned model of frugal train --prune structured");
            }
            Model m = ModelZoo.create(spec, 0);
            try {
                Map<String, Tensor> state = saved.tensors();
                m.module().loadState(state);
                return Optional.of(m);
            } catch (RuntimeException e) {
                m.close();
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }
    }
}
