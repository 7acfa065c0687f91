package dev.frugal.trainer.data;

import java.util.Iterator;

/**
 * The batches of one epoch of a {@link BatchSource}, in order. A batch stays valid until the next
 * {@link #hasNext()} or {@link #next()} call; closing abandons the rest of the epoch.
 */
public interface EpochBatches extends Iterator<DataBatch>, AutoCloseable {
    /** Abandons the rest of the epoch (stops any background work). */
    @Override
    void close();
}
