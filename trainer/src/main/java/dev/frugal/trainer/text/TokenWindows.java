package dev.frugal.trainer.text;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.EpochBatches;
import dev.frugal.trainer.data.SampleTransform;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * Batches of windows of a token sequence, for a language model: each window is
 * {@code context + 1} consecutive tokens, fed as its first {@code context} (the input) and its
 * last {@code context} (the target, shifted by one). Two orders:
 *
 * <ul>
 *   <li>{@link #random training}: every batch draws {@code batchSize} window starts uniformly
 *       from the whole sequence, keyed by (seed, epoch, batch), so the batches depend only on the
 *       seed and a resumed run sees the same ones. There is no natural epoch over random windows;
 *       one is defined as {@code tokens / (batchSize * context)} batches (at least one), so that
 *       an epoch reads about as many tokens as the sequence holds.</li>
 *   <li>{@link #heldOut held-out}: the fixed, non-overlapping windows starting at
 *       {@code 0, context, 2 * context, ...}, in order, the last partial batch kept: every token
 *       after the first is a target exactly once (up to a tail shorter than a window), and every
 *       evaluation sees the same windows.</li>
 * </ul>
 *
 * <p>Filling a batch copies {@code 2 * batchSize * context} ints, so it runs on the caller's
 * thread into one reused off-heap buffer pair; a batch is valid until the next
 * {@code hasNext()}/{@code next()} call. One epoch at a time; close frees the buffers.
 */
public final class TokenWindows implements BatchSource {
    private final int[] tokens;
    private final int context;
    private final int batchSize;
    private final long seed;
    private final boolean random;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment inputs;
    private final MemorySegment targets;
    private Epoch current;
    private boolean closed;

    private TokenWindows(int[] tokens, int context, int batchSize, long seed, boolean random, String what) {
        if (context < 1) {
            throw new IllegalArgumentException("context " + context + ", expected at least 1 token");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + ", expected at least 1");
        }
        if (tokens.length < context + 1) {
            throw new IllegalArgumentException(what + " holds " + tokens.length + " tokens, fewer than one window of context + 1 = "
                    + (context + 1));
        }
        this.tokens = tokens;
        this.context = context;
        this.batchSize = batchSize;
        this.seed = seed;
        this.random = random;
        this.inputs = arena.allocate(4L * batchSize * context, 64);
        this.targets = arena.allocate(4L * batchSize * context, 64);
    }

    /**
     * Training batches: random windows keyed by (seed, epoch, batch).
     *
     * @param tokens the training tokens (not copied; do not change them)
     * @param context tokens per input row
     * @param batchSize windows per batch
     * @param seed keys the window starts
     * @return the source; close it to free its buffers
     * @throws IllegalArgumentException when the tokens do not hold one window of {@code context + 1}
     */
    public static TokenWindows random(int[] tokens, int context, int batchSize, long seed) {
        return new TokenWindows(tokens, context, batchSize, seed, true, "the training text");
    }

    /**
     * Evaluation batches: the fixed, non-overlapping windows of {@code tokens}, in order, the last
     * partial batch kept.
     *
     * @param tokens the held-out tokens (not copied; do not change them)
     * @param context tokens per input row
     * @param batchSize windows per batch (the last batch may hold fewer)
     * @return the source; close it to free its buffers
     * @throws IllegalArgumentException when the tokens do not hold one window of {@code context + 1}
     */
    public static TokenWindows heldOut(int[] tokens, int context, int batchSize) {
        return new TokenWindows(tokens, context, batchSize, 0, false, "the held-out text");
    }

    /** Tokens per input row (and per target row). */
    public int context() {
        return context;
    }

    /** The tokens the windows are cut from. */
    public int tokenCount() {
        return tokens.length;
    }

    @Override
    public int batchSize() {
        return batchSize;
    }

    @Override
    public int batchesPerEpoch() {
        return random ? Math.max(1, tokens.length / (batchSize * context)) : (windows() + batchSize - 1) / batchSize;
    }

    @Override
    public List<Integer> batchSizes() {
        if (random) {
            return List.of(batchSize);
        }
        List<Integer> sizes = new ArrayList<>();
        int w = windows();
        if (w % batchSize != 0) {
            sizes.add(w % batchSize);
        }
        if (w >= batchSize) {
            sizes.add(batchSize);
        }
        return List.copyOf(sizes);
    }

    /** Windows in one epoch: the batches times the batch size (random), or every fixed window (held out). */
    @Override
    public int sampleCount() {
        return random ? batchesPerEpoch() * batchSize : windows();
    }

    /** The fixed windows of a held-out source: {@code (tokens - 1) / context}. */
    private int windows() {
        return (tokens.length - 1) / context;
    }

    /**
     * Where the windows of one batch start: what {@link #epoch} fills the batch from.
     *
     * @param epoch the epoch
     * @param batch the batch in the epoch, from 0
     * @return one start per row, each in {@code 0..tokens - context - 1}
     */
    public int[] starts(int epoch, int batch) {
        if (batch < 0 || batch >= batchesPerEpoch()) {
            throw new IllegalArgumentException("batch " + batch + " of an epoch of " + batchesPerEpoch());
        }
        if (random) {
            SplittableRandom rng = new SplittableRandom(SampleTransform.key(seed, epoch, batch));
            int[] starts = new int[batchSize];
            int choices = tokens.length - context; // starts 0..tokens-context-1 leave room for context + 1 tokens
            for (int r = 0; r < batchSize; r++) {
                starts[r] = rng.nextInt(choices);
            }
            return starts;
        }
        int first = batch * batchSize;
        int n = Math.min(batchSize, windows() - first);
        int[] starts = new int[n];
        for (int r = 0; r < n; r++) {
            starts[r] = (first + r) * context;
        }
        return starts;
    }

    @Override
    public synchronized EpochBatches epoch(int epoch) {
        if (closed) {
            throw new IllegalStateException("token windows are closed");
        }
        if (current != null) {
            current.close();
        }
        current = new Epoch(epoch);
        return current;
    }

    /** Frees the buffers. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    /** One epoch's batches, filled on demand into the shared buffers. */
    private final class Epoch implements EpochBatches {
        private final int epoch;
        private final int batches = batchesPerEpoch();
        private int next;
        private boolean ended;

        Epoch(int epoch) {
            this.epoch = epoch;
        }

        @Override
        public boolean hasNext() {
            return !ended && next < batches;
        }

        @Override
        public TokenBatch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            }
            synchronized (TokenWindows.this) {
                if (closed) {
                    throw new IllegalStateException("token windows are closed");
                }
                int b = next++;
                int[] starts = starts(epoch, b);
                for (int r = 0; r < starts.length; r++) {
                    long row = 4L * r * context;
                    MemorySegment.copy(tokens, starts[r], inputs, ValueLayout.JAVA_INT, row, context);
                    MemorySegment.copy(tokens, starts[r] + 1, targets, ValueLayout.JAVA_INT, row, context);
                }
                Shape shape = Shape.of(starts.length, context);
                long bytes = 4L * starts.length * context;
                return new TokenBatch(b, starts, Tensor.wrap(inputs.asSlice(0, bytes), shape, DType.I32),
                        Tensor.wrap(targets.asSlice(0, bytes), shape, DType.I32));
            }
        }

        @Override
        public void close() {
            ended = true;
        }
    }
}
