package dev.frugal.trainer.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * A text file as a language model trains on it: tokenized once, then split into the training
 * tokens and a held-out tail (the last {@code valFraction} of the tokens), which validation reads
 * in fixed windows ({@link TokenWindows#heldOut}). The tail is taken from the end rather than at
 * random so that no training window overlaps it.
 *
 * @param file the text file
 * @param tokenizer how it was tokenized
 * @param training the tokens before the tail
 * @param validation the held-out tail
 */
public record TextCorpus(Path file, Tokenizer tokenizer, int[] training, int[] validation) {

    /**
     * Reads, tokenizes and splits a text file.
     *
     * @param file the text file
     * @param tokenizer the run's tokenizer ({@link Tokenizer#fit} on this file, or a resumed run's)
     * @param valFraction the share of the tokens held out at the end, in (0, 1)
     * @param context the model's context: both parts must hold at least one window of {@code context + 1} tokens
     * @return the corpus
     * @throws IOException when the file is missing or unreadable
     * @throws IllegalArgumentException when the file is empty, cannot be tokenized, or either part is
     *     shorter than one window (naming the token counts and what would help)
     */
    public static TextCorpus load(Path file, Tokenizer tokenizer, double valFraction, int context) throws IOException {
        return split(file, tokenizer, tokenizer.encodeFile(read(file), file.toString()), valFraction, context);
    }

    /**
     * The bytes of a text file, refusing a missing, unreadable or empty one with a message that
     * names it.
     *
     * @param file the file
     * @return its bytes, at least one
     * @throws IOException when it does not exist, is not a regular file, or cannot be read
     * @throws IllegalArgumentException when it is empty
     */
    public static byte[] read(Path file) throws IOException {
        if (file == null) {
            throw new IllegalArgumentException("--dataset text needs the text file: --data FILE");
        }
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such text file (--data FILE)");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + " is not a regular file; --dataset text expects one text file (--data FILE)");
        }
        byte[] content = Files.readAllBytes(file);
        if (content.length == 0) {
            throw new IllegalArgumentException(file + " is empty; expected a text to train on");
        }
        return content;
    }

    /**
     * Splits tokens into the training part and the held-out tail.
     *
     * @param file the file they came from, for messages
     * @param tokenizer the tokenizer that made them
     * @param tokens every token of the file
     * @param valFraction the share held out at the end, in (0, 1)
     * @param context the model's context
     * @return the corpus
     * @throws IllegalArgumentException when either part is shorter than one window
     */
    public static TextCorpus split(Path file, Tokenizer tokenizer, int[] tokens, double valFraction, int context) {
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new IllegalArgumentException("val-fraction " + valFraction + ", expected a share above 0 and below 1 (e.g. 0.1)");
        }
        int window = context + 1;
        int held = (int) Math.round(tokens.length * valFraction);
        String percent = String.format(Locale.ROOT, "%.3g%%", 100 * valFraction);
        if (held < window) {
            throw new IllegalArgumentException(file + " holds " + tokens.length + " tokens; its held-out tail (the last " + percent + ", "
                    + held + " tokens) is shorter than one window of context + 1 = " + window + " tokens; use a longer text, a larger"
                    + " --val-fraction or a smaller model context");
        }
        int train = tokens.length - held;
        if (train < window) {
            throw new IllegalArgumentException(file + " holds " + tokens.length + " tokens; after holding out the last " + percent + " ("
                    + held + " tokens), the " + train + " training tokens are shorter than one window of context + 1 = " + window
                    + " tokens; use a longer text, a smaller --val-fraction or a smaller model context");
        }
        return new TextCorpus(file, tokenizer, Arrays.copyOfRange(tokens, 0, train), Arrays.copyOfRange(tokens, train, tokens.length));
    }

    /** Every token of the file: the training part, then the tail. */
    public int tokenCount() {
        return training.length + validation.length;
    }
}
