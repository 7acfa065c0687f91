package dev.frugal.trainer.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The wire format against byte strings from the protobuf encoding guide and hand-checked ONNX messages. */
class ProtobufWriterTest {
    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    @Test
    void varintsFollowTheEncodingGuide() {
        assertArrayEquals(hex("08 96 01"), new ProtobufWriter().varint(1, 150).toByteArray());
        assertArrayEquals(hex("08 00"), new ProtobufWriter().varint(1, 0).toByteArray());
        assertArrayEquals(hex("08 ac 02"), new ProtobufWriter().varint(1, 300).toByteArray());
        // negative int64: ten bytes, two's complement
        assertArrayEquals(hex("08 ff ff ff ff ff ff ff ff ff 01"), new ProtobufWriter().varint(1, -1).toByteArray());
        // field 20 needs a two-byte tag: (20 << 3) | 0 = 160
        assertArrayEquals(hex("a0 01 07"), new ProtobufWriter().varint(20, 7).toByteArray());
    }

    @Test
    void stringsBytesAndMessagesAreLengthDelimited() {
        assertArrayEquals(hex("12 07 74 65 73 74 69 6e 67"), new ProtobufWriter().string(2, "testing").toByteArray());
        // the guide's Test3 { Test1 c = 3; } with c.a = 150
        assertArrayEquals(hex("1a 03 08 96 01"), new ProtobufWriter().message(3, new ProtobufWriter().varint(1, 150)).toByteArray());
        assertArrayEquals(hex("4a 00"), new ProtobufWriter().bytes(9, new byte[0]).toByteArray());
        byte[] big = new byte[200];
        byte[] encoded = new ProtobufWriter().bytes(9, big).toByteArray();
        assertArrayEquals(hex("4a c8 01"), java.util.Arrays.copyOf(encoded, 3));
    }

    @Test
    void floatsAreFixed32LittleEndian() {
        assertArrayEquals(hex("15 00 00 80 3f"), new ProtobufWriter().float32(2, 1.0f).toByteArray());
        assertArrayEquals(hex("15 00 00 00 c0"), new ProtobufWriter().float32(2, -2.0f).toByteArray());
    }

    @Test
    void onnxAttributesAndTensorsUseOnnxProtoFieldNumbers() {
        // AttributeProto { name: "axis" (1), i: 1 (3), type: INT = 2 (20) }
        assertArrayEquals(hex("0a 04 61 78 69 73 18 01 a0 01 02"), OnnxGraphBuilder.intAttr("axis", 1).encoded().toByteArray());
        // AttributeProto { name: "perm", ints: 1, 0 (8, unpacked), type: INTS = 7 }
        assertArrayEquals(hex("0a 04 70 65 72 6d 40 01 40 00 a0 01 07"), OnnxGraphBuilder.ints("perm", 1, 0).encoded().toByteArray());
        // AttributeProto { name: "alpha", f: 0.5 (2), type: FLOAT = 1 }
        assertArrayEquals(hex("0a 05 61 6c 70 68 61 15 00 00 00 3f a0 01 01"), OnnxGraphBuilder.floatAttr("alpha", 0.5f).encoded().toByteArray());
    }

    @Test
    void fieldNumbersStartAtOne() {
        assertThrows(IllegalArgumentException.class, () -> new ProtobufWriter().varint(0, 1));
    }
}
