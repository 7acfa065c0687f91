package dev.frugal.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed write leaves the old file intact and no temporary file behind; a good one replaces it whole. */
class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void replacesTheFileAndLeavesNoTemporaryFile() throws IOException {
        Path f = dir.resolve("state.bin");
        AtomicFiles.write(f, new byte[] {1, 2, 3});
        AtomicFiles.write(f, new byte[] {4, 5});
        assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(f));
        assertEquals(List.of("state.bin"), names());
    }

    @Test
    void writerFailingHalfWayLeavesTheOldFileIntact() throws IOException {
        Path f = dir.resolve("state.bin");
        byte[] old = new byte[4096];
        java.util.Arrays.fill(old, (byte) 7);
        AtomicFiles.write(f, old);
        IOException boom = new IOException("disk full (injected)");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
            ch.write(ByteBuffer.wrap(new byte[2048]));
            throw boom;
        }));
        assertSame(boom, thrown);
        assertArrayEquals(old, Files.readAllBytes(f));
        assertEquals(List.of("state.bin"), names());
    }

    @Test
    void uncheckedFailureAlsoCleansUp() throws IOException {
        Path f = dir.resolve("new.bin");
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(f, ch -> {
            ch.write(ByteBuffer.wrap(new byte[100]));
            throw new IllegalStateException("tensor closed (injected)");
        }));
        assertEquals(List.of(), names());
    }

    @Test
    void missingDirectoryIsReported() {
        Path f = dir.resolve("no-such-dir").resolve("x.bin");
        assertThrows(NoSuchFileException.class, () -> AtomicFiles.write(f, new byte[] {1}));
    }

    @Test
    void deleteRecursivelyRemovesATreeAndIgnoresAMissingPath() throws IOException {
        Path tree = dir.resolve("a");
        Files.createDirectories(tree.resolve("b/c"));
        Files.write(tree.resolve("b/c/f"), new byte[] {1});
        Files.write(tree.resolve("g"), new byte[] {1});
        AtomicFiles.deleteRecursively(tree);
        AtomicFiles.deleteRecursively(tree);
        assertEquals(List.of(), names());
    }
}
