package dev.frugal.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdxReaderTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"images-idx3-ubyte", "images-idx3-ubyte.gz"})
    void imageFileRoundTripsRawAndGzipped(String name) throws IOException {
        byte[] data = IdxTestFiles.bytes(3 * 4 * 5, 1);
        Path file = IdxTestFiles.write(dir, name, IdxTestFiles.idx(0x08, new int[] {3, 4, 5}, data));
        try (IdxFile idx = IdxReader.read(file, IdxFile.TYPE_U8, 3)) {
            assertArrayEquals(new int[] {3, 4, 5}, idx.dims());
            assertEquals(60, idx.count());
            assertEquals(0x08, idx.type());
            assertArrayEquals(data, idx.data().toArray(ValueLayout.JAVA_BYTE));
            assertTrue(idx.data().isNative(), "data lives off-heap");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"labels-idx1-ubyte", "labels-idx1-ubyte.gz"})
    void labelFileRoundTripsRawAndGzipped(String name) throws IOException {
        byte[] data = {0, 9, 3, 3, 7};
        Path file = IdxTestFiles.write(dir, name, IdxTestFiles.idx(0x08, new int[] {5}, data));
        try (IdxFile idx = IdxReader.read(file)) {
            assertArrayEquals(new int[] {5}, idx.dims());
            assertArrayEquals(data, idx.data().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void emptyDimensionIsAValidFile() throws IOException {
        Path file = IdxTestFiles.write(dir, "empty", IdxTestFiles.idx(0x08, new int[] {0, 28, 28}, new byte[0]));
        try (IdxFile idx = IdxReader.read(file, IdxFile.TYPE_U8, 3)) {
            assertEquals(0, idx.count());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"t", "t.gz"})
    void truncatedDataNamesFileAndOffset(String name) throws IOException {
        byte[] full = IdxTestFiles.idx(0x08, new int[] {3, 2, 2}, IdxTestFiles.bytes(12, 2));
        // 16 header bytes + 10 of 12 data bytes
        Path file = IdxTestFiles.write(dir, name, Arrays.copyOf(full, 26));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertEquals(26, e.offset());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("byte offset 26"), e.getMessage());
        assertTrue(e.getMessage().contains("10 of 12 data bytes"), e.getMessage());
    }

    @Test
    void hugeRawHeaderFailsBeforeAllocating() throws IOException {
        Path file = IdxTestFiles.write(dir, "huge", IdxTestFiles.idx(0x08, new int[] {1 << 30, 1 << 30, 4}, new byte[3]));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertEquals(19, e.offset());
        assertTrue(e.getMessage().contains("3 of 4611686018427387904 data bytes"), e.getMessage());
    }

    @Test
    void truncatedHeaderNamesTheMissingField() throws IOException {
        byte[] full = IdxTestFiles.idx(0x08, new int[] {3, 2, 2}, new byte[12]);
        Path file = IdxTestFiles.write(dir, "h", Arrays.copyOf(full, 6));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertEquals(6, e.offset());
        assertTrue(e.getMessage().contains("size of dimension 0"), e.getMessage());
    }

    @Test
    void cutGzipStreamIsReportedWithFileAndOffset() throws IOException {
        byte[] gz = IdxTestFiles.gzip(IdxTestFiles.idx(0x08, new int[] {100, 10, 10}, IdxTestFiles.bytes(10_000, 3)));
        Path file = dir.resolve("cut.gz");
        Files.write(file, Arrays.copyOf(gz, gz.length / 2));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("byte offset"), e.getMessage());
        assertTrue(e.offset() > 0 && e.offset() <= 10_016, "offset " + e.offset());
    }

    @Test
    void corruptGzipBodyIsReported() throws IOException {
        byte[] gz = IdxTestFiles.gzip(IdxTestFiles.idx(0x08, new int[] {100, 10, 10}, IdxTestFiles.bytes(10_000, 3)));
        for (int i = gz.length / 2; i < gz.length - 8; i += 7) {
            gz[i] ^= (byte) 0x5a;
        }
        Path file = dir.resolve("bad.gz");
        Files.write(file, gz);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void badMagicIsRejectedAtOffsetZero() throws IOException {
        byte[] bytes = IdxTestFiles.idx(0x08, new int[] {2}, new byte[2]);
        bytes[1] = 0x01;
        Path file = IdxTestFiles.write(dir, "m", bytes);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("magic"), e.getMessage());
    }

    @Test
    void wrongTypeOrRankIsNamed() throws IOException {
        Path labels = IdxTestFiles.write(dir, "l", IdxTestFiles.idx(0x08, new int[] {2}, new byte[2]));
        IdxFormatException rank = assertThrows(IdxFormatException.class, () -> IdxReader.read(labels, 0x08, 3));
        assertEquals(3, rank.offset());
        assertTrue(rank.getMessage().contains("dimension count 1") && rank.getMessage().contains("expected 3"),
                rank.getMessage());
        Path signed = IdxTestFiles.write(dir, "s", IdxTestFiles.idx(0x09, new int[] {2}, new byte[2]));
        IdxFormatException type = assertThrows(IdxFormatException.class, () -> IdxReader.read(signed, 0x08, 1));
        assertEquals(2, type.offset());
        assertTrue(type.getMessage().contains("expected 0x08"), type.getMessage());
        Path floats = IdxTestFiles.write(dir, "f", IdxTestFiles.idx(0x0D, new int[] {1}, new byte[4]));
        IdxFormatException unsupported = assertThrows(IdxFormatException.class, () -> IdxReader.read(floats));
        assertTrue(unsupported.getMessage().contains("float") && unsupported.getMessage().contains("not supported"),
                unsupported.getMessage());
        Path unknown = IdxTestFiles.write(dir, "u", IdxTestFiles.idx(0x42, new int[] {1}, new byte[1]));
        assertTrue(assertThrows(IdxFormatException.class, () -> IdxReader.read(unknown))
                .getMessage().contains("unknown type byte 0x42"));
    }

    @Test
    void negativeDimensionAndBadRankAreRejected() throws IOException {
        Path neg = IdxTestFiles.write(dir, "n", IdxTestFiles.idx(0x08, new int[] {2, -1}, new byte[0]));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(neg));
        assertEquals(8, e.offset());
        Path zeroRank = IdxTestFiles.write(dir, "z", new byte[] {0, 0, 8, 0});
        assertEquals(3, assertThrows(IdxFormatException.class, () -> IdxReader.read(zeroRank)).offset());
    }

    @Test
    void trailingBytesAreRejected() throws IOException {
        byte[] ok = IdxTestFiles.idx(0x08, new int[] {2}, new byte[2]);
        Path file = IdxTestFiles.write(dir, "t.gz", Arrays.copyOf(ok, ok.length + 3));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> IdxReader.read(file));
        assertEquals(ok.length, e.offset());
        assertTrue(e.getMessage().contains("trailing"), e.getMessage());
    }

    @Test
    void datasetChecksThatImagesAndLabelsAgree() throws IOException {
        Path images = IdxTestFiles.write(dir, "i.gz", IdxTestFiles.idx(0x08, new int[] {3, 2, 2}, new byte[12]));
        Path twoLabels = IdxTestFiles.write(dir, "l2", IdxTestFiles.idx(0x08, new int[] {2}, new byte[2]));
        IOException count = assertThrows(IOException.class, () -> ImageDataset.fromIdx(images, twoLabels, 10));
        assertTrue(count.getMessage().contains("3 images") && count.getMessage().contains("2 labels"),
                count.getMessage());
        Path badLabel = IdxTestFiles.write(dir, "l3", IdxTestFiles.idx(0x08, new int[] {3}, new byte[] {1, 10, 2}));
        IdxFormatException label = assertThrows(IdxFormatException.class,
                () -> ImageDataset.fromIdx(images, badLabel, 10));
        assertEquals(9, label.offset());
        assertTrue(label.getMessage().contains("label 10 of sample 1"), label.getMessage());
        Path goodLabels = IdxTestFiles.write(dir, "l4", IdxTestFiles.idx(0x08, new int[] {3}, new byte[] {1, 9, 2}));
        try (ImageDataset ds = ImageDataset.fromIdx(images, goodLabels, 10)) {
            assertEquals(3, ds.count());
            assertEquals(2, ds.height());
            assertEquals(9, ds.label(1));
        }
    }
}
