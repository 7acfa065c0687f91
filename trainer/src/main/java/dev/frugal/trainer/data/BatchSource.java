package dev.frugal.trainer.data;

import java.io.IOException;
import java.util.List;

/**
 * Where a trainer or evaluator reads its batches from: the one view of the data the training
 * loop needs, so the same loop trains an image classifier on a {@link DataLoader} and a language
 * model on windows of a text ({@code text.TokenWindows}). Each epoch's batches depend only on the
 * source's settings and the epoch number, so a resumed run sees the batches it would have seen.
 */
public interface BatchSource extends AutoCloseable {
    /** Samples in a full batch. */
    int batchSize();

    /**
     * Batches in one epoch.
     *
     * @return the count
     * @throws IOException when the data has to be read first and cannot be
     */
    int batchesPerEpoch() throws IOException;

    /**
     * The distinct batch sizes of an epoch, ascending: the batch size, and a smaller last batch's
     * when one is kept. A trainer under a memory budget compiles an evaluation program for each.
     *
     * @return the sizes; empty when there is no data
     * @throws IOException when the data has to be read first and cannot be
     */
    List<Integer> batchSizes() throws IOException;

    /**
     * Samples in one epoch (images, or windows of text).
     *
     * @return the count
     * @throws IOException when the data has to be read first and cannot be
     */
    int sampleCount() throws IOException;

    /**
     * Starts an epoch; starting another ends this one (its batches become invalid).
     *
     * @param epoch the epoch number, which keys any shuffling or sampling
     * @return the batches, in order
     */
    EpochBatches epoch(int epoch);

    /** Stops any background work and frees the batch buffers. Idempotent. */
    @Override
    void close();
}
