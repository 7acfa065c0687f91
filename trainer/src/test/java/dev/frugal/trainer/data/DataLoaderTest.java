package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    private static final int H = 4;
    private static final int W = 5;

    /** {@code n} images whose pixels are distinct per sample and position; label = index % 3. */
    private static ImageDataset synthetic(int n) {
        byte[] pixels = new byte[n * H * W];
        byte[] labels = new byte[n];
        for (int s = 0; s < n; s++) {
            labels[s] = (byte) (s % 3);
            for (int p = 0; p < H * W; p++) {
                pixels[s * H * W + p] = (byte) (1 + (s * 7 + p * 11) % 255);
            }
        }
        return ImageDataset.of(pixels, labels, H, W, 3);
    }

    private static int pixel(int s, int y, int x) {
        return 1 + (s * 7 + (y * W + x) * 11) % 255;
    }

    /** One epoch as copies: sample indices, labels and images per batch. */
    private record Seen(List<int[]> samples, List<int[]> labels, List<float[]> images) {
    }

    private static Seen run(DataLoader loader, int epoch) {
        Seen seen = new Seen(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try (DataLoader.Epoch e = loader.epoch(epoch)) {
            while (e.hasNext()) {
                Batch b = e.next();
                int[] s = new int[b.size()];
                for (int i = 0; i < s.length; i++) {
                    s[i] = b.sampleIndex(i);
                }
                seen.samples().add(s);
                seen.labels().add(Arrays.stream(b.labels().toLongArray()).mapToInt(v -> (int) v).toArray());
                seen.images().add(b.images().toFloatArray());
            }
        }
        return seen;
    }

    @Test
    void batchesInOrderWithLastBatchKeptOrDropped() throws IOException {
        LoaderOptions keep = LoaderOptions.of(4).withShuffle(false);
        try (DataLoader loader = new DataLoader(() -> synthetic(10), keep)) {
            assertEquals(3, loader.batchesPerEpoch());
            Seen seen = run(loader, 0);
            assertEquals(3, seen.samples().size());
            assertArrayEquals(new int[] {8, 9}, seen.samples().get(2));
            assertArrayEquals(new int[] {0, 1, 2, 0}, seen.labels().get(0));
            float[] first = seen.images().get(0);
            assertEquals(4 * H * W, first.length);
            assertEquals(pixel(1, 2, 3) / 255f, first[H * W + 2 * W + 3], 1e-6f);
        }
        try (DataLoader loader = new DataLoader(() -> synthetic(10), keep.withLastBatch(LastBatchPolicy.DROP))) {
            assertEquals(2, loader.batchesPerEpoch());
            Seen seen = run(loader, 0);
            assertEquals(2, seen.samples().size());
            assertArrayEquals(new int[] {4, 5, 6, 7}, seen.samples().get(1));
        }
    }

    @Test
    void batchTensorsHaveTheDocumentedShapesAndTypes() {
        try (DataLoader loader = new DataLoader(() -> synthetic(10), LoaderOptions.of(4));
             DataLoader.Epoch e = loader.epoch(0)) {
            Batch b = e.next();
            assertEquals(Shape.of(4, 1, H, W), b.images().shape());
            assertEquals(DType.F32, b.images().dtype());
            assertEquals(Shape.of(4), b.labels().shape());
            assertEquals(DType.I32, b.labels().dtype());
            assertTrue(b.images().segment().isNative(), "off-heap");
            e.next();
            assertEquals(Shape.of(2, 1, H, W), e.next().images().shape());
            assertFalse(e.hasNext());
        }
    }

    @Test
    void sameSeedSameOrderAndEveryEpochIsAPermutation() {
        LoaderOptions opts = LoaderOptions.of(7).withSeed(42);
        try (DataLoader a = new DataLoader(() -> synthetic(50), opts);
             DataLoader b = new DataLoader(() -> synthetic(50), opts.withBuffers(1));
             DataLoader c = new DataLoader(() -> synthetic(50), opts.withSeed(43))) {
            int[] a0 = flat(run(a, 0).samples());
            int[] a1 = flat(run(a, 1).samples());
            assertArrayEquals(a0, flat(run(b, 0).samples()));
            assertArrayEquals(a1, flat(run(b, 1).samples()));
            assertFalse(Arrays.equals(a0, a1), "epochs differ");
            assertFalse(Arrays.equals(a0, flat(run(c, 0).samples())), "seeds differ");
            int[] sorted = a0.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < 50; i++) {
                assertEquals(i, sorted[i]);
            }
        }
    }

    @Test
    void augmentationIsSeededPerSampleAndIndependentOfBuffering() {
        LoaderOptions opts = LoaderOptions.of(3).withSeed(7).withAugmentation(2, true);
        try (DataLoader a = new DataLoader(() -> synthetic(20), opts);
             DataLoader b = new DataLoader(() -> synthetic(20), opts.withBuffers(1))) {
            Seen sa = run(a, 0);
            Seen sb = run(b, 0);
            for (int i = 0; i < sa.images().size(); i++) {
                assertArrayEquals(sa.images().get(i), sb.images().get(i));
            }
            Seen again = run(a, 1);
            int identity = 0;
            int flips = 0;
            for (int bi = 0; bi < sa.images().size(); bi++) {
                for (int r = 0; r < sa.samples().get(bi).length; r++) {
                    int[] found = explain(sa.images().get(bi), r, sa.samples().get(bi)[r]);
                    identity += found[0] == 0 && found[1] == 0 && found[2] == 0 ? 1 : 0;
                    flips += found[2];
                }
            }
            assertTrue(identity < 20, "augmentation changed some samples");
            assertTrue(flips > 0 && flips < 20, "some but not all flipped: " + flips);
            assertFalse(Arrays.equals(flat2(sa.images()), flat2(again.images())), "epoch 1 augments differently");
        }
    }

    /** Finds (dy, dx, flip) in the allowed range that explains row {@code r}; fails if none does. */
    private static int[] explain(float[] images, int r, int sample) {
        for (int flip = 0; flip < 2; flip++) {
            for (int dy = -2; dy <= 2; dy++) {
                for (int dx = -2; dx <= 2; dx++) {
                    boolean ok = true;
                    for (int y = 0; y < H && ok; y++) {
                        for (int x = 0; x < W && ok; x++) {
                            int sy = y + dy;
                            int sx = (flip == 1 ? W - 1 - x : x) + dx;
                            float want = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0f : pixel(sample, sy, sx) / 255f;
                            ok = Math.abs(images[r * H * W + y * W + x] - want) < 1e-6f;
                        }
                    }
                    if (ok) {
                        return new int[] {dy, dx, flip};
                    }
                }
            }
        }
        throw new AssertionError("sample " + sample + " is no crop/flip of its image");
    }

    @Test
    void normalisesWithMeanAndStd() {
        LoaderOptions opts = LoaderOptions.of(10).withShuffle(false).withNormalization(0.5f, 0.25f);
        try (DataLoader loader = new DataLoader(() -> synthetic(10), opts)) {
            float[] img = run(loader, 0).images().get(0);
            float want = (pixel(3, 1, 1) / 255f - 0.5f) / 0.25f;
            assertEquals(want, img[3 * H * W + W + 1], 1e-5f);
        }
        assertThrows(IllegalArgumentException.class, () -> LoaderOptions.of(1).withNormalization(0f, 0f));
        assertThrows(IllegalArgumentException.class, () -> LoaderOptions.of(0));
    }

    @Test
    void decodesOnceAcrossEpochs() {
        AtomicInteger loads = new AtomicInteger();
        try (DataLoader loader = new DataLoader(() -> {
            loads.incrementAndGet();
            return synthetic(10);
        }, LoaderOptions.of(4))) {
            run(loader, 0);
            run(loader, 1);
            run(loader, 2);
            assertEquals(1, loads.get());
            assertEquals(1, loader.decodeCount());
        }
    }

    @Test
    void prefetchesAheadIntoABoundedRingOfReusedBuffers() throws InterruptedException {
        try (DataLoader loader = new DataLoader(() -> synthetic(10), LoaderOptions.of(1).withBuffers(3));
             DataLoader.Epoch e = loader.epoch(0)) {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (e.prefetched() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(3, e.prefetched(), "filled ahead without the consumer asking");
            Thread.sleep(50);
            assertEquals(3, e.prefetched(), "stops when the ring is full");
            List<Long> addresses = new ArrayList<>();
            while (e.hasNext()) {
                addresses.add(e.next().images().segment().address());
            }
            assertEquals(10, addresses.size());
            assertEquals(3, addresses.stream().distinct().count(), "three buffers, reused");
        }
    }

    @Test
    void failureOnTheBackgroundThreadReachesTheConsumer() {
        try (DataLoader loader = new DataLoader(() -> {
            throw new IOException("disk on fire");
        }, LoaderOptions.of(4)); DataLoader.Epoch e = loader.epoch(0)) {
            DataLoaderException ex = assertThrows(DataLoaderException.class, e::hasNext);
            assertTrue(ex.getCause() instanceof IOException);
            assertTrue(ex.getMessage().contains("disk on fire"), ex.getMessage());
        }
    }

    @Test
    void closeStopsTheThreadAndFreesTheBuffers() throws InterruptedException {
        DataLoader loader = new DataLoader(() -> synthetic(100), LoaderOptions.of(1).withBuffers(2));
        DataLoader.Epoch e = loader.epoch(5);
        Batch b = e.next();
        assertTrue(loaderThreadAlive(), "producer waits on the full ring");
        loader.close();
        assertFalse(loaderThreadAlive(), "producer stopped and joined");
        assertThrows(IllegalStateException.class, () -> b.images().toFloatArray());
        assertThrows(IllegalStateException.class, () -> loader.epoch(6));
        loader.close(); // idempotent
    }

    @Test
    void newEpochEndsAnAbandonedOne() {
        try (DataLoader loader = new DataLoader(() -> synthetic(30), LoaderOptions.of(2).withBuffers(2))) {
            DataLoader.Epoch first = loader.epoch(0);
            first.next();
            Seen second = run(loader, 1);
            assertEquals(15, second.samples().size());
            assertFalse(first.hasNext());
        }
    }

    private static boolean loaderThreadAlive() throws InterruptedException {
        Thread.sleep(20);
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().startsWith("frugal-data-loader") && t.isAlive());
    }

    private static int[] flat(List<int[]> parts) {
        return parts.stream().flatMapToInt(Arrays::stream).toArray();
    }

    private static float[] flat2(List<float[]> parts) {
        int n = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
