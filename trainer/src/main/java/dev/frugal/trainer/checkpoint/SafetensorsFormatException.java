package dev.frugal.trainer.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that is not well formed: a truncated file, a header length out of bounds,
 * a header that is not a JSON object, an unknown dtype, a bad shape, or data offsets that
 * overlap, leave gaps, fall outside the file or disagree with the shape. The message names the
 * file, the tensor when there is one, and what was expected.
 */
public final class SafetensorsFormatException extends IOException {
    private final Path file;

    /**
     * A format error in {@code file}.
     *
     * @param file the file being read
     * @param message what is wrong and what was expected (the file name is prepended)
     */
    public SafetensorsFormatException(Path file, String message) {
        super(file + ": " + message);
        this.file = file;
    }

    /**
     * A format error in {@code file} caused by {@code cause} (for example a JSON parse error).
     *
     * @param file the file being read
     * @param message what is wrong and what was expected (the file name is prepended)
     * @param cause the underlying error
     */
    public SafetensorsFormatException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
        this.file = file;
    }

    /** The file that is malformed. */
    public Path file() {
        return file;
    }
}
