package dev.frugal.trainer.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Reads safetensors files, trusting nothing in them. Opening a file reads and validates the
 * whole header before any data is touched: the header length must be within
 * [{@value SafetensorsFormat#MIN_HEADER_BYTES}, {@value SafetensorsFormat#MAX_HEADER_BYTES}] and
 * fit in the file; the header must be a UTF-8 JSON object without duplicate keys; every entry
 * needs a known dtype, a shape of non-negative integers and two data offsets whose difference is
 * numel times the dtype size; and the entries' data must tile the data buffer exactly, without
 * overlaps or gaps, to the last byte of the file (as the format requires). Every error is a
 * {@link SafetensorsFormatException} naming the file, the tensor and what was expected.
 */
public final class SafetensorsReader {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private SafetensorsReader() {
    }

    /**
     * Opens and validates {@code file}; tensors are read on demand from the returned view.
     *
     * @param file a safetensors file
     * @return an open view the caller closes
     * @throws SafetensorsFormatException if the file is malformed
     * @throws IOException if it cannot be read
     */
    public static SafetensorsFile open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size < 8) {
                throw new SafetensorsFormatException(file, "file is " + size + " bytes; expected at least 8 (the header length) and a header");
            }
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, prefix, 0, file, "the header length");
            long headerLength = prefix.getLong(0);
            // an unsigned 64-bit length above 2^63 reads as negative: out of bounds either way
            if (headerLength < SafetensorsFormat.MIN_HEADER_BYTES || headerLength > SafetensorsFormat.MAX_HEADER_BYTES) {
                throw new SafetensorsFormatException(file, "header length " + Long.toUnsignedString(headerLength) + " is out of bounds; expected "
                        + SafetensorsFormat.MIN_HEADER_BYTES + " to " + SafetensorsFormat.MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > size - 8) {
                throw new SafetensorsFormatException(file, "header length " + headerLength + " exceeds the file: only " + (size - 8)
                        + " bytes follow the length (truncated file?)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8, file, "the header");
            long dataStart = 8 + headerLength;
            Header header = parseHeader(file, headerBytes.flip(), size - dataStart);
            return new SafetensorsFile(file, channel, dataStart, header.entries, header.metadata);
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Reads every tensor of {@code file} into new tensors the caller owns.
     *
     * @param file a safetensors file
     * @return the tensors in header order, and the metadata; close it to free the tensors
     * @throws SafetensorsFormatException if the file is malformed
     * @throws IOException if it cannot be read
     */
    public static NamedTensors read(Path file) throws IOException {
        try (SafetensorsFile f = open(file)) {
            return f.loadAll();
        }
    }

    private record Header(SequencedMap<String, SafetensorsEntry> entries, Map<String, String> metadata) {
    }

    private static Header parseHeader(Path file, ByteBuffer bytes, long bufferLength) throws SafetensorsFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsFormatException(file, "header is not valid UTF-8 (" + e + ")", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsFormatException(file, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsFormatException(file, "header is " + (root == null ? "empty" : "a JSON " + root.getNodeType())
                    + "; expected a JSON object of tensor entries");
        }
        SequencedMap<String, SafetensorsEntry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(SafetensorsFormat.METADATA_KEY)) {
                parseMetadata(file, field.getValue(), metadata);
            } else {
                entries.put(field.getKey(), parseEntry(file, field.getKey(), field.getValue(), bufferLength));
            }
        }
        checkTiling(file, entries, bufferLength);
        return new Header(entries, metadata);
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> out) throws SafetensorsFormatException {
        if (!node.isObject()) {
            throw new SafetensorsFormatException(file, SafetensorsFormat.METADATA_KEY + " is a JSON " + node.getNodeType()
                    + "; expected an object of string values");
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(file, SafetensorsFormat.METADATA_KEY + " value of '" + e.getKey() + "' is "
                        + e.getValue() + "; expected a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static SafetensorsEntry parseEntry(Path file, String name, JsonNode node, long bufferLength) throws SafetensorsFormatException {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw new SafetensorsFormatException(file, where + " is a JSON " + node.getNodeType() + "; expected an object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsFormatException(file, where + " has dtype " + dtypeNode + "; expected one of " + SafetensorsFormat.knownDtypeNames());
        }
        DType dtype = SafetensorsFormat.dtypeOf(dtypeNode.textValue());
        if (dtype == null) {
            throw new SafetensorsFormatException(file, where + " has unknown or unsupported dtype '" + dtypeNode.textValue()
                    + "'; expected one of " + SafetensorsFormat.knownDtypeNames());
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new SafetensorsFormatException(file, where + " has shape " + shapeNode + "; expected an array of non-negative integers");
        }
        int[] dims = new int[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 0) {
                throw new SafetensorsFormatException(file, where + " has shape " + shapeNode + "; dimension " + i + " is " + d
                        + ", expected an integer from 0 to " + Integer.MAX_VALUE);
            }
            dims[i] = d.intValue();
            try {
                numel = Math.multiplyExact(numel, dims[i]);
            } catch (ArithmeticException e) {
                throw new SafetensorsFormatException(file, where + " has shape " + shapeNode + " with more than 2^63 elements");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !isNonNegativeLong(offsets.get(0)) || !isNonNegativeLong(offsets.get(1))) {
            throw new SafetensorsFormatException(file, where + " has data_offsets " + offsets + "; expected [begin, end] with 0 <= begin <= end");
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (end < begin) {
            throw new SafetensorsFormatException(file, where + " has data_offsets " + offsets + " with end before begin; expected begin <= end");
        }
        if (end > bufferLength) {
            throw new SafetensorsFormatException(file, where + " has data_offsets " + offsets + " beyond the end of the file; the data buffer is "
                    + bufferLength + " bytes (truncated file?)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsFormatException(file, where + " of shape " + shapeNode + " is too large to address");
        }
        if (end - begin != expected) {
            throw new SafetensorsFormatException(file, where + " has data_offsets " + offsets + " spanning " + (end - begin) + " bytes; expected "
                    + expected + " (" + numel + " elements of " + dtype.name() + ", " + dtype.byteSize() + " bytes each)");
        }
        return new SafetensorsEntry(name, dtype, Shape.of(dims), begin, end);
    }

    private static boolean isNonNegativeLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong() && n.longValue() >= 0;
    }

    /** The format requires the entries to cover the buffer exactly: no overlap (aliasing), no gap (hidden data). */
    private static void checkTiling(Path file, SequencedMap<String, SafetensorsEntry> entries, long bufferLength) throws SafetensorsFormatException {
        List<SafetensorsEntry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(SafetensorsEntry::begin).thenComparingLong(SafetensorsEntry::end));
        long expected = 0;
        SafetensorsEntry previous = null;
        for (SafetensorsEntry e : sorted) {
            if (e.begin() < expected) {
                throw new SafetensorsFormatException(file, "tensor '" + e.name() + "' data [" + e.begin() + ", " + e.end() + ") overlaps tensor '"
                        + previous.name() + "' [" + previous.begin() + ", " + previous.end() + "); expected tensors not to share bytes");
            }
            if (e.begin() > expected) {
                throw new SafetensorsFormatException(file, "tensor '" + e.name() + "' data begins at " + e.begin() + "; expected " + expected
                        + " (the data buffer has a gap of " + (e.begin() - expected) + " bytes "
                        + (previous == null ? "at its start" : "after tensor '" + previous.name() + "'") + ")");
            }
            expected = e.end();
            previous = e;
        }
        if (expected != bufferLength) {
            throw new SafetensorsFormatException(file, "the tensors cover " + expected + " bytes of data but the file holds " + bufferLength
                    + " after the header; expected no trailing bytes");
        }
    }

    /** Reads until {@code buffer} is full, failing with the file and what was being read when the file ends first. */
    static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path file, String what) throws IOException {
        long pos = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, pos);
            if (n < 0) {
                throw new SafetensorsFormatException(file, "file ended at byte " + pos + " while reading " + what + "; expected "
                        + buffer.remaining() + " more bytes (truncated file?)");
            }
            pos += n;
        }
    }
}
