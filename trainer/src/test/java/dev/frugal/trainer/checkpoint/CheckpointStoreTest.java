package dev.frugal.trainer.checkpoint;

import static dev.frugal.trainer.checkpoint.TestTensors.assertSameTensor;
import static dev.frugal.trainer.checkpoint.TestTensors.sample;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints save and load as a unit, and a failed save loses nothing. */
class CheckpointStoreTest {
    @TempDir
    Path dir;

    private Tensor weight;
    private Tensor bias;
    private Tensor moment;
    private Tensor steps;

    @BeforeEach
    void tensors() {
        weight = sample(DType.F32, 8, 4);
        bias = sample(DType.BF16, 4);
        moment = sample(DType.F32, 8, 4);
        steps = sample(DType.I64);
    }

    @AfterEach
    void free() {
        for (Tensor t : List.of(weight, bias, moment, steps)) {
            t.close();
        }
    }

    private Checkpoint checkpoint(long step, Tensor model) {
        SequencedMap<String, Tensor> m = new LinkedHashMap<>();
        m.put("fc.weight", model);
        m.put("fc.bias", bias);
        SequencedMap<String, Tensor> o = new LinkedHashMap<>();
        o.put("exp_avg/fc.weight", moment);
        o.put("step/fc.weight", steps);
        return new Checkpoint(step, step / 10, m, o, new long[] {step, -1L, Long.MIN_VALUE}, Map.of("optimizer", "adamw", "lr", "0.001"));
    }

    private List<String> rootEntries(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void emptyStoreHasNoCheckpoint() throws IOException {
        CheckpointStore store = new CheckpointStore(dir.resolve("run/checkpoints"));
        assertTrue(store.list().isEmpty());
        assertTrue(store.loadLatest().isEmpty());
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> store.load(3));
        assertTrue(e.getMessage().contains("no checkpoint of step 3"), e.getMessage());
    }

    @Test
    void savesAndLoadsEverything() throws IOException {
        CheckpointStore store = new CheckpointStore(dir.resolve("ckpt"));
        Path first = store.save(checkpoint(10, weight));
        assertEquals("checkpoint-10", first.getFileName().toString());
        try (Tensor w2 = sample(DType.F32, 8, 4)) {
            w2.setFlat(0, 99);
            store.save(checkpoint(25, w2));
            assertEquals(List.of(10L, 25L), store.list().stream().map(StoredCheckpoint::step).toList());
            assertEquals(List.of("checkpoint-10", "checkpoint-25"), rootEntries(store.root()));
            try (Checkpoint c = store.loadLatest().orElseThrow()) {
                assertEquals(25, c.step());
                assertEquals(2, c.epoch());
                assertArrayEquals(new long[] {25, -1L, Long.MIN_VALUE}, c.rngState());
                assertEquals(Map.of("optimizer", "adamw", "lr", "0.001"), c.metadata());
                assertEquals(List.of("fc.weight", "fc.bias"), List.copyOf(c.model().keySet()));
                assertSameTensor("fc.weight", w2, c.model().get("fc.weight"));
                assertSameTensor("fc.bias", bias, c.model().get("fc.bias"));
                assertSameTensor("exp_avg", moment, c.optimizer().get("exp_avg/fc.weight"));
                assertSameTensor("step", steps, c.optimizer().get("step/fc.weight"));
            }
        }
        try (Checkpoint c = store.load(10)) {
            assertSameTensor("fc.weight", weight, c.model().get("fc.weight"));
        }
        // the weights file alone is a plain safetensors file that says where it came from
        try (SafetensorsFile f = SafetensorsReader.open(first.resolve(CheckpointStore.MODEL_FILE))) {
            assertEquals("10", f.metadata().get("frugal.step"));
        }
    }

    @Test
    void failureMidSaveKeepsThePreviousCheckpointAndLeavesNoTemporaryFiles() throws IOException {
        CheckpointStore store = new CheckpointStore(dir);
        store.save(checkpoint(1, weight));
        // the model file is written, then the optimizer's tensor turns out to be closed
        Tensor closedMoment = sample(DType.F32, 8, 4);
        closedMoment.close();
        SequencedMap<String, Tensor> m = new LinkedHashMap<>();
        m.put("fc.weight", weight);
        SequencedMap<String, Tensor> o = new LinkedHashMap<>();
        o.put("exp_avg/fc.weight", closedMoment);
        Checkpoint broken = new Checkpoint(2, 0, m, o, new long[0], Map.of());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.save(broken));
        assertTrue(e.getMessage().contains("exp_avg/fc.weight"), e.getMessage());
        assertEquals(List.of("checkpoint-1"), rootEntries(dir));
        try (Checkpoint c = store.loadLatest().orElseThrow()) {
            assertEquals(1, c.step());
            assertSameTensor("fc.weight", weight, c.model().get("fc.weight"));
        }
    }

    @Test
    void savingAStepTwiceIsRefusedAndKeepsTheFirst() throws IOException {
        CheckpointStore store = new CheckpointStore(dir);
        store.save(checkpoint(5, weight));
        try (Tensor other = sample(DType.F32, 8, 4)) {
            other.setFlat(3, -42);
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class, () -> store.save(checkpoint(5, other)));
            assertTrue(e.getMessage().contains("step 5"), e.getMessage());
        }
        try (Checkpoint c = store.load(5)) {
            assertSameTensor("fc.weight", weight, c.model().get("fc.weight"));
        }
        assertEquals(List.of("checkpoint-5"), rootEntries(dir));
    }

    @Test
    void latestIsTheHighestCompleteStepNotAnUnfinishedOne() throws IOException {
        CheckpointStore store = new CheckpointStore(dir);
        store.save(checkpoint(12, weight));
        store.save(checkpoint(3, weight));
        // what a save killed before its rename leaves: a temporary directory of a higher step
        Files.createDirectories(dir.resolve(AtomicFiles.TEMP_PREFIX + "checkpoint-40-xyz"));
        assertEquals(12, store.latest().orElseThrow().step());
        assertEquals(List.of(3L, 12L), store.list().stream().map(StoredCheckpoint::step).toList());
    }

    @Test
    void leftoversOfAKilledSaveAreIgnoredThenRemoved() throws IOException {
        CheckpointStore store = new CheckpointStore(dir);
        store.save(checkpoint(1, weight));
        Path leftover = dir.resolve(AtomicFiles.TEMP_PREFIX + "checkpoint-2-abc");
        Files.createDirectories(leftover);
        Files.write(leftover.resolve(CheckpointStore.MODEL_FILE), new byte[] {1, 2, 3});
        Files.write(dir.resolve(AtomicFiles.TEMP_PREFIX + "other-xyz"), new byte[] {1});
        assertEquals(List.of(1L), store.list().stream().map(StoredCheckpoint::step).toList());
        store.save(checkpoint(2, weight));
        assertEquals(List.of("checkpoint-1", "checkpoint-2"), rootEntries(dir));
    }

    @Test
    void pruneKeepsTheNewest() throws IOException {
        CheckpointStore store = new CheckpointStore(dir);
        for (long s = 1; s <= 5; s++) {
            store.save(checkpoint(s, weight));
        }
        store.prune(2);
        assertEquals(List.of("checkpoint-4", "checkpoint-5"), rootEntries(dir));
        assertThrows(IllegalArgumentException.class, () -> store.prune(0));
    }

    @Test
    void corruptFileInACheckpointIsNamed() throws IOException {
        CheckpointStore store = new CheckpointStore(dir);
        Path saved = store.save(checkpoint(7, weight));
        Path model = saved.resolve(CheckpointStore.MODEL_FILE);
        byte[] all = Files.readAllBytes(model);
        Files.write(model, java.util.Arrays.copyOf(all, all.length / 2));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, store::loadLatest);
        assertEquals(model, e.file());
        Files.writeString(saved.resolve(CheckpointStore.STATE_FILE), "{\"format_version\":1,\"step\":\"seven\"}");
        IOException e2 = assertThrows(IOException.class, store::loadLatest);
        assertTrue(e2.getMessage().contains(CheckpointStore.STATE_FILE) && e2.getMessage().contains("step"), e2.getMessage());
    }

    @Test
    void negativeCountersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Checkpoint(-1, 0, new LinkedHashMap<>(), new LinkedHashMap<>(), new long[0], Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new Checkpoint(0, -1, new LinkedHashMap<>(), new LinkedHashMap<>(), new long[0], Map.of()));
    }
}
