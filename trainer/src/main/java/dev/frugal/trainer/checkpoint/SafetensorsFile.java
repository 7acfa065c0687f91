package dev.frugal.trainer.checkpoint;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * An open, validated safetensors file ({@link SafetensorsReader#open}). The header is held in
 * memory; tensor data is read from the file on each {@link #load} into a new tensor the caller
 * owns, so closing this view never invalidates a loaded tensor.
 *
 * <p>Data is read with positional reads rather than a memory mapping: a file truncated by someone
 * else while it is open then gives a clear error instead of a crash of the JVM (SIGBUS).
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Reads go through slices of at most this many bytes: a ByteBuffer view is limited to 2 GiB. */
    private static final long MAX_READ = 1L << 30;

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final SequencedMap<String, SafetensorsEntry> entries;
    private final Map<String, String> metadata;

    SafetensorsFile(Path file, FileChannel channel, long dataStart, SequencedMap<String, SafetensorsEntry> entries, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = Collections.unmodifiableSequencedMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /** The file this view reads. */
    public Path path() {
        return file;
    }

    /** Every tensor's header entry, in header order. */
    public SequencedMap<String, SafetensorsEntry> entries() {
        return entries;
    }

    /** The {@code __metadata__} map; empty when the file has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Reads one tensor into a new contiguous tensor that the caller owns and closes.
     *
     * @param name the tensor's name
     * @return the tensor, with the file's dtype and shape
     * @throws IllegalArgumentException naming the tensors there are when there is none called {@code name}
     * @throws SafetensorsFormatException if the file was truncated since it was opened, or a BOOL tensor holds a byte other than 0 or 1
     * @throws IOException if reading fails
     */
    public Tensor load(String name) throws IOException {
        SafetensorsEntry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(file + ": no tensor named '" + name + "'; the file has " + entries.keySet());
        }
        Tensor t = Tensor.zeros(e.shape(), e.dtype());
        try {
            MemorySegment dst = t.segment();
            long length = e.byteLength();
            for (long done = 0; done < length; ) {
                long chunk = Math.min(MAX_READ, length - done);
                SafetensorsReader.readFully(channel, dst.asSlice(done, chunk).asByteBuffer(), dataStart + e.begin() + done, file,
                        "tensor '" + name + "'");
                done += chunk;
            }
            long n = e.shape().numel();
            if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                toNativeOrder(dst, e.dtype(), n);
            }
            if (e.dtype() == DType.BOOL) {
                checkBooleans(dst, n, name);
            }
            return t;
        } catch (IOException | RuntimeException ex) {
            t.close();
            throw ex;
        }
    }

    /**
     * Reads every tensor, in header order, into new tensors the caller owns.
     *
     * @return the tensors and this file's metadata; close it to free the tensors
     * @throws IOException as {@link #load}; tensors read before the failure are freed
     */
    public NamedTensors loadAll() throws IOException {
        SequencedMap<String, Tensor> out = new LinkedHashMap<>();
        try {
            for (String name : entries.keySet()) {
                out.put(name, load(name));
            }
        } catch (IOException | RuntimeException e) {
            out.values().forEach(Tensor::close);
            throw e;
        }
        return new NamedTensors(out, metadata);
    }

    private static void toNativeOrder(MemorySegment seg, DType dtype, long n) {
        ValueLayout file = SafetensorsFormat.fileLayout(dtype);
        ValueLayout memory = dtype.storageLayout();
        if (file.byteSize() == 1) {
            return;
        }
        // swap element by element in place; only big-endian hosts get here
        byte[] element = new byte[(int) file.byteSize()];
        MemorySegment tmp = MemorySegment.ofArray(element);
        for (long i = 0; i < n; i++) {
            MemorySegment.copy(seg, file, i * file.byteSize(), tmp, memory, 0, 1);
            MemorySegment.copy(tmp, ValueLayout.JAVA_BYTE, 0, seg, ValueLayout.JAVA_BYTE, i * file.byteSize(), element.length);
        }
    }

    private void checkBooleans(MemorySegment seg, long n, String name) throws SafetensorsFormatException {
        for (long i = 0; i < n; i++) {
            byte b = seg.get(ValueLayout.JAVA_BYTE, i);
            if (b != 0 && b != 1) {
                throw new SafetensorsFormatException(file, "tensor '" + name + "' (BOOL) holds byte " + (b & 0xff) + " at element " + i
                        + "; expected 0 or 1");
            }
        }
    }

    /** Closes the file; tensors already loaded stay valid. */
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
