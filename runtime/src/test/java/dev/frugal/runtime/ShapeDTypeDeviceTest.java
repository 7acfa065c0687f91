package dev.frugal.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Shape} arithmetic and errors, {@link DType} metadata and parsing, {@link Device} parsing. */
class ShapeDTypeDeviceTest {

    @Test
    void shapeBasics() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(3, s.rank());
        assertEquals(24, s.numel());
        assertEquals(4, s.dim(2));
        assertEquals(4, s.dim(-1));
        assertEquals(2, s.dim(-3));
        assertArrayEquals(new long[] {12, 4, 1}, s.contiguousStrides());
        assertEquals("[2,3,4]", s.toString());
        assertEquals(Shape.of(2, 5, 4), s.withDim(1, 5));
        assertEquals(Shape.of(2, 3, 7), s.withDim(-1, 7));
        assertEquals(s, Shape.of(2, 3, 4));
        assertEquals(s.hashCode(), Shape.of(2, 3, 4).hashCode());
        assertNotEquals(s, Shape.of(2, 4, 3));
        assertNotEquals(s, Shape.of(2, 3, 4, 1));
        assertSame(Shape.scalar(), Shape.of());
        assertEquals(0, Shape.scalar().rank());
        assertEquals(1, Shape.scalar().numel());
        assertEquals("[]", Shape.scalar().toString());
        assertEquals(0, Shape.of(3, 0, 2).numel());
        assertArrayEquals(new long[] {0, 2, 1}, Shape.of(3, 0, 2).contiguousStrides());
        assertEquals(6L * Integer.MAX_VALUE, Shape.of(Integer.MAX_VALUE, 6).numel(), "numel does not overflow int");
    }

    @Test
    void shapeIsImmutable() {
        int[] dims = {2, 3};
        Shape s = Shape.of(dims);
        dims[0] = 9;
        assertEquals(Shape.of(2, 3), s, "Shape.of copies its argument");
        s.dims()[1] = 9;
        assertEquals(Shape.of(2, 3), s, "dims() returns a copy");
    }

    @Test
    void shapeErrorsNameTheValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -3, 4));
        assertTrue(e.getMessage().contains("-3") && e.getMessage().contains("dimension 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).dim(2));
        assertTrue(e.getMessage().contains("axis 2") && e.getMessage().contains("[2,3]") && e.getMessage().contains("-2..1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).normalizeAxis(-3));
        assertTrue(e.getMessage().contains("axis -3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.scalar().normalizeAxis(0));
        assertTrue(e.getMessage().contains("scalar"), e.getMessage());
        assertEquals(1, Shape.of(2, 3).normalizeAxis(-1));
    }

    @Test
    void broadcasting() {
        assertEquals(Shape.of(3, 2, 4), Shape.broadcast(Shape.of(3, 1, 4), Shape.of(2, 4)));
        assertEquals(Shape.of(3, 2, 4), Shape.broadcast(Shape.of(2, 4), Shape.of(3, 1, 4)));
        assertEquals(Shape.of(2, 3), Shape.broadcast(Shape.scalar(), Shape.of(2, 3)));
        assertEquals(Shape.of(0, 3), Shape.broadcast(Shape.of(1, 3), Shape.of(0, 1)));
        assertNull(Shape.broadcast(Shape.of(2, 3), Shape.of(4)));
        assertNull(Shape.broadcast(Shape.of(2, 3), Shape.of(3, 3)));
        assertTrue(Shape.of(3, 1).broadcastsTo(Shape.of(2, 3, 5)));
        assertTrue(Shape.scalar().broadcastsTo(Shape.of(2)));
        assertFalse(Shape.of(2, 3).broadcastsTo(Shape.of(3)), "broadcasting never shrinks the target");
        assertFalse(Shape.of(2, 3).broadcastsTo(Shape.of(1, 3)));
    }

    @Test
    void dtypeMetadata() {
        int[] sizes = {8, 4, 2, 2, 8, 4, 1, 1};
        String[] names = {"f64", "f32", "f16", "bf16", "i64", "i32", "u8", "bool"};
        DType[] all = DType.values();
        assertEquals(8, all.length);
        for (int i = 0; i < all.length; i++) {
            DType t = all[i];
            assertEquals(sizes[i], t.byteSize(), t.name());
            assertEquals(sizes[i], t.storageLayout().byteSize(), t.name());
            assertEquals(names[i], t.shortName());
            assertEquals(names[i], t.toString());
            assertEquals(i < 4, t.isFloating(), t.name());
            assertEquals(i >= 4, t.isIntegral(), t.name());
            assertSame(t, DType.parse(names[i]));
            assertSame(t, DType.parse(t.name().toLowerCase()));
            assertSame(t, DType.parse(names[i].toUpperCase()));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DType.parse("float8"));
        assertTrue(e.getMessage().contains("float8") && e.getMessage().contains("bf16"), e.getMessage());
    }

    @Test
    void devices() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.CPU, Device.parse(" CPU "));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(0), Device.parse("gpu"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        assertEquals("cuda:3", Device.cuda(3).toString());
        assertEquals("cpu", Device.CPU.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
        assertTrue(e.getMessage().contains("tpu"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:x"));
        assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1));
        assertThrows(IllegalArgumentException.class, () -> new Device(Device.Kind.CPU, 1));
    }
}
