package dev.frugal.trainer.data;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Serves an {@link ImageDataset} as shuffled, augmented, normalised batches in off-heap tensors,
 * prepared ahead on a background thread.
 *
 * <p>The dataset is decoded once, the first time it is needed, and kept in memory: later epochs
 * only read it ({@link #decodeCount()} shows this). Each {@link #epoch(int)} starts one
 * background thread that fills a small ring of reusable batch buffers
 * ({@link LoaderOptions#buffers()}) while the consumer works on earlier batches; it blocks
 * when the ring is full, so memory stays bounded. A failure on that thread is rethrown to the
 * consumer as a {@link DataLoaderException}.
 *
 * <p>Results depend only on the options and the epoch number: the shuffle is keyed by (seed,
 * epoch) and augmentation by (seed, epoch, sample), so the same seed gives the same batches.
 * An optional {@link Curriculum} (off by default) draws the batches of its steps from the easiest
 * samples instead, keyed by (seed, step), so they too depend only on the options.
 *
 * <p>Closing stops the background thread, waits for it, frees the buffers and closes the dataset.
 * One consumer thread, one epoch at a time.
 */
public final class DataLoader implements BatchSource {
    /** Produces the decoded dataset; called at most once per successful load. */
    @FunctionalInterface
    public interface Source {
        /**
         * Decodes the dataset.
         *
         * @return the dataset; the loader owns it and closes it
         * @throws IOException when it cannot be read
         */
        ImageDataset load() throws IOException;
    }

    private final Source source;
    private final LoaderOptions options;
    private final Curriculum curriculum;
    private final Arena buffers = Arena.ofShared();
    private ImageDataset dataset;
    private int decodeCount;
    private Slot[] slots;
    private Epoch current;
    private boolean closed;

    /** One reusable batch buffer of the ring. */
    private record Slot(MemorySegment images, MemorySegment labels) {
    }

    /** What the background thread hands over: a filled batch, the end, or a failure. */
    private record Item(Slot slot, Batch batch, Throwable failure) {
        static final Item END = new Item(null, null, null);
    }

    /**
     * A loader; nothing is decoded and no thread starts until the first epoch.
     *
     * @param source  decodes the dataset when first needed (on the background thread)
     * @param options batching, shuffling, augmentation and normalisation
     */
    public DataLoader(Source source, LoaderOptions options) {
        this(source, options, null);
    }

    /**
     * A loader whose batches follow a curriculum (see {@link Curriculum}): during the curriculum's
     * steps each batch is drawn from the easiest samples, before and after it the batches are
     * those of a loader without one. The batch of an epoch's batch {@code b} belongs to optimizer
     * step {@code epoch * batchesPerEpoch() + b}, as the trainer counts.
     *
     * @param source     decodes the dataset when first needed (on the background thread)
     * @param options    batching, shuffling, augmentation and normalisation
     * @param curriculum the curriculum; null for none (the same as the two-argument constructor)
     */
    public DataLoader(Source source, LoaderOptions options, Curriculum curriculum) {
        this.source = source;
        this.options = options;
        this.curriculum = curriculum;
    }

    /** The options. */
    public LoaderOptions options() {
        return options;
    }

    /** Samples per batch ({@link LoaderOptions#batchSize()}). */
    @Override
    public int batchSize() {
        return options.batchSize();
    }

    /**
     * Images in the dataset, which one epoch visits (decodes the dataset if needed).
     *
     * @return the count
     * @throws IOException when the source fails
     */
    @Override
    public int sampleCount() throws IOException {
        return dataset().count();
    }

    /** The curriculum; null when there is none. */
    public Curriculum curriculum() {
        return curriculum;
    }

    /** How many times the dataset has been decoded: 1 after any number of epochs. */
    public synchronized int decodeCount() {
        return decodeCount;
    }

    /**
     * The decoded dataset, decoding it now if that has not happened yet.
     *
     * @return the dataset (owned by the loader)
     * @throws IOException when the source fails
     */
    public synchronized ImageDataset dataset() throws IOException {
        if (closed) {
            throw new IllegalStateException("data loader is closed");
        }
        if (dataset == null) {
            decodeCount++;
            dataset = source.load();
        }
        return dataset;
    }

    /**
     * Batches per epoch under the last-batch policy (decodes the dataset if needed).
     *
     * @return the number of batches
     * @throws IOException when the source fails
     */
    @Override
    public int batchesPerEpoch() throws IOException {
        return batches(dataset().count());
    }

    /**
     * The distinct batch sizes of an epoch under the last-batch policy (decodes the dataset if
     * needed): the batch size, and the size of a smaller last batch when one is kept. What a
     * trainer under a memory budget compiles evaluation programs for before its first step.
     *
     * @return the sizes, ascending; empty for an empty dataset
     * @throws IOException when the source fails
     */
    @Override
    public List<Integer> batchSizes() throws IOException {
        int count = dataset().count();
        int b = options.batchSize();
        TreeSet<Integer> sizes = new TreeSet<>();
        if (count >= b) {
            sizes.add(b);
        }
        if (options.lastBatch() == LastBatchPolicy.KEEP && count % b != 0) {
            sizes.add(count % b);
        }
        return List.copyOf(sizes);
    }

    private int batches(int count) {
        int b = options.batchSize();
        return options.lastBatch() == LastBatchPolicy.KEEP ? (count + b - 1) / b : count / b;
    }

    /**
     * The sample order of an epoch: a seeded permutation when shuffling, else 0..count-1.
     *
     * @param epoch the epoch
     * @param count the number of samples
     * @return the dataset indices in visiting order
     */
    public int[] order(int epoch, int count) {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        if (options.shuffle()) {
            SplittableRandom rng = new SplittableRandom(SampleTransform.key(options.seed(), epoch, -1));
            for (int i = count - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /**
     * Starts an epoch: a background thread begins filling batches at once. Starting an epoch
     * ends the previous one (its thread is stopped and its batches become invalid).
     *
     * @param epoch the epoch number (keys the shuffle and augmentation)
     * @return the batches, in order; close it to abandon the epoch early
     * @throws IllegalStateException when the loader is closed
     */
    @Override
    public Epoch epoch(int epoch) {
        Epoch previous;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("data loader is closed");
            }
            previous = current;
            current = null;
        }
        // Joined outside the lock: the old producer may still need it to finish loading.
        if (previous != null) {
            previous.stop();
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("data loader is closed");
            }
            current = new Epoch(epoch);
            return current;
        }
    }

    private synchronized Slot[] slots(ImageDataset ds) {
        if (slots == null) {
            long pixels = (long) ds.height() * ds.width();
            slots = new Slot[options.buffers()];
            for (int i = 0; i < slots.length; i++) {
                slots[i] = new Slot(buffers.allocate(4L * options.batchSize() * pixels, 64),
                        buffers.allocate(4L * options.batchSize(), 64));
            }
        }
        return slots;
    }

    /** Stops the background thread, frees the buffers and closes the dataset. Idempotent. */
    @Override
    public void close() {
        Epoch running;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            running = current;
        }
        if (running != null) {
            running.stop();
        }
        buffers.close();
        synchronized (this) {
            if (dataset != null) {
                dataset.close();
                dataset = null;
            }
        }
    }

    /**
     * The batches of one epoch, filled ahead by a background thread. A returned batch stays
     * valid until the next {@link #hasNext()} or {@link #next()} call.
     */
    public final class Epoch implements EpochBatches {
        private final int epoch;
        private final BlockingQueue<Slot> free;
        private final BlockingQueue<Item> ready = new LinkedBlockingQueue<>();
        private final Thread thread;
        private Slot held;
        private Item pending;
        private volatile boolean finished;

        private Epoch(int epoch) {
            this.epoch = epoch;
            this.free = new ArrayBlockingQueue<>(options.buffers());
            this.thread = Thread.ofPlatform().daemon().name("frugal-data-loader-epoch-" + epoch).unstarted(this::produce);
            thread.start();
        }

        /** The epoch number. */
        public int number() {
            return epoch;
        }

        /** Batches filled and waiting for the consumer (at most the ring size); for tests and metrics. */
        public int prefetched() {
            return ready.size() + (pending != null && pending.batch() != null ? 1 : 0);
        }

        private void produce() {
            try {
                ImageDataset ds = dataset();
                Slot[] ring = slots(ds);
                for (Slot s : ring) {
                    free.add(s);
                }
                int count = ds.count();
                int[] order = order(epoch, count);
                int n = batches(count);
                int pixels = ds.height() * ds.width();
                SampleTransform transform = new SampleTransform(options, ds.height(), ds.width());
                for (int b = 0; b < n; b++) {
                    Slot slot = free.take();
                    int from = b * options.batchSize();
                    int size = Math.min(options.batchSize(), count - from);
                    long step = (long) epoch * n + b;
                    int[] drawn = curriculum != null && curriculum.shapes(step)
                            ? curriculum.samples(step, size, count, options.batchSize(), options.seed())
                            : null;
                    int[] samples = new int[size];
                    for (int i = 0; i < size; i++) {
                        int s = drawn != null ? drawn[i] : order[from + i];
                        samples[i] = s;
                        transform.apply(ds.pixels(), (long) s * pixels, slot.images(), 4L * i * pixels, epoch, s);
                        slot.labels().setAtIndex(ValueLayout.JAVA_INT, i, ds.label(s));
                    }
                    Tensor images = Tensor.wrap(slot.images().asSlice(0, 4L * size * pixels),
                            Shape.of(size, 1, ds.height(), ds.width()), DType.F32);
                    Tensor labels = Tensor.wrap(slot.labels().asSlice(0, 4L * size), Shape.of(size), DType.I32);
                    ready.add(new Item(slot, new Batch(epoch, b, images, labels, samples), null));
                }
                ready.add(Item.END);
            } catch (InterruptedException e) {
                // stop() interrupted us: the consumer is gone, nothing to report.
            } catch (Throwable t) {
                ready.add(new Item(null, null, t));
            }
        }

        /** Whether another batch follows; blocks until it is ready. Releases the previous batch. */
        @Override
        public boolean hasNext() {
            release();
            if (pending == null) {
                if (finished) {
                    return false;
                }
                try {
                    pending = ready.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DataLoaderException("interrupted while waiting for batch data of epoch " + epoch, e);
                }
            }
            if (pending.failure() != null) {
                Throwable t = pending.failure();
                finished = true;
                throw new DataLoaderException("data loading failed in epoch " + epoch + ": " + t, t);
            }
            if (pending.batch() == null) {
                finished = true;
                return false;
            }
            return true;
        }

        /** The next batch; the previous one becomes invalid. */
        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            }
            Item item = pending;
            pending = null;
            held = item.slot();
            return item.batch();
        }

        private void release() {
            if (held != null) {
                free.add(held);
                held = null;
            }
        }

        private void stop() {
            finished = true;
            thread.interrupt();
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        /** Abandons the rest of the epoch: stops and waits for the background thread. */
        @Override
        public void close() {
            stop();
        }
    }
}
