package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.trainer.StepMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Competence-based curriculum: ranking, pacing, the loader's batches, determinism, warm-up scores and specs. */
class CurriculumTest {
    private static final int N = 100;
    private static final int BATCH = 10;

    /** N 2x2 images whose first pixel is the sample index, so a batch row shows which sample it holds. */
    private static DataLoader.Source indexed() {
        return () -> {
            byte[] pixels = new byte[N * 4];
            byte[] labels = new byte[N];
            for (int i = 0; i < N; i++) {
                pixels[4 * i] = (byte) i;
                pixels[4 * i + 1] = (byte) (3 * i);
                labels[i] = (byte) (i % 10);
            }
            return ImageDataset.of(pixels, labels, 2, 2, 10);
        };
    }

    /** Scores whose ranking is a fixed scramble of 0..N-1: sample 37*k mod N is the k-th easiest. */
    private static double[] scores() {
        double[] s = new double[N];
        for (int k = 0; k < N; k++) {
            s[(37 * k) % N] = k * 0.5 - 3;
        }
        return s;
    }

    private static LoaderOptions options(long seed) {
        return LoaderOptions.of(BATCH).withSeed(seed).withLastBatch(LastBatchPolicy.DROP);
    }

    /** Each step's samples, over {@code epochs} epochs, checking that every image shows its sample index. */
    private static List<int[]> batches(DataLoader loader, int epochs) {
        List<int[]> out = new ArrayList<>();
        for (int e = 0; e < epochs; e++) {
            try (DataLoader.Epoch ep = loader.epoch(e)) {
                while (ep.hasNext()) {
                    Batch b = ep.next();
                    int[] rows = new int[b.size()];
                    for (int r = 0; r < b.size(); r++) {
                        rows[r] = b.sampleIndex(r);
                        assertEquals(rows[r] / 255f, b.images().getFlat(4L * r), 1e-6, "image of row " + r);
                        assertEquals(rows[r] % 10, (int) b.labels().getFlat(r), "label of row " + r);
                    }
                    out.add(rows);
                }
            }
        }
        return out;
    }

    @Test
    void ranksEasiestFirstWithTiesInIndexOrder() {
        assertArrayEquals(new int[] {3, 1, 4, 0, 2}, Curriculum.rank(new double[] {0.5, 0.1, 0.5, -2, 0.1}));
        int[] r = Curriculum.rank(scores());
        for (int k = 0; k < N; k++) {
            assertEquals((37 * k) % N, r[k]);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Curriculum.rank(new double[] {1, Double.NaN}));
        assertTrue(e.getMessage().contains("sample 1 is NaN"), e.getMessage());
    }

    @Test
    void linearPacingPoolSizesFollowTheFormula() {
        Curriculum c = Curriculum.of(new double[1000], Pacing.LINEAR, 0.2, 100, 0);
        // c(t) = min(1, t * (1 - 0.2) / 100 + 0.2): 200 + 8t samples of 1000
        for (int t = 0; t < 100; t++) {
            assertEquals(200 + 8 * t, c.poolSize(t, 1000, 32), "step " + t);
            assertEquals(Math.min(1, t * 0.8 / 100 + 0.2), c.competence(t), 1e-15);
        }
        for (long t : new long[] {100, 101, 5000}) {
            assertEquals(1000, c.poolSize(t, 1000, 32), "the full set at T and after");
            assertEquals(1.0, c.competence(t));
            assertFalse(c.shapes(t));
        }
    }

    @Test
    void rootPacingPoolSizesFollowTheFormula() {
        Curriculum c = Curriculum.of(new double[1000], Pacing.ROOT, 0.2, 100, 0);
        // c(t) = min(1, sqrt(t * (1 - 0.04) / 100 + 0.04))
        assertEquals(200, c.poolSize(0, 1000, 32));
        assertEquals(530, c.poolSize(25, 1000, 32), "sqrt(0.28) = 0.52915");
        assertEquals(722, c.poolSize(50, 1000, 32), "sqrt(0.52) = 0.72111");
        assertEquals(996, c.poolSize(99, 1000, 32), "sqrt(0.9904) = 0.99519");
        for (int t = 0; t < 100; t++) {
            double competence = Math.min(1, Math.sqrt(t * (1 - 0.2 * 0.2) / 100 + 0.2 * 0.2));
            assertEquals(competence, c.competence(t), 1e-15);
            assertEquals((int) Math.ceil(competence * 1000 - 1e-9), c.poolSize(t, 1000, 32), "step " + t);
        }
        assertEquals(1000, c.poolSize(100, 1000, 32));
        assertEquals(1000, c.poolSize(250, 1000, 32));
        assertEquals(1.0, Pacing.ROOT.competence(7, 5, 0.5));
        assertEquals(0.5, Pacing.LINEAR.competence(0, 5, 0.5));
    }

    @Test
    void aPoolHoldsAtLeastOneBatchAndStartsAfterTheWarmUp() {
        Curriculum c = Curriculum.of(new double[1000], Pacing.LINEAR, 0.01, 10, 50);
        assertFalse(c.shapes(49));
        assertEquals(1000, c.poolSize(49, 1000, 32), "the warm-up draws from the full set");
        assertEquals(1.0, c.competence(49));
        assertTrue(c.shapes(50));
        assertEquals(0.01, c.competence(50));
        assertEquals(32, c.poolSize(50, 1000, 32), "10 samples would not fill a batch of 32");
        assertEquals(0.109, c.competence(51), 1e-15);
        assertEquals(109, c.poolSize(51, 1000, 32));
        assertTrue(c.shapes(59));
        assertFalse(c.shapes(60));
    }

    @Test
    void loaderDrawsFromThePoolDuringTheCurriculumAndIsUnchangedOutsideIt() throws IOException {
        Curriculum c = Curriculum.of(scores(), Pacing.LINEAR, 0.2, 25, 5);
        int[] ranking = c.ranking();
        List<int[]> plain;
        List<int[]> curriculum;
        try (DataLoader p = new DataLoader(indexed(), options(7));
             DataLoader l = new DataLoader(indexed(), options(7), c)) {
            assertNull(p.curriculum());
            assertEquals(c, l.curriculum());
            assertEquals(p.batchesPerEpoch(), l.batchesPerEpoch());
            plain = batches(p, 5);
            curriculum = batches(l, 5);
        }
        assertEquals(50, curriculum.size());
        for (int step = 0; step < 50; step++) {
            if (step < 5 || step >= 30) {
                assertArrayEquals(plain.get(step), curriculum.get(step), "step " + step + " is outside the curriculum");
                continue;
            }
            int pool = c.poolSize(step, N, BATCH);
            assertEquals((int) Math.ceil(((step - 5) * 0.8 / 25 + 0.2) * N - 1e-9), pool);
            Set<Integer> allowed = new HashSet<>();
            for (int k = 0; k < pool; k++) {
                allowed.add(ranking[k]);
            }
            Set<Integer> distinct = new HashSet<>();
            for (int s : curriculum.get(step)) {
                assertTrue(allowed.contains(s), "step " + step + ": sample " + s + " is not among the " + pool + " easiest");
                distinct.add(s);
            }
            assertEquals(BATCH, distinct.size(), "a batch holds distinct samples");
        }
        // the first curriculum step draws only from the easiest 20
        Set<Integer> first = new HashSet<>();
        for (int step = 5; step < 10; step++) {
            for (int s : curriculum.get(step)) {
                first.add(s);
            }
        }
        for (int s : first) {
            int rank = 0;
            while (ranking[rank] != s) {
                rank++;
            }
            assertTrue(rank < 36, "early steps use only the easy samples, got rank " + rank);
        }
    }

    @Test
    void keepsALastPartialBatchsSize() throws IOException {
        Curriculum c = Curriculum.of(scores(), Pacing.ROOT, 0.5, 1000, 0);
        try (DataLoader l = new DataLoader(indexed(), LoaderOptions.of(30).withSeed(1), c)) {
            List<int[]> b = batches(l, 1);
            assertEquals(List.of(30, 30, 30, 10), b.stream().map(a -> a.length).toList());
        }
    }

    @Test
    void theSameSeedGivesTheSameBatchesAndAnotherSeedOthers() throws IOException {
        List<int[]> a;
        List<int[]> b;
        List<int[]> other;
        try (DataLoader l1 = new DataLoader(indexed(), options(3), Curriculum.of(scores(), Pacing.ROOT, 0.3, 20, 0));
             DataLoader l2 = new DataLoader(indexed(), options(3), Curriculum.of(scores(), Pacing.ROOT, 0.3, 20, 0));
             DataLoader l3 = new DataLoader(indexed(), options(4), Curriculum.of(scores(), Pacing.ROOT, 0.3, 20, 0))) {
            a = batches(l1, 3);
            b = batches(l2, 3);
            other = batches(l3, 3);
            // an epoch served again is the same
            assertArrayEquals(a.get(12), batches(l1, 2).get(12));
        }
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i), b.get(i), "step " + i);
        }
        boolean differs = false;
        for (int i = 0; i < 20; i++) {
            differs |= !java.util.Arrays.equals(a.get(i), other.get(i));
        }
        assertTrue(differs, "another seed draws other batches");
    }

    @Test
    void theLoaderWaitsForScoresGivenAfterTheWarmUp() throws Exception {
        Curriculum c = new Curriculum(Pacing.LINEAR, 0.2, 10, 3);
        assertFalse(c.hasScores());
        assertNull(c.ranking());
        AtomicBoolean given = new AtomicBoolean();
        try (DataLoader l = new DataLoader(indexed(), options(1), c);
             DataLoader.Epoch ep = l.epoch(0)) {
            for (int i = 0; i < 3; i++) {
                assertTrue(ep.hasNext());
                ep.next();
            }
            Thread scorer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
                given.set(true);
                c.setScores(scores());
            });
            assertTrue(ep.hasNext());
            assertTrue(given.get(), "the fourth batch (step 3) waited for the scores");
            Batch b = ep.next();
            int[] ranking = c.ranking();
            Set<Integer> pool = new HashSet<>();
            for (int k = 0; k < 20; k++) {
                pool.add(ranking[k]);
            }
            for (int r = 0; r < b.size(); r++) {
                assertTrue(pool.contains(b.sampleIndex(r)));
            }
            scorer.join();
        }
        assertThrows(IllegalStateException.class, () -> c.setScores(scores()), "scores are given once");
    }

    @Test
    void closingALoaderWaitingForScoresDoesNotHang() throws IOException {
        Curriculum c = new Curriculum(Pacing.LINEAR, 0.2, 10, 0);
        try (DataLoader l = new DataLoader(indexed(), options(1), c)) {
            DataLoader.Epoch ep = l.epoch(0);
            assertEquals(0, ep.prefetched());
            ep.close();
        }
    }

    @Test
    void scoresForAnotherNumberOfSamplesFailTheEpoch() throws IOException {
        Curriculum c = Curriculum.of(new double[N + 1], Pacing.LINEAR, 0.2, 10, 0);
        try (DataLoader l = new DataLoader(indexed(), options(1), c);
             DataLoader.Epoch ep = l.epoch(0)) {
            DataLoaderException e = assertThrows(DataLoaderException.class, ep::hasNext);
            assertTrue(e.getMessage().contains("the scores cover 101 samples, but the training set holds 100"), e.getMessage());
        }
    }

    @Test
    void aResumedRunWithoutItsScoresIsRefused() {
        Curriculum c = new Curriculum(Pacing.LINEAR, 0.2, 10, 5);
        c.checkReadyAt(0);
        c.checkReadyAt(5);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.checkReadyAt(6));
        assertTrue(e.getMessage().contains("resumes at step 6"), e.getMessage());
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new Curriculum(Pacing.LINEAR, 0, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new Curriculum(Pacing.LINEAR, 1.5, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new Curriculum(Pacing.LINEAR, 0.5, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Curriculum(Pacing.LINEAR, 0.5, 10, -1));
    }

    @Test
    void parsesSpecs() {
        CurriculumSpec a = CurriculumSpec.parse("curriculum:scores=difficulty.txt,pacing=root,start=0.2,steps=2000");
        assertEquals(new CurriculumSpec(Path.of("difficulty.txt"), 0, Pacing.ROOT, 0.2, 2000), a);
        assertFalse(a.scoresFromWarmup());
        CurriculumSpec b = CurriculumSpec.parse("curriculum:warmup=200,pacing=linear,start=0.3,steps=1500");
        assertEquals(new CurriculumSpec(null, 200, Pacing.LINEAR, 0.3, 1500), b);
        assertTrue(b.scoresFromWarmup());
        Curriculum c = b.newCurriculum();
        assertEquals(200, c.startStep());
        assertEquals(1500, c.steps());
        assertEquals(0.3, c.start());
        assertEquals(Pacing.LINEAR, c.pacing());
        assertEquals(b, CurriculumSpec.parse(b.describe()));
        assertEquals(a, CurriculumSpec.parse(a.describe()));
        CurriculumSpec d = CurriculumSpec.parse("curriculum:warmup=0,steps=10");
        assertEquals(Pacing.ROOT, d.pacing());
        assertEquals(0.01, d.start());
    }

    @Test
    void badSpecsNameTheKeyAndValue() {
        assertSpec("curriculum:scores=f.txt,warmup=10,steps=5", "exactly one of scores=FILE");
        assertSpec("curriculum:steps=5", "exactly one of scores=FILE");
        assertSpec("curriculum:warmup=10", "missing required key 'steps'");
        assertSpec("curriculum:warmup=10,steps=five", "steps must be a whole number of steps, got 'five'");
        assertSpec("curriculum:warmup=-1,steps=5", "warmup must be 0 steps or more, got -1");
        assertSpec("curriculum:warmup=1,steps=0", "steps must be at least 1, got 0");
        assertSpec("curriculum:warmup=1,steps=5,pacing=exp", "pacing must be linear or root, got 'exp'");
        assertSpec("curriculum:warmup=1,steps=5,start=0", "start must be above 0 and at most 1, got 0.0");
        assertSpec("curriculum:warmup=1,steps=5,start=x", "start must be a number, got 'x'");
        assertSpec("curriculum:warmup=1,steps=5,speed=2", "unknown key 'speed'");
        assertSpec("curriculum:warmup=1,steps=5,steps=6", "key 'steps' given twice");
        assertSpec("curriculum:scores=,steps=5", "scores needs a file name");
        assertSpec("plateau:steps=5", "expected a spec starting with 'curriculum:'");
        assertSpec("", "empty curriculum spec");
    }

    private static void assertSpec(String spec, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CurriculumSpec.parse(spec), spec);
        assertTrue(e.getMessage().contains(part), () -> spec + ": " + e.getMessage());
    }

    @Test
    void theWarmUpScoresOnceAtItsEndAndKeepsTheScores(@TempDir Path dir) throws IOException {
        Path keep = dir.resolve("curriculum-scores.txt");
        AtomicInteger calls = new AtomicInteger();
        Curriculum c = new Curriculum(Pacing.LINEAR, 0.2, 10, 3);
        CurriculumWarmup w = new CurriculumWarmup(c, () -> {
            calls.incrementAndGet();
            return scores();
        }, keep, N);
        w.prepare(0);
        assertFalse(c.hasScores(), "a new run scores at the end of its warm-up");
        w.onStep(new StepMetrics(2, 0, 1.0, 0.1, BATCH));
        assertEquals(0, calls.get());
        w.onStep(new StepMetrics(3, 0, 1.0, 0.1, BATCH));
        assertEquals(1, calls.get());
        assertTrue(c.hasScores());
        assertArrayEquals(scores(), CurriculumScores.read(keep, N));
        w.onStep(new StepMetrics(3, 0, 1.0, 0.1, BATCH));
        assertEquals(1, calls.get(), "once");

        // a run resumed after the warm-up reads the kept scores back
        Curriculum resumed = new Curriculum(Pacing.LINEAR, 0.2, 10, 3);
        new CurriculumWarmup(resumed, () -> {
            throw new AssertionError("must not score again");
        }, keep, N).prepare(7);
        assertArrayEquals(c.ranking(), resumed.ranking());

        // exactly at the warm-up's end (or with no warm-up) it scores at once
        Curriculum now = new Curriculum(Pacing.LINEAR, 0.2, 10, 3);
        new CurriculumWarmup(now, CurriculumTest::scores, dir.resolve("other.txt"), N).prepare(3);
        assertTrue(now.hasScores());
        assertTrue(Files.exists(dir.resolve("other.txt")));

        Curriculum lost = new Curriculum(Pacing.LINEAR, 0.2, 10, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> new CurriculumWarmup(lost, CurriculumTest::scores, dir.resolve("missing.txt"), N).prepare(4));
        assertTrue(e.getMessage().contains("were not kept"), e.getMessage());

        Curriculum wrong = new Curriculum(Pacing.LINEAR, 0.2, 10, 0);
        assertThrows(IllegalStateException.class, () -> new CurriculumWarmup(wrong, () -> new double[3], null, N).prepare(0));
        assertNotEquals(null, c.describe());
    }
}
