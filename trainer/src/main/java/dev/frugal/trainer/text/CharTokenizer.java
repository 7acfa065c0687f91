package dev.frugal.trainer.text;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.StringJoiner;

/**
 * One token per character (Unicode code point): the vocabulary is the distinct characters of
 * the training text, sorted by code point, so id {@code i} is the {@code i}-th smallest. Smaller
 * than bytes for most texts (a few dozen to a hundred ids) and never splits a character, but it
 * can only encode the characters it saw: a prompt with another one is refused, naming it.
 */
public final class CharTokenizer implements Tokenizer {
    /** The kind's name, as {@code --tokenizer} and {@code tokenizer.json} spell it. */
    public static final String KIND = "char";
    /** How many unknown characters an error message lists before it says "and N more". */
    private static final int LISTED_UNKNOWN = 10;

    /** The vocabulary: distinct code points, ascending; the id of a character is its index. */
    private final int[] codePoints;

    private CharTokenizer(int[] codePoints) {
        this.codePoints = codePoints;
    }

    /**
     * The tokenizer whose vocabulary is the given characters.
     *
     * @param characters the vocabulary: distinct code points in ascending order, at least one
     * @return the tokenizer
     * @throws IllegalArgumentException when the characters are empty, repeated or out of order
     */
    public static CharTokenizer of(String characters) {
        int[] cps = characters.codePoints().toArray();
        if (cps.length == 0) {
            throw new IllegalArgumentException("a char tokenizer needs at least one character in its vocabulary");
        }
        for (int i = 1; i < cps.length; i++) {
            if (cps[i] <= cps[i - 1]) {
                throw new IllegalArgumentException("a char tokenizer's vocabulary must be distinct characters in ascending code-point order; "
                        + describe(cps[i]) + " follows " + describe(cps[i - 1]));
            }
        }
        return new CharTokenizer(cps);
    }

    /**
     * The tokenizer of a training text: its distinct characters.
     *
     * @param content the text's bytes, UTF-8
     * @param source the file, for messages
     * @return the tokenizer
     * @throws IllegalArgumentException when the bytes are not UTF-8 (naming the offset) or hold no character
     */
    public static CharTokenizer ofText(byte[] content, String source) {
        int[] cps = decodeUtf8(content, source).codePoints().distinct().sorted().toArray();
        if (cps.length == 0) {
            throw new IllegalArgumentException(source + " holds no characters; expected a text file");
        }
        return new CharTokenizer(cps);
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int vocabSize() {
        return codePoints.length;
    }

    /** The vocabulary as one string, the characters in id order (what {@code tokenizer.json} stores). */
    public String characters() {
        return new String(codePoints, 0, codePoints.length);
    }

    @Override
    public int[] encodeFile(byte[] content, String source) {
        String text = decodeUtf8(content, source);
        try {
            return encode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        int[] cps = text.codePoints().toArray();
        int[] ids = new int[cps.length];
        Set<Integer> unknown = new LinkedHashSet<>();
        for (int i = 0; i < cps.length; i++) {
            int id = Arrays.binarySearch(codePoints, cps[i]);
            if (id < 0) {
                unknown.add(cps[i]);
            }
            ids[i] = id;
        }
        if (!unknown.isEmpty()) {
            StringJoiner listed = new StringJoiner(", ");
            unknown.stream().limit(LISTED_UNKNOWN).forEach(cp -> listed.add(describe(cp)));
            String more = unknown.size() > LISTED_UNKNOWN ? " and " + (unknown.size() - LISTED_UNKNOWN) + " more" : "";
            throw new IllegalArgumentException(unknown.size() + " character(s) outside the char tokenizer's vocabulary of "
                    + codePoints.length + " (the training text's characters): " + listed + more);
        }
        return ids;
    }

    @Override
    public String decode(int[] tokens) {
        int[] cps = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            if (t < 0 || t >= codePoints.length) {
                throw new IllegalArgumentException("token " + t + " at position " + i + " is outside the char vocabulary (0.."
                        + (codePoints.length - 1) + ")");
            }
            cps[i] = codePoints[t];
        }
        return new String(cps, 0, cps.length);
    }

    /** A character for messages: itself in quotes when printable, and always its code point. */
    static String describe(int codePoint) {
        String hex = String.format(Locale.ROOT, "U+%04X", codePoint);
        boolean printable = !Character.isISOControl(codePoint) && !Character.isWhitespace(codePoint) && Character.isDefined(codePoint);
        return printable ? "'" + new String(Character.toChars(codePoint)) + "' (" + hex + ")" : hex;
    }

    /** Strict UTF-8: a char vocabulary built from replacement characters would silently lose text. */
    private static String decodeUtf8(byte[] content, String source) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(content);
        CharBuffer out = CharBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 16, (long) content.length + 16));
        CoderResult r = decoder.decode(in, out, true);
        if (r.isError()) {
            throw new IllegalArgumentException(source + " is not UTF-8 text (invalid byte sequence at byte offset " + in.position()
                    + "); the char tokenizer reads UTF-8, --tokenizer byte trains on any bytes");
        }
        decoder.flush(out);
        out.flip();
        return out.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharTokenizer c && Arrays.equals(codePoints, c.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "char tokenizer of " + codePoints.length + " characters";
    }
}
