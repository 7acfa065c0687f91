package dev.frugal.trainer.data;

import dev.frugal.runtime.Tensor;

/**
 * One batch from a {@link DataLoader}: images {@code [n, 1, height, width]} (f32, normalised)
 * and labels {@code [n]} (i32). The tensors are views of one of the loader's reusable off-heap
 * buffers: they stay valid only until the next {@code hasNext()}/{@code next()} call on the
 * epoch, after which the buffer is refilled. Copy what must outlive that.
 */
public final class Batch implements DataBatch {
    private final int epoch;
    private final int index;
    private final Tensor images;
    private final Tensor labels;
    private final int[] samples;

    Batch(int epoch, int index, Tensor images, Tensor labels, int[] samples) {
        this.epoch = epoch;
        this.index = index;
        this.images = images;
        this.labels = labels;
        this.samples = samples;
    }

    /** The epoch this batch belongs to. */
    public int epoch() {
        return epoch;
    }

    /** The batch's position in its epoch, from 0. */
    @Override
    public int index() {
        return index;
    }

    /** Number of samples (the batch size, or less for a kept last batch). */
    @Override
    public int size() {
        return samples.length;
    }

    /** Images, f32 {@code [n, 1, height, width]}; valid until the epoch advances. */
    public Tensor images() {
        return images;
    }

    /** Labels, i32 {@code [n]}; valid until the epoch advances. */
    public Tensor labels() {
        return labels;
    }

    /** The images: an image classifier's input. */
    @Override
    public Tensor input() {
        return images;
    }

    /** The labels: an image classifier's target. */
    @Override
    public Tensor target() {
        return labels;
    }

    /** The dataset index of row {@code row} (shows the shuffle order). */
    public int sampleIndex(int row) {
        return samples[row];
    }
}
