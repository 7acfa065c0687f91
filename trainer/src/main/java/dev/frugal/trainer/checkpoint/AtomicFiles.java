package dev.frugal.trainer.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;

/**
 * Crash-safe file replacement: write a temporary file in the target's directory, force it to
 * disk, rename it over the target atomically, then force the directory so the rename itself
 * survives a power loss. A reader (or a process started after a crash) sees either the old file
 * or the complete new one, never a mix; on any failure the temporary file is deleted and the old
 * file is untouched.
 */
public final class AtomicFiles {
    /** Prefix of every temporary file and directory made here, so leftovers of a killed process are recognisable. */
    public static final String TEMP_PREFIX = ".tmp-";

    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {
    }

    /** Writes the contents of a file to an open channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        /**
         * Writes the whole content to {@code channel}, starting at position 0.
         *
         * @param channel a channel open for writing on the temporary file
         * @throws IOException if writing fails
         */
        void writeTo(FileChannel channel) throws IOException;
    }

    /**
     * Atomically creates or replaces {@code target} with what {@code writer} writes.
     *
     * @param target the file to create or replace; its directory must exist
     * @param writer writes the content; an exception from it (checked or not) aborts the write
     * @throws IOException if writing, syncing or renaming fails, or the file system cannot rename
     *     atomically; the temporary file is gone and {@code target} is as it was
     */
    public static void write(Path target, ChannelWriter writer) throws IOException {
        Path dir = directoryOf(target);
        // a random name rather than Files.createTempFile: that one makes the file owner-only (0600)
        Path temp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-" + Long.toUnsignedString(RANDOM.nextLong(), 36));
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.writeTo(channel);
                // data and metadata (the length) must be on disk before the rename makes them visible
                channel.force(true);
            }
            moveAtomically(temp, target);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        syncDirectory(dir);
    }

    /**
     * Atomically writes {@code bytes} to {@code target}.
     *
     * @param target the file to create or replace
     * @param bytes the whole new content
     * @throws IOException as {@link #write(Path, ChannelWriter)}
     */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, channel -> {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        });
    }

    /**
     * Writes a new file (not atomically: the caller publishes it later, for example by renaming
     * the directory holding it) and forces its content to disk.
     *
     * @param file the file to create; it must not exist
     * @param writer writes the content
     * @throws IOException if creating, writing or syncing fails
     */
    public static void writeDurably(Path file, ChannelWriter writer) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writer.writeTo(channel);
            channel.force(true);
        }
    }

    /**
     * Renames {@code source} to {@code target} atomically (files, or a directory onto a name that
     * does not exist yet).
     *
     * @param source the file or directory to rename
     * @param target its new name
     * @throws IOException naming both paths when the file system cannot rename atomically: a
     *     non-atomic copy could leave a half-written checkpoint, so there is no fallback
     */
    public static void moveAtomically(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + source + " to " + target + " atomically on this file system ("
                    + e.getMessage() + "); checkpoints need a local file system with atomic rename", e);
        }
    }

    /**
     * Forces a directory's entries (creations, renames, deletions) to disk, so a rename done
     * before a crash is still there after it.
     *
     * @param dir the directory
     * @throws IOException if the directory cannot be opened or synced
     */
    public static void syncDirectory(Path dir) throws IOException {
        if (System.getProperty("os.name", "").startsWith("Windows")) {
            // Windows cannot open a directory as a channel; NTFS journals renames itself
            return;
        }
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /**
     * Deletes a file or a directory tree; a path that does not exist is fine.
     *
     * @param path the file or directory
     * @throws IOException if something cannot be deleted
     */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(path, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private static Path directoryOf(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null) {
            throw new IllegalArgumentException("target " + target + " has no parent directory");
        }
        return dir;
    }
}
