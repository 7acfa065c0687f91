package dev.frugal.trainer.checkpoint;

import static dev.frugal.trainer.checkpoint.TestTensors.assertSameTensor;
import static dev.frugal.trainer.checkpoint.TestTensors.sample;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Writing then reading gives back the same tensors, bit for bit, for every dtype and layout. */
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(DType.class)
    void everyDtypeRoundTripsBitExactly(DType dtype) throws IOException {
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("matrix", sample(dtype, 3, 5));
        tensors.put("scalar", sample(dtype));
        tensors.put("empty", sample(dtype, 0, 4));
        tensors.put("cube", sample(dtype, 2, 3, 4));
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, tensors, Map.of("k", "v"));
        assertEquals(SafetensorsWriter.fileSize(tensors, Map.of("k", "v")), Files.size(file));
        try (NamedTensors back = SafetensorsReader.read(file)) {
            assertEquals(List.copyOf(tensors.keySet()), List.copyOf(back.tensors().keySet()), "order is kept");
            assertEquals(Map.of("k", "v"), back.metadata());
            for (String name : tensors.keySet()) {
                assertSameTensor(name, tensors.get(name), back.get(name));
            }
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void nonContiguousViewsAreWrittenAsTheirRowMajorValues(DType dtype) throws IOException {
        try (Tensor base = sample(dtype, 4, 6)) {
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("transposed", base.permute(1, 0));
            tensors.put("strided", base.slice(1, 1, 6, 2));
            tensors.put("broadcast", base.slice(0, 2, 3, 1).expand(Shape.of(3, 6)));
            for (Tensor t : tensors.values()) {
                assertFalse(t.isContiguous(), "the test needs non-contiguous views");
            }
            Path file = dir.resolve("views.safetensors");
            SafetensorsWriter.write(file, tensors, Map.of());
            try (NamedTensors back = SafetensorsReader.read(file)) {
                for (String name : tensors.keySet()) {
                    assertSameTensor(name, tensors.get(name), back.get(name));
                    assertTrue(back.get(name).isContiguous());
                }
            }
        }
    }

    @Test
    void headerIsPaddedWithSpacesToEightBytesAndOmitsEmptyMetadata() throws IOException {
        try (Tensor t = Tensor.of(new float[] {1, 2, 3}, 3)) {
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("x", t);
            Path file = dir.resolve("x.safetensors");
            SafetensorsWriter.write(file, tensors, Map.of());
            byte[] all = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, n % 8);
            String header = new String(all, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
            assertEquals("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", header.stripTrailing());
            assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '));
            assertEquals(8 + n + 12, all.length);
        }
    }

    @Test
    void manyTensorsKeepTheirOrderAndSurviveLargerThanTheStagingBuffer() throws IOException {
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String name = "layer" + (19 - i) + ".weight";
            names.add(name);
            tensors.put(name, sample(DType.F32, 3, i + 1));
        }
        // more than the 1 MiB staging buffer, and not a multiple of it
        tensors.put("big", sample(DType.F64, 300_001));
        names.add("big");
        Path file = dir.resolve("many.safetensors");
        try {
            SafetensorsWriter.write(file, tensors, Map.of());
            try (SafetensorsFile f = SafetensorsReader.open(file)) {
                assertEquals(names, List.copyOf(f.entries().keySet()));
                try (Tensor big = f.load("big")) {
                    assertSameTensor("big", tensors.get("big"), big);
                }
            }
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    @Test
    void reservedNameAndClosedTensorsAreRejectedBeforeAnythingIsWritten() {
        Path file = dir.resolve("bad.safetensors");
        try (Tensor t = Tensor.of(new float[] {1}, 1)) {
            SequencedMap<String, Tensor> reserved = new LinkedHashMap<>();
            reserved.put("__metadata__", t);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, reserved, Map.of()));
            assertTrue(e.getMessage().contains("reserved"), e.getMessage());
        }
        Tensor closed = Tensor.of(new float[] {1}, 1);
        closed.close();
        SequencedMap<String, Tensor> map = new LinkedHashMap<>();
        map.put("w", closed);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, map, Map.of()));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("closed"), e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void loadingAnUnknownNameListsTheNamesThereAre() throws IOException {
        try (Tensor t = Tensor.of(new float[] {1}, 1)) {
            SequencedMap<String, Tensor> map = new LinkedHashMap<>();
            map.put("w", t);
            Path file = dir.resolve("one.safetensors");
            SafetensorsWriter.write(file, map, Map.of());
            try (SafetensorsFile f = SafetensorsReader.open(file)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.load("v"));
                assertTrue(e.getMessage().contains("'v'") && e.getMessage().contains("[w]"), e.getMessage());
            }
        }
    }
}
