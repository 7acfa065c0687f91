package dev.frugal.trainer.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An IDX file that is truncated, corrupt or not what the caller asked for. The message names the
 * file, the byte offset where reading went wrong and what was expected there, so a user can tell
 * a half-finished download from a wrong file without a hex editor.
 */
public final class IdxFormatException extends IOException {
    private final transient Path file;
    private final long offset;

    /**
     * A format error at one place in one file.
     *
     * @param file     the file being read
     * @param offset   byte offset of the problem (in the decompressed stream for a gzipped file)
     * @param problem  what was found and what was expected there
     * @param cause    the underlying I/O error, or null
     */
    public IdxFormatException(Path file, long offset, String problem, Throwable cause) {
        super(file + ": at byte offset " + offset + ": " + problem, cause);
        this.file = file;
        this.offset = offset;
    }

    /** The file that failed to read. */
    public Path file() {
        return file;
    }

    /** The byte offset of the problem (decompressed offset for gzipped files). */
    public long offset() {
        return offset;
    }
}
