package dev.frugal.trainer.text;

import java.nio.charset.StandardCharsets;

/**
 * One token per byte of the UTF-8 encoding: 256 ids, no vocabulary to learn or store, and any
 * file (text or not) can be trained on. A character outside ASCII takes two to four tokens, so
 * a model can sample half a character; {@link #decode} then shows U+FFFD for it.
 */
public record ByteTokenizer() implements Tokenizer {
    /** The kind's name, as {@code --tokenizer} and {@code tokenizer.json} spell it. */
    public static final String KIND = "byte";
    /** Every byte value is a token. */
    public static final int VOCAB_SIZE = 256;

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int[] encodeFile(byte[] content, String source) {
        return ids(content);
    }

    @Override
    public int[] encode(String text) {
        return ids(text.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String decode(int[] tokens) {
        byte[] bytes = new byte[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            if (t < 0 || t >= VOCAB_SIZE) {
                throw new IllegalArgumentException("token " + t + " at position " + i + " is not a byte id (0.." + (VOCAB_SIZE - 1) + ")");
            }
            bytes[i] = (byte) t;
        }
        // String's decoder replaces malformed input with U+FFFD instead of throwing
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static int[] ids(byte[] bytes) {
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = Byte.toUnsignedInt(bytes[i]);
        }
        return out;
    }
}
