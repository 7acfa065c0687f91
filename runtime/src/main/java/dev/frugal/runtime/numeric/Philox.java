package dev.frugal.runtime.numeric;

/**
 * The Philox4x32-10 counter-based random generator (Salmon et al., "Parallel random numbers: as
 * easy as 1, 2, 3", SC'11; Random123), and the exact recipe Frugal uses to turn it into uniform
 * floats. Element i of a draw is a pure function of (seed, stream, offset + i), so any backend,
 * any thread split and any recomputation produce the same numbers.
 *
 * <h2>Generator</h2>
 * A 128-bit counter (c0, c1, c2, c3) and a 64-bit key (k0, k1), all unsigned 32-bit words, go
 * through 10 rounds. One round, with M0 = 0xD2511F53 and M1 = 0xCD9E8D57 and hi/lo the halves
 * of the 64-bit product:
 * <pre>
 *   (c0, c1, c2, c3) = (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0))
 * </pre>
 * and between rounds the key is bumped: k0 += 0x9E3779B9, k1 += 0xBB67AE85 (mod 2^32). The
 * output is the final counter. This matches Random123's {@code philox4x32_R(10, ctr, key)} and
 * its published known-answer vectors.
 *
 * <h2>Uniform floats (the RANDOM_UNIFORM op)</h2>
 * For element i of a draw with counter offset {@code offset}, let n = offset + i (unsigned 64-bit,
 * wrapping). Then
 * <pre>
 *   counter = (lo32(n / 4), hi32(n / 4), lo32(stream), hi32(stream))
 *   key     = (lo32(seed), hi32(seed))
 *   word    = philox4x32_10(counter, key)[n % 4]
 *   value   = (word &gt;&gt;&gt; 8) * 2^-24          (a float in [0, 1), exact)
 * </pre>
 * so a GPU thread that owns four consecutive elements starting at a multiple of 4 computes one
 * Philox block. A draw of N elements consumes counter range [offset, offset + N): advance the
 * offset by at least N between draws that must differ.
 */
public final class Philox {
    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;

    private Philox() {
    }

    /**
     * Philox4x32-10 of {@code counter} (4 words) under {@code key} (2 words), written to {@code out}
     * (4 words; may be the counter array).
     */
    public static void philox4x32(int[] counter, int[] key, int[] out) {
        philox4x32(counter, key[0], key[1], out);
    }

    /** {@link #philox4x32(int[], int[], int[])} with the key as two words (no key array per block on the draws' hot path). */
    private static void philox4x32(int[] counter, int k0, int k1, int[] out) {
        int c0 = counter[0];
        int c1 = counter[1];
        int c2 = counter[2];
        int c3 = counter[3];
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (M0 & 0xffffffffL) * (c0 & 0xffffffffL);
            long p1 = (M1 & 0xffffffffL) * (c2 & 0xffffffffL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** The 32-bit word for counter position {@code n} (see the class documentation). */
    public static int word(long seed, long stream, long n) {
        int[] block = new int[4];
        block(seed, stream, n >>> 2, block);
        return block[(int) (n & 3)];
    }

    /** The four words of block {@code blockIndex} = n / 4 for (seed, stream), into {@code out}. */
    public static void block(long seed, long stream, long blockIndex, int[] out) {
        out[0] = (int) blockIndex;
        out[1] = (int) (blockIndex >>> 32);
        out[2] = (int) stream;
        out[3] = (int) (stream >>> 32);
        philox4x32(out, (int) seed, (int) (seed >>> 32), out);
    }

    /** Maps a 32-bit word to a float in [0, 1): its top 24 bits times 2^-24 (exact). */
    public static float toUniform(int word) {
        return (word >>> 8) * 0x1.0p-24f;
    }

    /** The uniform float for counter position {@code n}: element i of a draw is {@code uniform(seed, stream, offset + i)}. */
    public static float uniform(long seed, long stream, long n) {
        return toUniform(word(seed, stream, n));
    }

    /**
     * {@code dst[k] = uniform(seed, stream, first + k)} for k in [0, len) (counter positions
     * unsigned, wrapping), one Philox block per four consecutive positions: how a fused kernel
     * draws a tile of a RANDOM_UNIFORM's elements.
     */
    public static void uniforms(long seed, long stream, long first, float[] dst, int len) {
        int[] words = new int[4];
        int k = 0;
        while (k < len) {
            long n = first + k;
            block(seed, stream, n >>> 2, words);
            for (int w = (int) (n & 3); w < 4 && k < len; w++, k++) {
                dst[k] = toUniform(words[w]);
            }
        }
    }
}
