package dev.frugal.trainer.text;

import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.data.DataBatch;

/**
 * One batch of text windows from {@link TokenWindows}: row {@code r} is the window of
 * {@code context + 1} tokens starting at {@link #start(int) start(r)}; the input holds its first
 * {@code context} tokens, the target its last {@code context} (the same tokens shifted by one, so
 * position {@code t}'s target is the token after position {@code t}'s input). Both are
 * {@code [size, context]} I32 views of the source's buffers, valid until its epoch advances.
 */
public final class TokenBatch implements DataBatch {
    private final int index;
    private final int[] starts;
    private final Tensor input;
    private final Tensor target;

    TokenBatch(int index, int[] starts, Tensor input, Tensor target) {
        this.index = index;
        this.starts = starts;
        this.input = input;
        this.target = target;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public int size() {
        return starts.length;
    }

    /** Token ids {@code [size, context]}, I32: each window but its last token. */
    @Override
    public Tensor input() {
        return input;
    }

    /** Token ids {@code [size, context]}, I32: each window but its first token. */
    @Override
    public Tensor target() {
        return target;
    }

    /** Where row {@code row}'s window starts in the source's tokens. */
    public int start(int row) {
        return starts[row];
    }
}
