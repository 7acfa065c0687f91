package dev.frugal.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import java.lang.foreign.ValueLayout;

/** Helpers shared by the checkpoint tests: raw bytes of a tensor and bit-exact comparison. */
final class TestTensors {
    private TestTensors() {
    }

    /** The tensor's values as row-major native-order bytes (copied through a contiguous tensor). */
    static byte[] bytes(Tensor t) {
        try (Tensor c = t.contiguous()) {
            return c.segment().asSlice(0, c.numel() * c.dtype().byteSize()).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** Asserts same dtype, shape and bit pattern of every element. */
    static void assertSameTensor(String name, Tensor expected, Tensor actual) {
        assertEquals(expected.dtype(), actual.dtype(), name + ": dtype");
        assertEquals(expected.shape(), actual.shape(), name + ": shape");
        assertArrayEquals(bytes(expected), bytes(actual), name + ": bytes");
    }

    /** A small tensor of {@code dtype} with varied values (negative, fractional, large where the type allows). */
    static Tensor sample(DType dtype, int... dims) {
        Tensor t = Tensor.zeros(dev.frugal.runtime.Shape.of(dims), dtype);
        long n = t.numel();
        for (long i = 0; i < n; i++) {
            double v = switch (dtype) {
                case F64, F32, F16, BF16 -> (i - n / 2.0) * 1.375 + (i % 3 == 0 ? 0.1 : 0);
                case I64 -> i % 2 == 0 ? -(1L << 40) - i : i;
                case I32 -> i % 2 == 0 ? -100_000 - i : i;
                case U8 -> (i * 37) % 256;
                case BOOL -> i % 3 == 0 ? 1 : 0;
            };
            t.setFlat(i, v);
        }
        return t;
    }
}
