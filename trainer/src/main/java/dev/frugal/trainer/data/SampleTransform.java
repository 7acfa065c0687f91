package dev.frugal.trainer.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Turns one stored image into network input: augmentation (random crop with padding, random
 * horizontal flip) and normalisation, from unsigned bytes to floats.
 *
 * <p>The random choices for a sample come from a generator keyed by (seed, epoch, sample index),
 * so they are the same whatever batch the sample lands in, whichever thread fills it and
 * however far ahead the loader runs.
 */
public final class SampleTransform {
    private final LoaderOptions options;
    private final int height;
    private final int width;

    /**
     * A transform for images of one size.
     *
     * @param options augmentation and normalisation settings
     * @param height  image height
     * @param width   image width
     */
    public SampleTransform(LoaderOptions options, int height, int width) {
        this.options = options;
        this.height = height;
        this.width = width;
    }

    /**
     * Writes the transformed sample as {@code height * width} floats.
     *
     * @param src       unsigned-byte pixels of the whole dataset
     * @param srcOffset byte offset of this sample's first pixel
     * @param dst       float destination
     * @param dstOffset byte offset of the first float to write
     * @param epoch     the epoch (augmentation differs between epochs)
     * @param sample    the sample's index in the dataset
     */
    public void apply(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, int epoch, int sample) {
        int dy = 0;
        int dx = 0;
        boolean flip = false;
        int pad = options.cropPadding();
        if (pad > 0 || options.horizontalFlip()) {
            SplittableRandom rng = new SplittableRandom(key(options.seed(), epoch, sample));
            if (pad > 0) {
                dy = rng.nextInt(2 * pad + 1) - pad;
                dx = rng.nextInt(2 * pad + 1) - pad;
            }
            flip = options.horizontalFlip() && rng.nextBoolean();
        }
        // Folding scale, mean and std into one multiply-add keeps the per-pixel work small.
        float scale = 1f / (255f * options.std());
        float shift = -options.mean() / options.std();
        float padValue = shift; // a zero pixel, normalised
        for (int y = 0; y < height; y++) {
            int sy = y + dy;
            for (int x = 0; x < width; x++) {
                int cx = flip ? width - 1 - x : x;
                int sx = cx + dx;
                float v;
                if (sy < 0 || sy >= height || sx < 0 || sx >= width) {
                    v = padValue;
                } else {
                    int b = Byte.toUnsignedInt(src.get(ValueLayout.JAVA_BYTE, srcOffset + (long) sy * width + sx));
                    v = b * scale + shift;
                }
                dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, dstOffset + 4L * ((long) y * width + x), v);
            }
        }
    }

    /**
     * A well-mixed 64-bit key from a seed and two indices (SplitMix64 finaliser on each step), so
     * neighbouring epochs and samples get unrelated random streams.
     *
     * @param seed the run seed
     * @param a    first index (the epoch)
     * @param b    second index (the sample, or -1 for the epoch's shuffle)
     * @return the key
     */
    public static long key(long seed, long a, long b) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        h = mix(h ^ (a * 0xBF58476D1CE4E5B9L + 1));
        return mix(h ^ (b * 0x94D049BB133111EBL + 2));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
