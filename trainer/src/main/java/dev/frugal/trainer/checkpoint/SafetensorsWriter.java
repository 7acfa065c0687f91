package dev.frugal.trainer.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Writes tensors in the safetensors format, byte for byte as the reference implementation does
 * for the same tensor order: compact JSON with {@code __metadata__} first (omitted when empty),
 * entries as {@code {"dtype":..,"shape":[..],"data_offsets":[begin,end]}}, the header padded with
 * spaces to a multiple of 8 bytes, then the data little-endian and row-major.
 *
 * <p>Tensors are written in the order given (the reference sorts by dtype alignment, then name;
 * readers do not care). Non-contiguous tensors (permuted, sliced, broadcast views) are written
 * as their row-major values; nothing is copied whole, data goes out through a small staging
 * buffer.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Staging buffer size: large enough for efficient writes, small next to any model. */
    private static final int STAGING_BYTES = 1 << 20;

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} to {@code file} atomically ({@link AtomicFiles#write}): either the
     * whole new file is there afterwards, or the old one (if any) is untouched.
     *
     * @param file the file to create or replace
     * @param tensors the tensors, in the order they are to appear; names must not be {@code __metadata__}
     * @param metadata free-form string pairs stored as {@code __metadata__}; may be empty
     * @throws IOException if writing fails (nothing is left behind)
     * @throws IllegalArgumentException for a reserved name, or a header larger than readers accept
     * @throws IllegalStateException if a tensor is closed
     */
    public static void write(Path file, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(file, channel -> writeData(channel, header, tensors));
    }

    /**
     * Writes {@code tensors} in the safetensors format to {@code out}, from its current position.
     * The caller owns the channel and makes the write durable if it needs to.
     *
     * @param out where the bytes go
     * @param tensors the tensors, in the order they are to appear; names must not be {@code __metadata__}
     * @param metadata free-form string pairs stored as {@code __metadata__}; may be empty
     * @throws IOException if the channel fails
     * @throws IllegalArgumentException for a reserved name, or a header larger than readers accept
     * @throws IllegalStateException if a tensor is closed
     */
    public static void write(WritableByteChannel out, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        writeData(out, header(tensors, metadata), tensors);
    }

    /**
     * The size of the file {@link #write} produces.
     *
     * @param tensors the tensors to be written
     * @param metadata the metadata to be written
     * @return bytes in all: the 8-byte length prefix, the padded header and the data
     */
    public static long fileSize(SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
        long data = 0;
        for (Tensor t : tensors.values()) {
            data += byteLength(t);
        }
        return 8 + header(tensors, metadata).length + data;
    }

    /** The padded UTF-8 JSON header (without the 8-byte length prefix). */
    static byte[] header(SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsFormat.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long begin = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.equals(SafetensorsFormat.METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name '" + name + "' is reserved for the metadata map");
            }
            Tensor t = e.getValue();
            if (t.isClosed()) {
                throw new IllegalStateException("tensor '" + name + "' (" + t + ") is closed and cannot be saved");
            }
            long end = begin + byteLength(t);
            ObjectNode entry = root.putObject(name);
            entry.put("dtype", SafetensorsFormat.dtypeName(t.dtype()));
            ArrayNode shape = entry.putArray("shape");
            Arrays.stream(t.shape().dims()).forEach(shape::add);
            entry.putArray("data_offsets").add(begin).add(end);
            begin = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            // an in-memory tree of strings and numbers always serialises
            throw new IllegalStateException("could not serialise a safetensors header", e);
        }
        if (json.length > SafetensorsFormat.MAX_HEADER_BYTES - 7) {
            // readers (this one and the reference) refuse such headers, so writing one would lose the data
            throw new IllegalArgumentException("safetensors header of " + tensors.size() + " tensors is " + json.length
                    + " bytes; readers accept at most " + SafetensorsFormat.MAX_HEADER_BYTES + " (use fewer or shorter names, or several files)");
        }
        int padded = (json.length + 7) & ~7;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static long byteLength(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }

    private static void writeData(WritableByteChannel out, byte[] header, SequencedMap<String, Tensor> tensors) throws IOException {
        ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        writeFully(out, prefix);
        writeFully(out, ByteBuffer.wrap(header));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(STAGING_BYTES, 64);
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                writeTensor(out, e.getKey(), e.getValue(), staging);
            }
        }
    }

    private static void writeTensor(WritableByteChannel out, String name, Tensor t, MemorySegment staging) throws IOException {
        if (t.isClosed()) {
            throw new IllegalStateException("tensor '" + name + "' was closed while it was being saved");
        }
        DType dtype = t.dtype();
        ValueLayout memory = dtype.storageLayout();
        ValueLayout file = SafetensorsFormat.fileLayout(dtype);
        long n = t.numel();
        long size = dtype.byteSize();
        long perChunk = STAGING_BYTES / dtype.byteSize();
        boolean contiguous = t.isContiguous();
        for (long done = 0; done < n; ) {
            // segment() re-checks that the tensor is still open before each chunk
            MemorySegment src = t.segment();
            long count = Math.min(perChunk, n - done);
            if (contiguous) {
                // copy() with layouts of different byte order swaps bytes on a big-endian host;
                // its offsets are in bytes
                MemorySegment.copy(src, memory, (t.offset() + done) * size, staging, file, 0, count);
            } else {
                for (long i = 0; i < count; i++) {
                    MemorySegment.copy(src, memory, t.storageIndex(done + i) * size, staging, file, i * size, 1);
                }
            }
            writeFully(out, staging.asSlice(0, count * size).asByteBuffer());
            done += count;
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
