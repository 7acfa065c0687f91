package dev.frugal.trainer.text;

import java.util.List;

/**
 * Turns text into the token ids a language model reads, and ids back into text. Two kinds:
 * {@link ByteTokenizer} (the UTF-8 bytes, 256 ids, any file) and {@link CharTokenizer} (the
 * distinct characters of a training file, sorted). A run keeps its tokenizer next to its
 * configuration ({@link TokenizerFile}), so evaluation and sampling encode and decode exactly as
 * training did.
 */
public sealed interface Tokenizer permits ByteTokenizer, CharTokenizer {
    /** The kinds {@link #fit} builds, as {@code --tokenizer} names them. */
    List<String> KINDS = List.of(ByteTokenizer.KIND, CharTokenizer.KIND);

    /** {@code byte} or {@code char}. */
    String kind();

    /** The number of distinct ids, {@code 0..vocabSize()-1}; a model's vocabulary must be at least this. */
    int vocabSize();

    /**
     * The tokens of a file's contents.
     *
     * @param content the file's bytes
     * @param source the file, for messages
     * @return one id per token, in order
     * @throws IllegalArgumentException when the content cannot be tokenized (a char tokenizer:
     *     not UTF-8, or characters outside its vocabulary), naming the file and what is wrong
     */
    int[] encodeFile(byte[] content, String source);

    /**
     * The tokens of a text, e.g. a prompt.
     *
     * @param text the text
     * @return one id per token, in order
     * @throws IllegalArgumentException for characters outside a char tokenizer's vocabulary, naming them
     */
    int[] encode(String text);

    /**
     * The text of a sequence of ids. A byte tokenizer decodes the bytes as UTF-8, replacing an
     * invalid sequence (a character cut in half by sampling, say) with U+FFFD.
     *
     * @param tokens ids in {@code 0..vocabSize()-1}
     * @return the text
     * @throws IllegalArgumentException for an id out of range
     */
    String decode(int[] tokens);

    /**
     * Builds a tokenizer of a kind for a training text: a byte tokenizer needs nothing from it,
     * a char tokenizer takes its vocabulary from the text's distinct characters.
     *
     * @param kind one of {@link #KINDS}
     * @param content the training file's bytes
     * @param source the file, for messages
     * @return the tokenizer
     * @throws IllegalArgumentException for an unknown kind (listing the valid ones), or a text a
     *     char tokenizer cannot read (not UTF-8)
     */
    static Tokenizer fit(String kind, byte[] content, String source) {
        return switch (kind) {
            case ByteTokenizer.KIND -> new ByteTokenizer();
            case CharTokenizer.KIND -> CharTokenizer.ofText(content, source);
            default -> throw new IllegalArgumentException("unknown tokenizer '" + kind + "'; valid: " + String.join(", ", KINDS));
        };
    }
}
