package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.prune.PrunedModel;
import dev.frugal.trainer.quant.QuantizedModels;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The model a finished run stands for, as {@code frugal eval} and {@code frugal export} use it: the
 * smaller model of a structured-pruning run ({@link PrunedModel}) when there is one, otherwise the
 * run's zoo model (fake-quantized for a quantized run, {@link QuantizedModels}) with its latest
 * checkpoint's weights.
 *
 * @param model  the model with its weights; the caller closes it
 * @param step   the step of the latest checkpoint (the pruned model is built after the run's last one)
 * @param source the file or checkpoint directory the weights came from, for messages
 * @param pruned whether it is the pruned model
 */
record RunModel(Model model, long step, Path source, boolean pruned) {
    /**
     * Loads the model of {@code runDir}.
     *
     * @throws IllegalArgumentException when the run has no checkpoint
     * @throws IOException when a file cannot be read
     */
    static RunModel load(Path runDir, TrainConfig cfg) throws IOException {
        CheckpointStore store = new CheckpointStore(runDir.resolve(TrainCommand.CHECKPOINTS));
        var latest = store.latest();
        if (latest.isEmpty()) {
            throw new IllegalArgumentException(runDir + " has no checkpoint under " + store.root() + " (the run ended before its first epoch?)");
        }
        var pruned = PrunedModel.load(runDir);
        if (pruned.isPresent()) {
            return new RunModel(pruned.get(), latest.get().step(), PrunedModel.file(runDir), true);
        }
        // a quantized run (--quantize, or frugal quantize's calibration) evaluates and exports its int8 model
        Model m = QuantizedModels.create(cfg.model(), cfg.seed(), cfg.quantization());
        try (Checkpoint c = store.load(latest.get().step())) {
            m.module().loadState(c.model());
            return new RunModel(m, c.step(), latest.get().directory(), false);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The model's spec, marked when it is the pruned model. */
    String label() {
        return pruned ? model.spec() + " (pruned)" : model.spec().toString();
    }
}
