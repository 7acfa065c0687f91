package dev.frugal.runtime.cpu.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;

/**
 * The one thread pool every CPU kernel runs on.
 *
 * <p>Sized to {@link Runtime#availableProcessors()} unless the system property
 * {@code frugal.cpu.threads} says otherwise (read once, at class initialisation). Kernels split
 * their work with {@link #parallelFor}; nested calls (a convolution that calls GEMM from inside a
 * parallel loop over images) run inline on the calling worker, so the machine is never
 * oversubscribed and the outer split decides the parallelism.
 *
 * <p>Memory segments handed to parallel kernels are read by the pool's threads, so they must come
 * from a shared, global or automatic arena, not a confined one.
 */
public final class CpuParallel {

    /** A body of a parallel loop: processes the half-open index range {@code [from, to)}. */
    @FunctionalInterface
    public interface IntRangeBody {
        /** Processes indices {@code from} (inclusive) to {@code to} (exclusive). */
        void run(int from, int to);
    }

    private static final int THREADS = readThreadCount();

    private static final ForkJoinPool POOL = new ForkJoinPool(
            THREADS,
            pool -> {
                ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                t.setName("frugal-cpu-" + t.getPoolIndex());
                t.setDaemon(true);
                return t;
            },
            null,
            false);

    /**
     * More chunks than threads lets a thread that finishes early (or was never descheduled)
     * take another chunk; 4 per thread keeps the fork/join overhead negligible.
     */
    private static final int CHUNKS_PER_THREAD = 4;

    private CpuParallel() {
    }

    private static int readThreadCount() {
        String prop = System.getProperty("frugal.cpu.threads");
        if (prop == null || prop.isBlank()) {
            return Math.max(1, Runtime.getRuntime().availableProcessors());
        }
        int n;
        try {
            n = Integer.parseInt(prop.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("system property frugal.cpu.threads must be a positive integer, got '" + prop + "'", e);
        }
        if (n < 1) {
            throw new IllegalArgumentException("system property frugal.cpu.threads must be a positive integer, got " + n);
        }
        return n;
    }

    /** Number of worker threads kernels may use. */
    public static int threads() {
        return THREADS;
    }

    /** True when the current thread is one of this pool's workers (nested parallel loops run inline). */
    public static boolean inPool() {
        return Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    /**
     * Runs {@code body} over {@code [start, end)} split into chunks of at least {@code grain}
     * indices, in parallel, and returns when every chunk is done. Runs inline (one call covering
     * the whole range) when the range is at most {@code grain}, when there is one thread, or when
     * called from inside the pool. An exception thrown by a chunk is rethrown to the caller.
     *
     * @param grain the smallest number of indices worth giving to a thread (at least 1)
     */
    public static void parallelFor(int start, int end, int grain, IntRangeBody body) {
        if (grain < 1) {
            throw new IllegalArgumentException("parallelFor: grain must be >= 1, got " + grain);
        }
        int n = end - start;
        if (n <= 0) {
            return;
        }
        if (n <= grain || THREADS == 1 || inPool()) {
            body.run(start, end);
            return;
        }
        int chunks = (int) Math.min((n + (long) grain - 1) / grain, (long) THREADS * CHUNKS_PER_THREAD);
        POOL.invoke(new Chunks(start, end, chunks, body));
    }

    /**
     * Like {@link #parallelFor} but splits {@code [start, end)} into exactly
     * {@code min(parts, end - start)} contiguous, near-equal chunks. Used by kernels that plan one
     * work unit per thread (for example to keep one packed GEMM panel per thread).
     */
    public static void parallelForParts(int start, int end, int parts, IntRangeBody body) {
        int n = end - start;
        if (n <= 0) {
            return;
        }
        int chunks = Math.min(Math.max(parts, 1), n);
        if (chunks == 1 || THREADS == 1 || inPool()) {
            body.run(start, end);
            return;
        }
        POOL.invoke(new Chunks(start, end, chunks, body));
    }

    /** Forks one task per chunk and joins them all; chunk {@code i} covers a near-equal share. */
    private static final class Chunks extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int start;
        private final int end;
        private final int chunks;
        private final transient IntRangeBody body;

        Chunks(int start, int end, int chunks, IntRangeBody body) {
            this.start = start;
            this.end = end;
            this.chunks = chunks;
            this.body = body;
        }

        @Override
        protected void compute() {
            long n = end - start;
            Chunk[] tasks = new Chunk[chunks];
            for (int i = 0; i < chunks; i++) {
                int from = start + (int) (n * i / chunks);
                int to = start + (int) (n * (i + 1) / chunks);
                tasks[i] = new Chunk(from, to, body);
            }
            invokeAll(tasks);
        }
    }

    private static final class Chunk extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int from;
        private final int to;
        private final transient IntRangeBody body;

        Chunk(int from, int to, IntRangeBody body) {
            this.from = from;
            this.to = to;
            this.body = body;
        }

        @Override
        protected void compute() {
            body.run(from, to);
        }
    }
}
