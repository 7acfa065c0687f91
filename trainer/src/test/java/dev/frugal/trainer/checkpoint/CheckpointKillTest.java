package dev.frugal.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Killing the process mid-save (SIGKILL, no shutdown hooks) never costs a checkpoint: a child JVM
 * saves large checkpoints in a loop and is killed, several times over the same store, at a random
 * moment on even rounds and as soon as a save's temporary directory appears on odd rounds (so
 * some kills certainly land mid-write); every time the latest checkpoint loads, is complete, and
 * is at least as new as the last save the child reported finished.
 */
class CheckpointKillTest {
    /** 2M elements: 8 MB of F32 weights and 16 MB of F64 moments, so a kill usually lands mid-write. */
    private static final int ELEMENTS = 2_000_000;
    private static final int ROUNDS = 6;

    @TempDir
    Path dir;

    @Test
    void killedSaverLeavesALoadableCompleteLatestCheckpoint() throws Exception {
        CheckpointStore store = new CheckpointStore(dir);
        Random random = new Random(1234);
        long nextStep = 1;
        int killedMidSave = 0;
        for (int round = 0; round < ROUNDS; round++) {
            boolean midSave = round % 2 == 1;
            long lastReported = runAndKill(nextStep, midSave ? -1 : random.nextInt(200), round);
            if (hasTemporaryCheckpoint()) {
                killedMidSave++;
            }
            try (Checkpoint c = store.loadLatest().orElseThrow(() -> new AssertionError("no checkpoint after the kill"))) {
                long s = c.step();
                assertTrue(s >= lastReported, "latest step " + s + " is older than the last finished save " + lastReported);
                assertComplete(c, s);
                nextStep = s + 1;
            }
            // every checkpoint still listed is complete too (prune may have been cut short, that is fine)
            for (StoredCheckpoint sc : store.list()) {
                try (Checkpoint c = store.load(sc.step())) {
                    assertComplete(c, sc.step());
                }
            }
        }
        // a save takes tens of milliseconds and the odd rounds kill within about one of them
        assertTrue(killedMidSave > 0, "no kill landed mid-save, so the test proved nothing");
    }

    private boolean hasTemporaryCheckpoint() throws IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith(AtomicFiles.TEMP_PREFIX + "checkpoint-"));
        }
    }

    private static void assertComplete(Checkpoint c, long s) {
        Tensor w = c.model().get("w");
        Tensor m = c.optimizer().get("m");
        assertNotNull(w, "model tensor w");
        assertNotNull(m, "optimizer tensor m");
        assertEquals(ELEMENTS, w.numel());
        assertEquals(ELEMENTS, m.numel());
        for (long i = 0; i < ELEMENTS; i += 997) {
            assertEquals(s, w.getFlat(i), "w[" + i + "] of checkpoint " + s);
            assertEquals(s, m.getFlat(i), "m[" + i + "] of checkpoint " + s);
        }
        assertEquals(s, w.getFlat(ELEMENTS - 1));
        assertEquals(s, m.getFlat(ELEMENTS - 1));
        assertArrayEquals(new long[] {s, -s}, c.rngState());
        assertEquals(Map.of("step", Long.toString(s)), c.metadata());
    }

    /**
     * Starts the child, lets it finish at least two saves, then kills it after {@code extraMillis},
     * or, when that is negative, as soon as a save's temporary directory exists. Returns the last
     * step the child reported saved.
     */
    private long runAndKill(long firstStep, int extraMillis, int round) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                CheckpointSaverChild.class.getName(), dir.toString(), Long.toString(firstStep), Integer.toString(ELEMENTS)));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // the child was killed; its output ends here
            }
        }, "checkpoint-child-output");
        reader.setDaemon(true);
        reader.start();
        long lastSaved = -1;
        int saves = 0;
        List<String> seen = new ArrayList<>();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (saves < 2) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null) {
                    seen.add(line);
                    if (line.startsWith("saved ")) {
                        lastSaved = Long.parseLong(line.substring(6));
                        saves++;
                    }
                } else if (!child.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("round " + round + ": child saved " + saves + " checkpoints before "
                            + (child.isAlive() ? "the timeout" : "exiting with " + child.exitValue()) + "; output: " + seen);
                }
            }
            if (extraMillis >= 0) {
                Thread.sleep(extraMillis);
            } else {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!hasTemporaryCheckpoint() && System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not die");
            reader.join(10_000);
        }
        for (String line; (line = lines.poll()) != null; ) {
            if (line.startsWith("saved ")) {
                lastSaved = Long.parseLong(line.substring(6));
            }
        }
        return lastSaved;
    }
}
