package dev.frugal.trainer.data;

/**
 * How a {@link DataLoader} batches, shuffles, augments and normalises.
 *
 * <p>Pixels become {@code (byte / 255 - mean) / std}. Augmentation (when enabled) first takes a
 * random {@code height x width} crop of the image padded by {@code cropPadding} zero pixels on
 * every side, then flips it horizontally with probability 1/2. All randomness derives from
 * {@code seed}, the epoch and the sample index, never from timing or thread order.
 *
 * @param batchSize      samples per batch, at least 1
 * @param shuffle        whether each epoch visits the samples in a seeded random order
 * @param seed           seed for shuffling and augmentation
 * @param lastBatch      what to do with a final partial batch
 * @param cropPadding    padding for random crops; 0 turns cropping off
 * @param horizontalFlip whether to flip at random
 * @param mean           subtracted after scaling to [0, 1]
 * @param std            divided by after subtracting the mean; positive
 * @param buffers        off-heap batch buffers in the ring the background thread fills ahead, at least 1
 */
public record LoaderOptions(int batchSize, boolean shuffle, long seed, LastBatchPolicy lastBatch, int cropPadding,
                            boolean horizontalFlip, float mean, float std, int buffers) {
    /** Fashion-MNIST training-set pixel mean after scaling to [0, 1]. */
    public static final float FASHION_MNIST_MEAN = 0.2860f;
    /** Fashion-MNIST training-set pixel standard deviation after scaling to [0, 1]. */
    public static final float FASHION_MNIST_STD = 0.3530f;

    /** Checks the values. */
    public LoaderOptions {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + ", expected at least 1");
        }
        if (lastBatch == null) {
            throw new IllegalArgumentException("last batch policy is null, expected KEEP or DROP");
        }
        if (cropPadding < 0) {
            throw new IllegalArgumentException("crop padding " + cropPadding + ", expected 0 or more");
        }
        if (!(std > 0) || !Float.isFinite(std) || !Float.isFinite(mean)) {
            throw new IllegalArgumentException("normalisation mean " + mean + ", std " + std
                    + ": expected finite values and std > 0");
        }
        if (buffers < 1) {
            throw new IllegalArgumentException(buffers + " buffers, expected at least 1");
        }
    }

    /**
     * Shuffled, seed 0, last batch kept, no augmentation, pixels scaled to [0, 1], 3 buffers.
     *
     * @param batchSize samples per batch
     * @return the options
     */
    public static LoaderOptions of(int batchSize) {
        return new LoaderOptions(batchSize, true, 0, LastBatchPolicy.KEEP, 0, false, 0f, 1f, 3);
    }

    /** These options with another seed. */
    public LoaderOptions withSeed(long newSeed) {
        return new LoaderOptions(batchSize, shuffle, newSeed, lastBatch, cropPadding, horizontalFlip, mean, std, buffers);
    }

    /** These options with shuffling on or off. */
    public LoaderOptions withShuffle(boolean on) {
        return new LoaderOptions(batchSize, on, seed, lastBatch, cropPadding, horizontalFlip, mean, std, buffers);
    }

    /** These options with another last-batch policy. */
    public LoaderOptions withLastBatch(LastBatchPolicy policy) {
        return new LoaderOptions(batchSize, shuffle, seed, policy, cropPadding, horizontalFlip, mean, std, buffers);
    }

    /** These options with random crops (padding 0 for none) and random horizontal flips on or off. */
    public LoaderOptions withAugmentation(int padding, boolean flip) {
        return new LoaderOptions(batchSize, shuffle, seed, lastBatch, padding, flip, mean, std, buffers);
    }

    /** These options with another normalisation. */
    public LoaderOptions withNormalization(float newMean, float newStd) {
        return new LoaderOptions(batchSize, shuffle, seed, lastBatch, cropPadding, horizontalFlip, newMean, newStd,
                buffers);
    }

    /** These options with another number of ring buffers. */
    public LoaderOptions withBuffers(int count) {
        return new LoaderOptions(batchSize, shuffle, seed, lastBatch, cropPadding, horizontalFlip, mean, std, count);
    }
}
