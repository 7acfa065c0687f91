package dev.frugal.runtime.numeric;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Philox4x32-10 against the Random123 known-answer vectors ({@code tests/kat_vectors}, the three
 * {@code philox4x32 10} lines: counter, key, expected output), and the documented recipe that
 * turns it into uniform floats.
 */
class PhiloxTest {
    private static int[] words(long... w) {
        int[] out = new int[w.length];
        for (int i = 0; i < w.length; i++) {
            out[i] = (int) w[i];
        }
        return out;
    }

    private static void kat(int[] counter, int[] key, int[] expected) {
        int[] out = new int[4];
        int[] ctr = counter.clone();
        Philox.philox4x32(ctr, key, out);
        assertArrayEquals(expected, out);
        assertArrayEquals(counter, ctr, "the counter array is not modified when out is another array");
        Philox.philox4x32(ctr, key, ctr); // in place
        assertArrayEquals(expected, ctr);
    }

    @Test
    void random123KnownAnswersAllZero() {
        kat(words(0, 0, 0, 0), words(0, 0), words(0x6627e8d5L, 0xe169c58dL, 0xbc57ac4cL, 0x9b00dbd8L));
    }

    @Test
    void random123KnownAnswersAllOnes() {
        kat(words(0xffffffffL, 0xffffffffL, 0xffffffffL, 0xffffffffL), words(0xffffffffL, 0xffffffffL),
                words(0x408f276dL, 0x41c83b0eL, 0xa20bc7c6L, 0x6d5451fdL));
    }

    @Test
    void random123KnownAnswersPi() {
        kat(words(0x243f6a88L, 0x85a308d3L, 0x13198a2eL, 0x03707344L), words(0xa4093822L, 0x299f31d0L),
                words(0xd16cfe09L, 0x94fdccebL, 0x5001e420L, 0x24126ea1L));
    }

    @Test
    void blockAndWordFollowTheDocumentedCounterLayout() {
        long seed = 0x299f31d0a4093822L;
        long stream = 0x0370734413198a2eL;
        long blockIndex = 0x85a308d3243f6a88L;
        int[] block = new int[4];
        Philox.block(seed, stream, blockIndex, block);
        // counter = (lo(block), hi(block), lo(stream), hi(stream)), key = (lo(seed), hi(seed)): the third KAT vector
        assertArrayEquals(words(0xd16cfe09L, 0x94fdccebL, 0x5001e420L, 0x24126ea1L), block);
        long small = 0x05a308d3243f6a88L; // below 2^62, so counter positions 4*small+w exist
        Philox.block(seed, stream, small, block);
        for (int w = 0; w < 4; w++) {
            long n = small * 4 + w;
            assertEquals(block[w], Philox.word(seed, stream, n), "word " + w);
            assertEquals((block[w] >>> 8) * 0x1.0p-24f, Philox.uniform(seed, stream, n), "uniform " + w);
        }
        Philox.block(0, 0, 0, block);
        assertArrayEquals(words(0x6627e8d5L, 0xe169c58dL, 0xbc57ac4cL, 0x9b00dbd8L), block);
        assertEquals(0x9b00dbd8, Philox.word(0, 0, 3));
        // the last counter position (2^64 - 1, unsigned) is word 3 of block 2^62 - 1
        Philox.block(-1L, -1L, -1L >>> 2, block);
        assertEquals(block[3], Philox.word(-1L, -1L, -1L));
    }

    @Test
    void uniformIsInUnitIntervalAndExactAtTheEnds() {
        assertEquals(0f, Philox.toUniform(0));
        assertEquals(0f, Philox.toUniform(0xff));
        assertEquals(1f - 0x1.0p-24f, Philox.toUniform(-1));
        assertTrue(Philox.toUniform(-1) < 1f);
        assertEquals(0.5f, Philox.toUniform(0x80000000));
        double sum = 0;
        Set<Float> seen = new HashSet<>();
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            float u = Philox.uniform(42, 7, i);
            assertTrue(u >= 0f && u < 1f, "uniform " + u + " at " + i);
            sum += u;
            seen.add(u);
        }
        assertEquals(0.5, sum / n, 0.01, "mean of 1e5 uniforms");
        assertTrue(seen.size() > n * 0.99, "draws are (nearly) all distinct: " + seen.size());
        assertNotEquals(Philox.uniform(42, 7, 0), Philox.uniform(43, 7, 0), "the seed matters");
        assertNotEquals(Philox.uniform(42, 7, 0), Philox.uniform(42, 8, 0), "the stream matters");
        assertEquals(Philox.uniform(42, 7, 12345), Philox.uniform(42, 7, 12345), "a pure function of its arguments");
    }
}
