package dev.frugal.trainer.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.trainer.data.DataBatch;
import dev.frugal.trainer.data.EpochBatches;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Windows of a token sequence as batches: shapes, the target shifted by one, random training
 * windows reproducible from the seed, and fixed, non-overlapping held-out windows.
 */
class TokenWindowsTest {
    /** Token i is i mod 97, so a window's content shows where it starts. */
    private static int[] tokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = i % 97;
        }
        return t;
    }

    private static int[] row(DataBatch b, boolean target, int r, int context) {
        long[] all = (target ? b.target() : b.input()).toLongArray();
        int[] out = new int[context];
        for (int t = 0; t < context; t++) {
            out[t] = (int) all[r * context + t];
        }
        return out;
    }

    /** Every batch of an epoch as [row][input..., target...] copies (the buffers are reused). */
    private static List<int[][]> epoch(TokenWindows w, int epoch) {
        List<int[][]> out = new ArrayList<>();
        try (EpochBatches batches = w.epoch(epoch)) {
            while (batches.hasNext()) {
                DataBatch b = batches.next();
                int[][] rows = new int[b.size()][];
                for (int r = 0; r < b.size(); r++) {
                    int[] in = row(b, false, r, w.context());
                    int[] tg = row(b, true, r, w.context());
                    rows[r] = new int[2 * w.context()];
                    System.arraycopy(in, 0, rows[r], 0, in.length);
                    System.arraycopy(tg, 0, rows[r], in.length, tg.length);
                }
                out.add(rows);
            }
        }
        return out;
    }

    @Test
    void aTrainingBatchIsBatchWindowsOfContextTokensAndTheirNextTokens() {
        int[] tokens = tokens(5000);
        try (TokenWindows w = TokenWindows.random(tokens, 16, 4, 7)) {
            try (EpochBatches batches = w.epoch(0)) {
                TokenBatch b = (TokenBatch) batches.next();
                assertEquals(Shape.of(4, 16), b.input().shape());
                assertEquals(Shape.of(4, 16), b.target().shape());
                assertEquals(DType.I32, b.input().dtype());
                assertEquals(DType.I32, b.target().dtype());
                for (int r = 0; r < 4; r++) {
                    int s = b.start(r);
                    assertTrue(s >= 0 && s + 16 < tokens.length, "a whole window of 17 tokens: start " + s);
                    int[] in = row(b, false, r, 16);
                    int[] tg = row(b, true, r, 16);
                    for (int t = 0; t < 16; t++) {
                        assertEquals(tokens[s + t], in[t], "input row " + r + " position " + t);
                        assertEquals(tokens[s + t + 1], tg[t], "the target is the input shifted by one");
                    }
                }
            }
            assertEquals(5000 / (4 * 16), w.batchesPerEpoch(), "an epoch reads about as many tokens as there are");
            assertEquals(List.of(4), w.batchSizes());
            assertEquals(w.batchesPerEpoch() * 4, w.sampleCount());
        }
    }

    @Test
    void randomWindowsDependOnlyOnTheSeedTheEpochAndTheBatch() {
        int[] tokens = tokens(3000);
        try (TokenWindows a = TokenWindows.random(tokens, 8, 5, 11);
             TokenWindows b = TokenWindows.random(tokens, 8, 5, 11);
             TokenWindows other = TokenWindows.random(tokens, 8, 5, 12)) {
            List<int[][]> first = epoch(a, 3);
            List<int[][]> again = epoch(b, 3);
            assertEquals(first.size(), again.size());
            for (int i = 0; i < first.size(); i++) {
                assertArrayEquals(first.get(i), again.get(i), "batch " + i + " repeats with the same seed");
            }
            assertArrayEquals(a.starts(3, 2), b.starts(3, 2));
            assertFalse(java.util.Arrays.equals(a.starts(3, 2), other.starts(3, 2)), "another seed, other windows");
            assertFalse(java.util.Arrays.equals(a.starts(3, 2), a.starts(4, 2)), "another epoch, other windows");
            assertFalse(java.util.Arrays.equals(a.starts(3, 2), a.starts(3, 1)), "another batch, other windows");
        }
    }

    @Test
    void randomWindowsReachTheWholeSequenceUpToItsLastWindow() {
        int[] tokens = tokens(40);
        try (TokenWindows w = TokenWindows.random(tokens, 8, 4, 1)) {
            Set<Integer> seen = new HashSet<>();
            for (int e = 0; e < 200; e++) {
                for (int s : w.starts(e, 0)) {
                    assertTrue(s >= 0 && s <= 40 - 9, "start " + s);
                    seen.add(s);
                }
            }
            assertEquals(32, seen.size(), "every start from 0 to 31 is drawn");
        }
    }

    @Test
    void heldOutWindowsAreFixedNonOverlappingAndInOrder() {
        int[] tail = tokens(100);
        try (TokenWindows w = TokenWindows.heldOut(tail, 8, 5)) {
            // (100 - 1) / 8 = 12 windows: starts 0, 8, ..., 88, each reading 9 tokens (the last up to token 96)
            assertEquals(12, w.sampleCount());
            assertEquals(3, w.batchesPerEpoch());
            assertEquals(List.of(2, 5), w.batchSizes(), "two full batches of 5 and the last of 2, ascending");
            List<int[][]> first = epoch(w, 0);
            List<int[][]> later = epoch(w, 9);
            int window = 0;
            for (int b = 0; b < first.size(); b++) {
                assertArrayEquals(first.get(b), later.get(b), "the same windows at every evaluation");
                for (int[] row : first.get(b)) {
                    for (int t = 0; t < 8; t++) {
                        assertEquals(tail[window * 8 + t], row[t], "window " + window + " starts at " + window * 8);
                        assertEquals(tail[window * 8 + t + 1], row[8 + t], "and its target is shifted by one");
                    }
                    window++;
                }
            }
            assertEquals(12, window);
            assertArrayEquals(new int[] {80, 88}, w.starts(0, 2));
        }
    }

    @Test
    void heldOutWindowsComeFromTheTailOnly() throws Exception {
        int[] all = tokens(1000);
        TextCorpus corpus = TextCorpus.split(java.nio.file.Path.of("t.txt"), new ByteTokenizer(), all, 0.1, 8);
        try (TokenWindows val = TokenWindows.heldOut(corpus.validation(), 8, 4);
             TokenWindows train = TokenWindows.random(corpus.training(), 8, 4, 3)) {
            for (int b = 0; b < val.batchesPerEpoch(); b++) {
                for (int s : val.starts(0, b)) {
                    assertTrue(s + 8 < 100, "inside the 100-token tail");
                }
            }
            for (int e = 0; e < 50; e++) {
                for (int s : train.starts(e, 0)) {
                    assertTrue(s + 8 < 900, "a training window never reads the tail: start " + s);
                }
            }
        }
    }

    @Test
    void aSequenceShorterThanOneWindowIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenWindows.random(tokens(8), 8, 2, 0));
        assertEquals("the training text holds 8 tokens, fewer than one window of context + 1 = 9", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TokenWindows.heldOut(tokens(5), 8, 2));
        assertEquals("the held-out text holds 5 tokens, fewer than one window of context + 1 = 9", e.getMessage());
        try (TokenWindows one = TokenWindows.heldOut(tokens(9), 8, 2)) {
            assertEquals(List.of(1), one.batchSizes(), "exactly one window");
        }
    }
}
