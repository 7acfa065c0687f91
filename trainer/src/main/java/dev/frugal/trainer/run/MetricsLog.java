package dev.frugal.trainer.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * An append-only JSON Lines file ({@code metrics.jsonl}): one compact JSON object per line, flushed
 * after each line so that {@code tail -f} and a crash both see every complete record. Lines are
 * not fsynced: a metrics line lost in a power cut is not worth an fsync per step. Opening an
 * existing file appends to it, which is what a resumed run wants. Safe to use from several
 * threads; each record is written whole.
 */
public final class MetricsLog implements Closeable {
    private final Path file;
    private BufferedWriter writer;

    /**
     * Opens {@code file} for appending, creating it when absent.
     *
     * @param file the {@code .jsonl} file; its directory must exist
     * @throws IOException if the file cannot be opened
     */
    public MetricsLog(Path file) throws IOException {
        this.file = file;
        this.writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /**
     * Writes one record as one line and flushes it.
     *
     * @param record the values, in the order they should appear; numbers, strings, booleans, nulls,
     *     lists and nested maps (NaN and infinities are written as the strings {@code "NaN"},
     *     {@code "Infinity"}, {@code "-Infinity"})
     * @throws IllegalArgumentException if a value cannot be written as JSON
     * @throws IllegalStateException if the log is closed
     * @throws UncheckedIOException if writing fails (a full disk should stop training, loudly)
     */
    public synchronized void append(Map<String, ?> record) {
        if (writer == null) {
            throw new IllegalStateException("metrics log " + file + " is closed");
        }
        String line;
        try {
            // serialise first, so a value Jackson cannot write leaves no partial line behind
            line = RunJson.MAPPER.writeValueAsString(record);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write metrics record as JSON: " + e.getOriginalMessage(), e);
        }
        try {
            writer.write(line);
            writer.write('\n');
            writer.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file written.
     *
     * @return the path of {@code metrics.jsonl}
     */
    public Path file() {
        return file;
    }

    /**
     * Flushes and closes the file; later calls do nothing.
     *
     * @throws IOException if closing fails
     */
    @Override
    public synchronized void close() throws IOException {
        if (writer != null) {
            BufferedWriter w = writer;
            writer = null;
            w.close();
        }
    }
}
