package dev.frugal.runtime;

import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Tensor}: factories, element access and rounding for every dtype, views that share
 * memory (permute, slice, expand, reshape) with their strides, copies, close semantics, and
 * argument errors that name the offending values.
 */
class TensorTest {

    @Test
    void factoriesAndMetadata() {
        try (Tensor z = Tensor.zeros(Shape.of(2, 3), DType.F32)) {
            assertEquals(Shape.of(2, 3), z.shape());
            assertEquals(DType.F32, z.dtype());
            assertEquals(Device.CPU, z.device());
            assertEquals(6, z.numel());
            assertArrayEquals(new long[] {3, 1}, z.strides());
            assertEquals(0, z.offset());
            assertTrue(z.isContiguous());
            assertFalse(z.isClosed());
            assertArrayEquals(new double[6], z.toDoubleArray());
            assertTrue(z.segment().byteSize() >= 24);
        }
        try (Tensor f = Tensor.full(Shape.of(2, 2), DType.I32, 7.9)) {
            assertArrayEquals(new long[] {7, 7, 7, 7}, f.toLongArray());
        }
        try (Tensor s = Tensor.scalar(2.5, DType.F64)) {
            assertEquals(0, s.shape().rank());
            assertEquals(2.5, s.item());
            assertEquals(2.5, s.getDouble());
        }
        try (Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2)) {
            assertEquals(4.0, t.getDouble(1, 1));
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
            assertEquals("f32[3,2] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]", t.toString());
        }
        try (Tensor t = Tensor.ofInts(new int[] {-1, 2, Integer.MAX_VALUE}, 3)) {
            assertEquals(DType.I32, t.dtype());
            assertArrayEquals(new long[] {-1, 2, Integer.MAX_VALUE}, t.toLongArray());
        }
        try (Tensor t = Tensor.ofLongs(new long[] {(1L << 53) + 1, Long.MIN_VALUE, 7, (1L << 62) + 3}, 2, 2)) {
            assertArrayEquals(new long[] {(1L << 53) + 1, Long.MIN_VALUE, 7, (1L << 62) + 3}, t.toLongArray(), "i64 values beyond 2^53 read back exactly");
            try (Tensor c = t.permute(1, 0).contiguous(); Tensor i32 = t.to(DType.I32); Tensor u8 = t.to(DType.U8); Tensor b = t.to(DType.BOOL)) {
                assertArrayEquals(new long[] {(1L << 53) + 1, 7, Long.MIN_VALUE, (1L << 62) + 3}, c.toLongArray(), "strided i64 copies are exact");
                assertArrayEquals(new long[] {1, 0, 7, 3}, i32.toLongArray(), "i64 -> i32 wraps the exact value");
                assertArrayEquals(new long[] {1, 0, 7, 3}, u8.toLongArray());
                assertArrayEquals(new long[] {1, 1, 1, 1}, b.toLongArray());
            }
        }
        try (Tensor h = Tensor.of(new double[] {Double.NaN, -0.0, 1.5, 65504}, DType.F16, 4); Tensor c = h.expand(Shape.of(2, 4)).contiguous()) {
            assertTrue(Double.isNaN(c.getDouble(1, 0)));
            assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(c.getDouble(1, 1)), "strided f16 copies keep the bits");
            assertEquals(65504, c.getDouble(1, 3));
        }
        try (Tensor t = Tensor.zeros(Shape.of(0, 3), DType.F32)) {
            assertEquals(0, t.numel());
            assertEquals(0, t.toDoubleArray().length);
        }
        try (Tensor big = Tensor.zeros(Shape.of(100), DType.F32)) {
            assertEquals("f32[100]", big.toString(), "large tensors print without their values");
        }
    }

    @Test
    void everyDtypeStoresWithItsRounding() {
        // value to store -> value expected back
        double[][] f64 = {{1.0 / 3, 1.0 / 3}, {-0.0, -0.0}, {1e300, 1e300}};
        double[][] f32 = {{1.0 / 3, (float) (1.0 / 3)}, {1e39, Double.POSITIVE_INFINITY}, {-2.5, -2.5}};
        double[][] f16 = {{1.0 / 3, Float16.round(1f / 3)}, {70000, Double.POSITIVE_INFINITY}, {1 + 0x1.0p-11, 1},
                {1 + 0x1.0p-11 + 0x1.0p-40, 1 + 0x1.0p-10}, {0x1.0p-24, 0x1.0p-24}, {0x1.0p-26, 0}};
        double[][] bf16 = {{1.0 / 3, BFloat16.round(1f / 3)}, {1 + 0x1.0p-8, 1}, {1 + 0x1.0p-8 + 0x1.0p-40, 1 + 0x1.0p-7}, {3e38, BFloat16.round(3e38f)}};
        double[][] i64 = {{-2.7, -2}, {2.7, 2}, {1e15, 1e15}};
        // out of range: truncated to 64 bits, then wrapped (the CAST op's rule)
        double[][] i32 = {{-2.7, -2}, {123456789, 123456789}, {1e10, (int) 10_000_000_000L}, {-3e9, (int) -3_000_000_000L}};
        double[][] u8 = {{200, 200}, {255, 255}, {256, 0}, {-1, 255}, {3.9, 3}, {300.7, 44}, {1e10, 10_000_000_000L & 0xff}};
        double[][] bool = {{0, 0}, {1, 1}, {0.5, 1}, {-3, 1}, {Double.NaN, 1}};
        check(DType.F64, f64);
        check(DType.F32, f32);
        check(DType.F16, f16);
        check(DType.BF16, bf16);
        check(DType.I64, i64);
        check(DType.I32, i32);
        check(DType.U8, u8);
        check(DType.BOOL, bool);
    }

    private static void check(DType t, double[][] cases) {
        try (Tensor x = Tensor.zeros(Shape.of(cases.length), t)) {
            for (int i = 0; i < cases.length; i++) {
                x.setDouble(cases[i][0], i);
            }
            for (int i = 0; i < cases.length; i++) {
                assertEquals(cases[i][1], x.getDouble(i), 0.0, t + " store of " + cases[i][0]);
                assertEquals(cases[i][1], x.getFlat(i), 0.0, t + " getFlat");
            }
            // the bytes are the dtype's storage format
            MemorySegment seg = x.segment();
            for (int i = 0; i < cases.length; i++) {
                double expected = cases[i][1];
                double raw = switch (t) {
                    case F64 -> seg.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
                    case F32 -> seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                    case F16 -> Float.float16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                    case BF16 -> Float.intBitsToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) << 16);
                    case I64 -> seg.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
                    case I32 -> seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                    case U8 -> seg.get(ValueLayout.JAVA_BYTE, i) & 0xff;
                    case BOOL -> seg.get(ValueLayout.JAVA_BYTE, i);
                };
                assertEquals(expected, raw, 0.0, t + " raw storage of element " + i);
            }
            // of(double[], dtype) rounds the same way, and to(dtype) converts with the same rules
            double[] in = new double[cases.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = cases[i][0];
            }
            try (Tensor y = Tensor.of(in, t, cases.length); Tensor src = Tensor.of(in, DType.F64, cases.length); Tensor z = src.to(t)) {
                assertArrayEquals(x.toDoubleArray(), y.toDoubleArray(), 0.0, t + " Tensor.of");
                assertArrayEquals(x.toDoubleArray(), z.toDoubleArray(), 0.0, t + " to()");
                assertEquals(t, z.dtype());
            }
        }
    }

    @Test
    void permuteSharesMemoryWithPermutedStrides() {
        try (Tensor base = Tensor.zeros(Shape.of(2, 3, 4), DType.F32)) {
            for (int i = 0; i < 24; i++) {
                base.setFlat(i, i);
            }
            Tensor p = base.permute(2, 0, 1);
            assertEquals(Shape.of(4, 2, 3), p.shape());
            assertArrayEquals(new long[] {1, 12, 4}, p.strides());
            assertFalse(p.isContiguous());
            for (int a = 0; a < 2; a++) {
                for (int b = 0; b < 3; b++) {
                    for (int c = 0; c < 4; c++) {
                        assertEquals(base.getDouble(a, b, c), p.getDouble(c, a, b));
                    }
                }
            }
            p.setDouble(-5, 3, 1, 2);
            assertEquals(-5, base.getDouble(1, 2, 3), "a write through the view reaches the base");
            Tensor neg = base.permute(-1, -3, -2);
            assertEquals(Shape.of(4, 2, 3), neg.shape());
            try (Tensor c = p.contiguous()) {
                assertTrue(c.isContiguous());
                assertArrayEquals(p.toDoubleArray(), c.toDoubleArray());
                c.setFlat(0, 99);
                assertEquals(0, base.getFlat(0), "contiguous() copies");
            }
        }
    }

    @Test
    void sliceWithStepAndOffset() {
        try (Tensor base = Tensor.zeros(Shape.of(4, 6), DType.I32)) {
            for (int i = 0; i < 24; i++) {
                base.setFlat(i, i);
            }
            Tensor s = base.slice(1, 1, 6, 2); // columns 1, 3, 5
            assertEquals(Shape.of(4, 3), s.shape());
            assertArrayEquals(new long[] {6, 2}, s.strides());
            assertEquals(1, s.offset());
            assertArrayEquals(new long[] {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}, s.toLongArray());
            Tensor rows = s.slice(0, 2, 4, 1);
            assertEquals(13, rows.getDouble(0, 0));
            assertEquals(13, rows.offset());
            rows.setDouble(-1, 1, 2);
            assertEquals(-1, base.getDouble(3, 5));
            Tensor empty = base.slice(-1, 2, 2, 1);
            assertEquals(Shape.of(4, 0), empty.shape());
            Tensor odd = base.slice(0, 0, 4, 3); // rows 0, 3
            assertEquals(Shape.of(2, 6), odd.shape());
            assertEquals(18, odd.getDouble(1, 0));
        }
    }

    @Test
    void expandUsesZeroStrides() {
        try (Tensor base = Tensor.of(new float[] {1, 2, 3}, 3, 1)) {
            Tensor e = base.expand(Shape.of(2, 3, 4));
            assertEquals(Shape.of(2, 3, 4), e.shape());
            assertArrayEquals(new long[] {0, 1, 0}, e.strides());
            assertEquals(3, e.getDouble(1, 2, 3));
            assertFalse(e.isContiguous());
            base.setDouble(10, 0, 0);
            assertEquals(10, e.getDouble(1, 0, 2), "expand is a view");
            try (Tensor c = e.contiguous()) {
                assertEquals(24, c.numel());
                assertEquals(10, c.getDouble(0, 0, 3));
            }
        }
    }

    @Test
    void reshapeOfContiguousIsAView() {
        try (Tensor base = Tensor.zeros(Shape.of(2, 6), DType.F64)) {
            Tensor r = base.reshape(3, 4);
            assertEquals(Shape.of(3, 4), r.shape());
            r.setDouble(5, 2, 3);
            assertEquals(5, base.getDouble(1, 5));
            Tensor sliced = base.slice(0, 1, 2, 1); // contiguous row with an offset
            assertTrue(sliced.isContiguous());
            Tensor r2 = sliced.reshape(2, 3);
            assertEquals(5, r2.getDouble(1, 2));
            try (Tensor col = Tensor.of(new float[] {1, 2, 3}, 3, 1)) {
                Tensor row = col.permute(1, 0); // strides [1, 1], but laid out as a contiguous [1,3]
                assertTrue(row.isContiguous());
                assertEquals(2.0, row.reshape(3).getDouble(1));
                assertFalse(col.expand(Shape.of(3, 2)).isContiguous());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> base.permute(1, 0).reshape(12));
            assertTrue(e.getMessage().contains("non-contiguous") && e.getMessage().contains("contiguous()"), e.getMessage());
        }
    }

    @Test
    void copyFromConvertsAndHandlesStrides() {
        try (Tensor src = Tensor.of(new double[] {1.25, -2.5, 3.75, 4, 5, 6}, DType.F64, 2, 3);
             Tensor dst = Tensor.zeros(Shape.of(3, 2), DType.I32)) {
            dst.copyFrom(src.permute(1, 0));
            assertArrayEquals(new long[] {1, 4, -2, 5, 3, 6}, dst.toLongArray());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dst.copyFrom(src));
            assertTrue(e.getMessage().contains("[2,3]") && e.getMessage().contains("[3,2]"), e.getMessage());
            try (Tensor same = Tensor.zeros(Shape.of(2, 3), DType.F64)) {
                same.slice(1, 0, 3, 1).copyFrom(src); // fast path: contiguous, same dtype
                assertArrayEquals(src.toDoubleArray(), same.toDoubleArray());
            }
        }
    }

    @Test
    void wrapUsesCallerMemoryWithoutOwningIt() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16);
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 2, 7f);
            Tensor t = Tensor.wrap(seg, Shape.of(2, 2), DType.F32);
            assertEquals(7, t.getDouble(1, 0));
            t.close();
            assertFalse(t.isClosed(), "a wrapped tensor does not own (or free) its memory");
            assertEquals(7f, seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 2));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(seg, Shape.of(5), DType.F32));
            assertTrue(e.getMessage().contains("16 bytes") && e.getMessage().contains("20 bytes"), e.getMessage());
        }
    }

    @Test
    void closeSemantics() {
        Tensor base = Tensor.zeros(Shape.of(2, 3), DType.F32);
        Tensor view = base.permute(1, 0);
        view.close(); // closing a view does not free the base's memory
        assertFalse(view.isClosed());
        assertFalse(base.isClosed());
        assertEquals(0.0, view.getDouble(0, 0));
        base.close();
        assertTrue(base.isClosed());
        assertTrue(view.isClosed(), "closing the owner invalidates its views");
        assertDoesNotThrow(base::close, "closing twice is harmless");
        assertEquals("f32[2,3] (closed)", base.toString());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> base.getDouble(0, 0));
        assertTrue(e.getMessage().contains("getDouble") && e.getMessage().contains("closed") && e.getMessage().contains("f32[2,3]"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> view.slice(0, 0, 1, 1));
        assertTrue(e.getMessage().contains("slice") && e.getMessage().contains("owning tensor was closed"), e.getMessage());
        String[] ops = {"permute", "expand", "reshape", "contiguous", "to", "setDouble", "getFlat", "setFlat", "segment", "toDoubleArray", "toLongArray", "copyFrom", "toFloatArray", "item"};
        Runnable[] calls = {
            () -> base.permute(1, 0), () -> base.expand(Shape.of(2, 2, 3)), () -> base.reshape(6), base::contiguous,
            () -> base.to(DType.F64), () -> base.setDouble(1, 0, 0), () -> base.getFlat(0), () -> base.setFlat(0, 1),
            base::segment, base::toDoubleArray, base::toLongArray, () -> base.copyFrom(base), base::toFloatArray, base::item};
        for (int i = 0; i < ops.length; i++) {
            int k = i;
            IllegalStateException ex = assertThrows(IllegalStateException.class, () -> calls[k].run(), ops[k]);
            assertTrue(ex.getMessage().startsWith(ops[k]), ops[k] + ": " + ex.getMessage());
        }
        try (Tensor ok = Tensor.zeros(Shape.of(2, 3), DType.F32)) {
            IllegalStateException ex = assertThrows(IllegalStateException.class, () -> ok.copyFrom(base));
            assertTrue(ex.getMessage().contains("source"), ex.getMessage());
        }
    }

    @Test
    void badArgumentsNameTheValues() {
        try (Tensor t = Tensor.zeros(Shape.of(2, 3), DType.F32)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.permute(0));
            assertTrue(e.getMessage().contains("[0]") && e.getMessage().contains("rank 2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.permute(1, 1));
            assertTrue(e.getMessage().contains("repeats axis 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.permute(0, 2));
            assertTrue(e.getMessage().contains("axis 2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.slice(5, 0, 1, 1));
            assertTrue(e.getMessage().contains("axis 5") && e.getMessage().contains("[2,3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.slice(1, 1, 4, 1));
            assertTrue(e.getMessage().contains("1:4:1") && e.getMessage().contains("<= 3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.slice(1, 2, 1, 1));
            assertThrows(IllegalArgumentException.class, () -> t.slice(1, -1, 2, 1));
            e = assertThrows(IllegalArgumentException.class, () -> t.slice(1, 0, 2, 0));
            assertTrue(e.getMessage().contains("step"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
            assertTrue(e.getMessage().contains("[2,3]") && e.getMessage().contains("[4,2]") && e.getMessage().contains("6 elements")
                    && e.getMessage().contains("8 elements"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.reshape(-1, 6));
            assertTrue(e.getMessage().contains("-1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.expand(Shape.of(4, 3, 2)));
            assertTrue(e.getMessage().contains("[2,3]") && e.getMessage().contains("[4,3,2]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.getDouble(1));
            assertTrue(e.getMessage().contains("[1]") && e.getMessage().contains("rank 2"), e.getMessage());
            IndexOutOfBoundsException oob = assertThrows(IndexOutOfBoundsException.class, () -> t.getDouble(1, 3));
            assertTrue(oob.getMessage().contains("[1, 3]") && oob.getMessage().contains("[2,3]"), oob.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> t.setDouble(0, -1, 0));
            IllegalStateException ise = assertThrows(IllegalStateException.class, t::item);
            assertTrue(ise.getMessage().contains("[2,3]"), ise.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertTrue(e.getMessage().contains("5 values") && e.getMessage().contains("[2,3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(Shape.of(-2), DType.F32));
        assertTrue(e.getMessage().contains("-2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofInts(new int[3], 2));
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofLongs(new long[3], 4));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new double[3], DType.F16, 2, 2));
    }
}
