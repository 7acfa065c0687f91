package dev.frugal.trainer.checkpoint;

import dev.frugal.runtime.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Everything needed to continue training exactly where it stopped: the model's weights and
 * buffers, the optimizer's state tensors (moments, momentum buffers), the step and epoch, the
 * random generators' state and free-form metadata. {@link CheckpointStore} saves and loads it as
 * one unit.
 *
 * <p>A checkpoint returned by {@link CheckpointStore#load} owns its tensors; {@link #close()}
 * frees them. One built by the caller for saving merely refers to the caller's tensors, which
 * must stay open until the save returns.
 *
 * @param step the number of optimizer steps taken (at least 0)
 * @param epoch the epoch the next step belongs to (at least 0)
 * @param model the model's parameters and buffers by name, in a stable order (unmodifiable)
 * @param optimizer the optimizer's state tensors by name, e.g. {@code exp_avg/fc1.weight} (unmodifiable)
 * @param rngState the random generators' state words (a copy; the accessor copies too)
 * @param metadata free-form string pairs (unmodifiable)
 */
public record Checkpoint(
        long step,
        long epoch,
        SequencedMap<String, Tensor> model,
        SequencedMap<String, Tensor> optimizer,
        long[] rngState,
        Map<String, String> metadata) implements AutoCloseable {

    /** Validates the counters and copies every container so the caller's later changes do not leak in. */
    public Checkpoint {
        if (step < 0) {
            throw new IllegalArgumentException("checkpoint step " + step + " is negative; expected at least 0");
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("checkpoint epoch " + epoch + " is negative; expected at least 0");
        }
        model = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(model));
        optimizer = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(optimizer));
        rngState = rngState.clone();
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** A copy of the random generators' state words. */
    @Override
    public long[] rngState() {
        return rngState.clone();
    }

    /** Closes every model and optimizer tensor; closing twice is harmless. */
    @Override
    public void close() {
        model.values().forEach(Tensor::close);
        optimizer.values().forEach(Tensor::close);
    }
}
