package dev.frugal.trainer.data;

import dev.frugal.runtime.Tensor;

/**
 * One batch as the trainer feeds it: the model's input and what it should predict, one row per
 * sample. An image batch ({@link Batch}) holds images and class labels; a language-model batch
 * ({@code text.TokenBatch}) windows of token ids and the same windows shifted by one. The
 * tensors are views of the source's reused buffers, valid until the source's epoch advances.
 */
public interface DataBatch {
    /** The batch's position in its epoch, from 0. */
    int index();

    /** Samples (rows) in the batch. */
    int size();

    /** The model's input, {@code [size, ...]}; valid until the epoch advances. */
    Tensor input();

    /** The target, {@code [size, ...]} (class ids, or next-token ids); valid until the epoch advances. */
    Tensor target();
}
