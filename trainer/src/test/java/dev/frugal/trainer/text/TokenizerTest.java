package dev.frugal.trainer.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The byte and char tokenizers: round trips (multi-byte UTF-8 included), their vocabularies, what
 * they refuse and how they are kept in a run directory.
 */
class TokenizerTest {
    /** ASCII, a two-byte letter, a three-byte symbol and a four-byte emoji (a surrogate pair in Java). */
    private static final String MIXED = "Grüße, 1€ and a cat \uD83D\uDC31\nnext line";

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void bytesRoundTripAnyTextOneTokenPerUtf8Byte() {
        ByteTokenizer t = new ByteTokenizer();
        assertEquals(256, t.vocabSize());
        int[] ids = t.encode(MIXED);
        assertEquals(utf8(MIXED).length, ids.length, "one token per byte");
        assertEquals(MIXED.length() + 1 + 1 + 2 + 2, ids.length, "ü and ß take 2 bytes, € 3, the emoji 4 (2 chars in Java)");
        assertEquals(MIXED, t.decode(ids));
        assertArrayEquals(ids, t.encodeFile(utf8(MIXED), "f"));
        assertEquals(0xC3, ids[2], "the first byte of ü");
    }

    @Test
    void bytesDecodeAHalfCharacterAsTheReplacementCharacter() {
        ByteTokenizer t = new ByteTokenizer();
        int[] euro = t.encode("€");
        assertEquals("a\uFFFD", t.decode(new int[] {'a', euro[0], euro[1]}), "a character cut short by sampling");
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {256}));
    }

    @Test
    void charsAreTheTextsDistinctCodePointsSortedAndRoundTrip() {
        CharTokenizer t = CharTokenizer.ofText(utf8(MIXED), "f");
        long distinct = MIXED.codePoints().distinct().count();
        assertEquals(distinct, t.vocabSize());
        int[] ids = t.encodeFile(utf8(MIXED), "f");
        assertEquals(MIXED.codePointCount(0, MIXED.length()), ids.length, "one token per character, the emoji one token");
        assertEquals(MIXED, t.decode(ids));
        String chars = t.characters();
        assertEquals("\n", chars.substring(0, 1), "sorted by code point: the newline first");
        assertEquals("\uD83D\uDC31", chars.substring(chars.length() - 2), "the emoji, the largest code point, last");
        assertEquals(t.vocabSize() - 1, t.encode("\uD83D\uDC31")[0]);
    }

    @Test
    void charVocabularyIsSmallerThanBytesForPlainText() {
        byte[] text = utf8("the quick brown fox jumps over the lazy dog\n".repeat(3));
        assertEquals(28, Tokenizer.fit("char", text, "f").vocabSize(), "26 letters, space and newline");
        assertEquals(256, Tokenizer.fit("byte", text, "f").vocabSize());
    }

    @Test
    void charsOutsideTheVocabularyAreNamed() {
        CharTokenizer t = CharTokenizer.ofText(utf8("abc abc"), "f");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encode("abz€\t"));
        assertTrue(e.getMessage().contains("3 character(s) outside the char tokenizer's vocabulary of 4"), e.getMessage());
        assertTrue(e.getMessage().contains("'z' (U+007A)") && e.getMessage().contains("'€' (U+20AC)") && e.getMessage().contains("U+0009"),
                e.getMessage());
    }

    @Test
    void aCharTokenizerRefusesBytesThatAreNotUtf8NamingTheOffset() {
        byte[] latin1 = "caf\u00e9".getBytes(StandardCharsets.ISO_8859_1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fit("char", latin1, "menu.txt"));
        assertTrue(e.getMessage().startsWith("menu.txt is not UTF-8 text (invalid byte sequence at byte offset 3)"), e.getMessage());
        assertTrue(e.getMessage().contains("--tokenizer byte"), e.getMessage());
        assertEquals(4, Tokenizer.fit("byte", latin1, "menu.txt").encodeFile(latin1, "menu.txt").length, "bytes take any file");
    }

    @Test
    void anUnknownKindListsTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fit("bpe", utf8("x"), "f"));
        assertEquals("unknown tokenizer 'bpe'; valid: byte, char", e.getMessage());
    }

    @Test
    void theRunDirectoryKeepsTheTokenizer(@TempDir Path run) throws IOException {
        CharTokenizer chars = CharTokenizer.ofText(utf8(MIXED + "\u0000\"\\"), "f");
        TokenizerFile.write(chars, run);
        Tokenizer back = TokenizerFile.read(run);
        assertEquals(chars, back, "every character, controls, quotes and the emoji included");
        assertEquals(MIXED, back.decode(chars.encode(MIXED)));
        String json = Files.readString(run.resolve(TokenizerFile.NAME));
        assertTrue(json.contains("\"kind\" : \"char\"") && json.contains("\"vocab_size\" : " + chars.vocabSize()), json);

        TokenizerFile.write(new ByteTokenizer(), run);
        assertEquals(new ByteTokenizer(), TokenizerFile.read(run));
    }

    @Test
    void aMissingOrDamagedTokenizerFileIsNamed(@TempDir Path run) throws IOException {
        assertThrows(NoSuchFileException.class, () -> TokenizerFile.read(run));
        Path file = run.resolve(TokenizerFile.NAME);
        Files.writeString(file, "{\"kind\": \"char\", \"characters\": \"ba\"}");
        IOException e = assertThrows(IOException.class, () -> TokenizerFile.read(run));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("ascending code-point order"), e.getMessage());
        Files.writeString(file, "{\"kind\": \"byte\", \"vocab_size\": 100}");
        e = assertThrows(IOException.class, () -> TokenizerFile.read(run));
        assertTrue(e.getMessage().contains("vocab_size 100 disagrees with the 256 ids"), e.getMessage());
        Files.writeString(file, "{\"kind\": \"wordpiece\"}");
        e = assertThrows(IOException.class, () -> TokenizerFile.read(run));
        assertTrue(e.getMessage().contains("unknown tokenizer kind 'wordpiece'; valid: byte, char"), e.getMessage());
        Files.writeString(file, "{\"kind\": ");
        e = assertThrows(IOException.class, () -> TokenizerFile.read(run));
        assertTrue(e.getMessage().contains("is not valid JSON"), e.getMessage());
    }
}
