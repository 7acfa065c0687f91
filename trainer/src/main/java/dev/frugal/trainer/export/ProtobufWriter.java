package dev.frugal.trainer.export;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal writer of the protocol buffers wire format: enough to encode an ONNX model without a
 * generated protobuf library. Fields are appended in call order; a nested message is written
 * from a finished child writer (its length is known then).
 *
 * <p>Wire types used: 0 (varint) for integers and enums, 2 (length-delimited) for strings,
 * bytes and messages, 5 (fixed32) for floats. Repeated scalars are written unpacked, one tag per
 * element, which every proto2 and proto3 parser accepts.
 */
public final class ProtobufWriter {
    private static final int VARINT = 0;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** An empty message. */
    public ProtobufWriter() {
    }

    /** An integer field (int32, int64, enum, bool) as a varint; negative values take ten bytes, as protobuf's int64 does. */
    public ProtobufWriter varint(int field, long value) {
        tag(field, VARINT);
        rawVarint(value);
        return this;
    }

    /** A float field as four little-endian bytes. */
    public ProtobufWriter float32(int field, float value) {
        tag(field, FIXED32);
        int bits = Float.floatToRawIntBits(value);
        for (int i = 0; i < 4; i++) {
            out.write(bits >>> (8 * i));
        }
        return this;
    }

    /** A string field in UTF-8. */
    public ProtobufWriter string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    /** A bytes field. */
    public ProtobufWriter bytes(int field, byte[] value) {
        tag(field, LENGTH_DELIMITED);
        rawVarint(value.length);
        out.writeBytes(value);
        return this;
    }

    /** An embedded message field. */
    public ProtobufWriter message(int field, ProtobufWriter message) {
        return bytes(field, message.toByteArray());
    }

    /** The encoded message so far. */
    public byte[] toByteArray() {
        return out.toByteArray();
    }

    private void tag(int field, int wireType) {
        if (field < 1) {
            throw new IllegalArgumentException("protobuf field number " + field + ", expected at least 1");
        }
        rawVarint(((long) field << 3) | wireType);
    }

    private void rawVarint(long value) {
        while ((value & ~0x7FL) != 0) {
            out.write((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.write((int) value);
    }
}
