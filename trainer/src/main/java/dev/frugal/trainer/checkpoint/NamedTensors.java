package dev.frugal.trainer.checkpoint;

import dev.frugal.runtime.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * An ordered map of named tensors with a string-to-string metadata map: what one safetensors
 * file holds. Closing it closes every tensor, so a bundle returned by
 * {@link SafetensorsReader#read} is freed in one call.
 *
 * @param tensors the tensors, in file order (unmodifiable)
 * @param metadata the free-form {@code __metadata__} map (unmodifiable, possibly empty)
 */
public record NamedTensors(SequencedMap<String, Tensor> tensors, Map<String, String> metadata) implements AutoCloseable {
    /** Copies both maps so later changes by the caller do not leak in. */
    public NamedTensors {
        tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /**
     * The tensor called {@code name}.
     *
     * @param name the tensor's name
     * @return the tensor (still owned by this bundle)
     * @throws IllegalArgumentException naming the tensors there are when there is none by that name
     */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named '" + name + "'; there are " + tensors.keySet());
        }
        return t;
    }

    /** Closes every tensor; closing twice is harmless. */
    @Override
    public void close() {
        for (Tensor t : tensors.values()) {
            t.close();
        }
    }
}
