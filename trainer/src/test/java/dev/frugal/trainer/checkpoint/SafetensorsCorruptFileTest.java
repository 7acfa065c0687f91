package dev.frugal.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of malformed file is rejected with an error naming the file, the tensor and what was expected. */
class SafetensorsCorruptFileTest {
    @TempDir
    Path dir;

    private Path file(long headerLength, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header).put(data);
        Path f = dir.resolve("corrupt.safetensors");
        Files.write(f, b.array());
        return f;
    }

    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, new byte[dataBytes]);
    }

    /** Opens {@code f}, expects a format error, checks it names the file and contains every fragment. */
    private static void assertRejected(Path f, String... fragments) {
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsReader.read(f).close());
        assertEquals(f, e.file());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        for (String s : fragments) {
            assertTrue(e.getMessage().contains(s), "message '" + e.getMessage() + "' should contain '" + s + "'");
        }
    }

    private static final String A_F32_2 = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        Path f = dir.resolve("tiny.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        assertRejected(f, "3 bytes", "expected at least 8");
    }

    @Test
    void emptyFile() throws IOException {
        Path f = dir.resolve("empty.safetensors");
        Files.write(f, new byte[0]);
        assertRejected(f, "0 bytes");
    }

    @Test
    void hugeHeaderLength() throws IOException {
        assertRejected(file(1L << 40, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]), "header length 1099511627776", "out of bounds", "100000000");
    }

    @Test
    void headerLengthWithTheTopBitSetIsReadAsUnsigned() throws IOException {
        assertRejected(file(-1L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]), "18446744073709551615", "out of bounds");
    }

    @Test
    void headerLengthBelowTheMinimum() throws IOException {
        assertRejected(file(1, "{".getBytes(StandardCharsets.UTF_8), new byte[0]), "header length 1", "expected 2 to");
    }

    @Test
    void headerLongerThanTheFile() throws IOException {
        assertRejected(file(500, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]), "header length 500 exceeds the file", "truncated");
    }

    @Test
    void truncatedFileWithItsDataCutOff() throws IOException {
        SequencedMap<String, Tensor> map = new LinkedHashMap<>();
        try (Tensor t = TestTensors.sample(dev.frugal.runtime.DType.F32, 4, 4)) {
            map.put("w", t);
            Path f = dir.resolve("cut.safetensors");
            SafetensorsWriter.write(f, map, Map.of());
            byte[] all = Files.readAllBytes(f);
            Files.write(f, Arrays.copyOf(all, all.length - 10));
            assertRejected(f, "tensor 'w'", "beyond the end of the file", "truncated");
        }
    }

    @Test
    void invalidJson() throws IOException {
        assertRejected(file("{\"a\": {\"dtype\": ", 0), "not valid JSON");
    }

    @Test
    void trailingGarbageAfterTheJsonObject() throws IOException {
        assertRejected(file("{} x", 0), "not valid JSON");
    }

    @Test
    void jsonThatIsNotAnObject() throws IOException {
        assertRejected(file("[1, 2]", 0), "ARRAY", "expected a JSON object");
    }

    @Test
    void headerThatIsNotUtf8() throws IOException {
        byte[] h = {'{', '"', (byte) 0xff, (byte) 0xfe, '"', ':', '1', '}'};
        assertRejected(file(h.length, h, new byte[0]), "not valid UTF-8");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(file("{\"q\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "tensor 'q'", "'I8'", "expected one of F64, F32");
    }

    @Test
    void missingDtype() throws IOException {
        assertRejected(file("{\"q\":{\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "tensor 'q'", "dtype null", "expected one of");
    }

    @Test
    void negativeShape() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "tensor 'a'", "dimension 0 is -2",
                "expected an integer from 0");
    }

    @Test
    void fractionalShape() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8), "tensor 'a'", "dimension 0 is 2.5");
    }

    @Test
    void entryThatIsNotAnObject() throws IOException {
        assertRejected(file("{\"a\":[1,2]}", 0), "tensor 'a'", "expected an object with dtype, shape and data_offsets");
    }

    @Test
    void overlappingOffsets() throws IOException {
        assertRejected(file("{" + A_F32_2 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "tensor 'b'",
                "overlaps tensor 'a'", "expected tensors not to share bytes");
    }

    @Test
    void identicalOffsetsAliasingOneBuffer() throws IOException {
        assertRejected(file("{" + A_F32_2 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "overlaps tensor");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12),
                "tensor 'b'", "begins at 8; expected 4", "gap of 4 bytes after tensor 'a'");
    }

    @Test
    void offsetsBeyondTheFile() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", 8), "tensor 'a'", "beyond the end of the file",
                "buffer is 8 bytes");
    }

    @Test
    void lengthDisagreeingWithTheShape() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "tensor 'a'", "spanning 8 bytes; expected 12",
                "3 elements of F32");
    }

    @Test
    void endBeforeBegin() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8), "tensor 'a'", "end before begin");
    }

    @Test
    void malformedOffsets() throws IOException {
        assertRejected(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8), "tensor 'a'", "expected [begin, end]");
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws IOException {
        assertRejected(file("{" + A_F32_2 + "}", 12), "cover 8 bytes", "holds 12", "expected no trailing bytes");
    }

    @Test
    void duplicateNames() throws IOException {
        assertRejected(file("{" + A_F32_2 + "," + A_F32_2 + "}", 8), "Duplicate field 'a'");
    }

    @Test
    void metadataValueThatIsNotAString() throws IOException {
        assertRejected(file("{\"__metadata__\":{\"n\":3}," + A_F32_2 + "}", 8), "'n'", "expected a string");
    }

    @Test
    void booleanByteOtherThanZeroOrOne() throws IOException {
        byte[] h = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}".getBytes(StandardCharsets.UTF_8);
        assertRejected(file(h.length, h, new byte[] {1, 7}), "tensor 'm'", "byte 7 at element 1", "expected 0 or 1");
    }

    @Test
    void wellFormedEdgeCasesAreAccepted() throws IOException {
        // only metadata, no tensors, header padded with spaces as the reference does
        try (NamedTensors t = SafetensorsReader.read(file("{\"__metadata__\":{\"a\":\"b\"}}   ", 0))) {
            assertTrue(t.tensors().isEmpty());
            assertEquals(Map.of("a", "b"), t.metadata());
        }
        // tensors listed out of offset order, and an empty tensor sharing an offset
        try (NamedTensors t = SafetensorsReader.read(file("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[8,9]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[8,8]}," + A_F32_2 + "}", 9))) {
            assertEquals(3, t.tensors().size());
        }
    }
}
