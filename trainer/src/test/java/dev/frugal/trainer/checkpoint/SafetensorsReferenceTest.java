package dev.frugal.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Agreement with the reference implementation: {@code checkpoint/reference.safetensors} was
 * written by Python's safetensors from torch tensors ({@code checkpoint/make_reference.py}).
 * Frugal reads its values, and writing the same tensors in the same order gives the same bytes.
 */
class SafetensorsReferenceTest {
    @TempDir
    Path dir;

    private Path reference() throws IOException {
        Path file = dir.resolve("reference.safetensors");
        try (InputStream in = getClass().getResourceAsStream("/checkpoint/reference.safetensors")) {
            if (in == null) {
                throw new IOException("test resource /checkpoint/reference.safetensors is missing");
            }
            Files.copy(in, file);
        }
        return file;
    }

    @Test
    void readsEveryValueOfTheReferenceFile() throws IOException {
        try (NamedTensors ref = SafetensorsReader.read(reference())) {
            assertEquals(Map.of("format", "pt"), ref.metadata());
            assertEquals(List.of("i64", "f64", "empty", "f32", "scalar", "i32", "bf16", "f16", "u8", "bool"), List.copyOf(ref.tensors().keySet()));
            assertArrayEquals(new double[] {1.5, -2.25, 1e300}, ref.get("f64").toDoubleArray());
            assertEquals(Shape.of(2, 3), ref.get("f32").shape());
            assertArrayEquals(new float[] {0f, 1f, -2.5f, 3.25f, 1e-30f, 7f}, ref.get("f32").toFloatArray());
            // fp16/bf16 hold the nearest representable values: 0.0001 -> 1.0001659e-4, 0.1 -> 0.10009765625
            assertArrayEquals(new double[] {0.5, -65504.0, 1.0001659393310547e-4}, ref.get("f16").toDoubleArray());
            assertArrayEquals(new double[] {1.0, -3.0, 0.10009765625, 256.0}, ref.get("bf16").toDoubleArray());
            assertEquals(Shape.of(2, 2), ref.get("bf16").shape());
            assertArrayEquals(new long[] {-(1L << 62), 0, (1L << 53) + 1}, ref.get("i64").toLongArray());
            assertArrayEquals(new long[] {-7, Integer.MAX_VALUE}, ref.get("i32").toLongArray());
            assertEquals(Shape.of(2, 1), ref.get("i32").shape());
            assertArrayEquals(new long[] {0, 1, 255}, ref.get("u8").toLongArray());
            assertArrayEquals(new long[] {1, 0, 1, 1}, ref.get("bool").toLongArray());
            assertEquals(DType.BOOL, ref.get("bool").dtype());
            assertEquals(Shape.scalar(), ref.get("scalar").shape());
            assertEquals(42.0, ref.get("scalar").item());
            assertEquals(Shape.of(0, 3), ref.get("empty").shape());
        }
    }

    @Test
    void writingTheSameTensorsGivesTheReferenceBytes() throws IOException {
        Path reference = reference();
        Path mine = dir.resolve("mine.safetensors");
        try (NamedTensors ref = SafetensorsReader.read(reference)) {
            SafetensorsWriter.write(mine, ref.tensors(), ref.metadata());
        }
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(mine));
    }

    @Test
    void writingFreshlyBuiltTensorsGivesTheReferenceBytes() throws IOException {
        // built from values, not read back, so a reader bug cannot hide a writer bug
        java.util.SequencedMap<String, Tensor> t = new java.util.LinkedHashMap<>();
        t.put("i64", Tensor.ofLongs(new long[] {-(1L << 62), 0, (1L << 53) + 1}, 3));
        t.put("f64", Tensor.of(new double[] {1.5, -2.25, 1e300}, DType.F64, 3));
        t.put("empty", Tensor.zeros(Shape.of(0, 3), DType.F32));
        t.put("f32", Tensor.of(new float[] {0f, 1f, -2.5f, 3.25f, 1e-30f, 7f}, 2, 3));
        t.put("scalar", Tensor.scalar(42, DType.F32));
        t.put("i32", Tensor.ofInts(new int[] {-7, Integer.MAX_VALUE}, 2, 1));
        t.put("bf16", Tensor.of(new double[] {1.0, -3.0, 0.1, 256.0}, DType.BF16, 2, 2));
        t.put("f16", Tensor.of(new double[] {0.5, -65504.0, 0.0001}, DType.F16, 3));
        t.put("u8", Tensor.of(new double[] {0, 1, 255}, DType.U8, 3));
        t.put("bool", Tensor.of(new double[] {1, 0, 1, 1}, DType.BOOL, 4));
        Path mine = dir.resolve("built.safetensors");
        try {
            SafetensorsWriter.write(mine, t, Map.of("format", "pt"));
        } finally {
            t.values().forEach(Tensor::close);
        }
        assertArrayEquals(Files.readAllBytes(reference()), Files.readAllBytes(mine));
    }
}
