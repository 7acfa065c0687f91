package dev.frugal.trainer.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A text file read, tokenized and split into training tokens and a held-out tail, and the files it refuses. */
class TextCorpusTest {
    @Test
    void theHeldOutTailIsTheLastShareOfTheTokens(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("digits.txt");
        Files.writeString(file, "0123456789".repeat(100));
        TextCorpus corpus = TextCorpus.load(file, new ByteTokenizer(), 0.1, 16);
        assertEquals(900, corpus.training().length);
        assertEquals(100, corpus.validation().length);
        assertEquals(1000, corpus.tokenCount());
        int[] all = new ByteTokenizer().encode(Files.readString(file));
        assertArrayEquals(Arrays.copyOfRange(all, 900, 1000), corpus.validation(), "the tail, in order");
        assertArrayEquals(Arrays.copyOfRange(all, 0, 900), corpus.training());
        assertEquals(250, TextCorpus.load(file, new ByteTokenizer(), 0.25, 16).validation().length, "configurable");
    }

    @Test
    void aMissingEmptyOrTooShortFileIsRefusedByName(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("missing.txt");
        NoSuchFileException gone = assertThrows(NoSuchFileException.class, () -> TextCorpus.load(missing, new ByteTokenizer(), 0.1, 8));
        assertTrue(gone.getMessage().contains(missing.toString()), gone.getMessage());
        IOException folder = assertThrows(IOException.class, () -> TextCorpus.load(dir, new ByteTokenizer(), 0.1, 8));
        assertTrue(folder.getMessage().contains("is not a regular file"), folder.getMessage());

        Path empty = Files.createFile(dir.resolve("empty.txt"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TextCorpus.load(empty, new ByteTokenizer(), 0.1, 8));
        assertEquals(empty + " is empty; expected a text to train on", e.getMessage());

        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "x".repeat(50));
        e = assertThrows(IllegalArgumentException.class, () -> TextCorpus.load(shortText, new ByteTokenizer(), 0.1, 8));
        assertTrue(e.getMessage().contains("holds 50 tokens; its held-out tail (the last 10.0%, 5 tokens) is shorter than one window"
                + " of context + 1 = 9 tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TextCorpus.load(shortText, new ByteTokenizer(), 0.9, 8));
        assertTrue(e.getMessage().contains("the 5 training tokens are shorter than one window of context + 1 = 9 tokens"), e.getMessage());
        assertEquals(40, TextCorpus.load(shortText, new ByteTokenizer(), 0.2, 8).training().length, "a window fits both parts");
    }
}
