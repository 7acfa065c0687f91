package dev.frugal.trainer.data;

/**
 * What the loader does with the samples left over when the dataset size is not a multiple of
 * the batch size.
 */
public enum LastBatchPolicy {
    /** Serve them as a final, smaller batch: every sample is seen once per epoch (for evaluation). */
    KEEP,
    /** Skip them: every batch has the full size, so one compiled program fits every step. */
    DROP
}
