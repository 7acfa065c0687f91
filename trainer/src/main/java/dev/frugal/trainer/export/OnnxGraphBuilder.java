package dev.frugal.trainer.export;

import dev.frugal.runtime.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds one ONNX model (a {@code ModelProto} with one {@code GraphProto}) node by node and
 * serialises it with {@link ProtobufWriter}. Field numbers are those of {@code onnx.proto}; the
 * model declares IR version 8 and the default-domain opset 17.
 *
 * <p>Tensor shapes of graph inputs and outputs are given per axis as a fixed size, or as a
 * symbolic dimension (ONNX's {@code dim_param}) when the size is a dynamic one such as the batch.
 */
public final class OnnxGraphBuilder {
    /** The IR version that goes with opset 17. */
    public static final long IR_VERSION = 8;
    /** The default-domain opset the exported operators follow. */
    public static final long OPSET = 17;

    // AttributeProto.AttributeType
    private static final int ATTR_FLOAT = 1;
    private static final int ATTR_INT = 2;
    private static final int ATTR_INTS = 7;

    private final String name;
    private final List<ProtobufWriter> nodes = new ArrayList<>();
    private final List<ProtobufWriter> initializers = new ArrayList<>();
    private final List<ProtobufWriter> inputs = new ArrayList<>();
    private final List<ProtobufWriter> outputs = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private int counter;

    /** A builder of a graph called {@code name}. */
    public OnnxGraphBuilder(String name) {
        this.name = name;
    }

    /** One node attribute; build with {@link #ints}, {@link #intAttr} or {@link #floatAttr}. */
    public record Attribute(String name, ProtobufWriter encoded) {
    }

    /** An INTS attribute. */
    public static Attribute ints(String name, long... values) {
        ProtobufWriter a = new ProtobufWriter().string(1, name);
        for (long v : values) {
            a.varint(8, v);
        }
        return new Attribute(name, a.varint(20, ATTR_INTS));
    }

    /** An INT attribute. */
    public static Attribute intAttr(String name, long value) {
        return new Attribute(name, new ProtobufWriter().string(1, name).varint(3, value).varint(20, ATTR_INT));
    }

    /** A FLOAT attribute. */
    public static Attribute floatAttr(String name, float value) {
        return new Attribute(name, new ProtobufWriter().string(1, name).float32(2, value).varint(20, ATTR_FLOAT));
    }

    /** A fresh tensor name starting with {@code hint}, unique in this graph. */
    public String fresh(String hint) {
        String n;
        do {
            n = hint + "_" + counter++;
        } while (!names.add(n));
        return n;
    }

    /**
     * Adds a node whose output gets a fresh name.
     *
     * @return the output's name
     */
    public String node(String opType, List<String> in, Attribute... attributes) {
        String out = fresh(opType.toLowerCase(java.util.Locale.ROOT));
        node(opType, in, out, attributes);
        return out;
    }

    /** Adds a node writing {@code output}. */
    public void node(String opType, List<String> in, String output, Attribute... attributes) {
        names.add(output);
        ProtobufWriter n = new ProtobufWriter();
        for (String i : in) {
            n.string(1, i);
        }
        n.string(2, output).string(3, output).string(4, opType);
        for (Attribute a : attributes) {
            n.message(5, a.encoded());
        }
        nodes.add(n);
    }

    /**
     * Adds an initializer (a constant tensor stored in the model).
     *
     * @param rawLittleEndian the elements in row-major order, little-endian, as ONNX's raw_data
     */
    public void initializer(String tensorName, DType dtype, int[] dims, byte[] rawLittleEndian) {
        initializer(tensorName, elementType(dtype), dims, rawLittleEndian);
    }

    /** ONNX's {@code TensorProto.DataType} INT8 (no Frugal dtype has it: QDQ weights are stored so). */
    public static final int INT8 = 3;
    /** ONNX's {@code TensorProto.DataType} UINT8. */
    public static final int UINT8 = 2;

    /**
     * Adds an initializer of ONNX element type {@code elementType} ({@link #INT8}, {@link #UINT8}, or
     * {@link #elementType(DType)}'s).
     *
     * @param rawLittleEndian the elements in row-major order, little-endian, as ONNX's raw_data
     */
    public void initializer(String tensorName, int elementType, int[] dims, byte[] rawLittleEndian) {
        if (!names.add(tensorName)) {
            throw new IllegalArgumentException("ONNX tensor name '" + tensorName + "' is used twice");
        }
        ProtobufWriter t = new ProtobufWriter();
        for (int d : dims) {
            t.varint(1, d);
        }
        t.varint(2, elementType).string(8, tensorName).bytes(9, rawLittleEndian);
        initializers.add(t);
    }

    /** A fresh one-dimensional INT64 initializer holding {@code values}; returns its name. */
    public String int64s(long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        String n = fresh("const");
        names.remove(n);
        initializer(n, DType.I64, new int[] {values.length}, b.array());
        return n;
    }

    /** A fresh initializer named after {@code hint}; returns its name. */
    public String constant(String hint, int elementType, int[] dims, byte[] rawLittleEndian) {
        String n = fresh(hint);
        names.remove(n);
        initializer(n, elementType, dims, rawLittleEndian);
        return n;
    }

    /** A fresh scalar initializer of {@code dtype} holding {@code value}; returns its name. */
    public String scalar(double value, DType dtype) {
        String n = fresh("const");
        names.remove(n);
        initializer(n, dtype, new int[0], encodeScalar(value, dtype));
        return n;
    }

    /**
     * Declares a graph input or output.
     *
     * @param dims per axis the size, or -1 for the symbolic dimension {@code symbol}
     */
    public void input(String tensorName, DType dtype, int[] dims, String symbol) {
        names.add(tensorName);
        inputs.add(valueInfo(tensorName, dtype, dims, symbol));
    }

    /** Declares a graph output; see {@link #input}. */
    public void output(String tensorName, DType dtype, int[] dims, String symbol) {
        outputs.add(valueInfo(tensorName, dtype, dims, symbol));
    }

    /** The serialised {@code ModelProto}. */
    public byte[] toModelBytes(String producer) {
        ProtobufWriter graph = new ProtobufWriter();
        for (ProtobufWriter n : nodes) {
            graph.message(1, n);
        }
        graph.string(2, name);
        for (ProtobufWriter t : initializers) {
            graph.message(5, t);
        }
        for (ProtobufWriter i : inputs) {
            graph.message(11, i);
        }
        for (ProtobufWriter o : outputs) {
            graph.message(12, o);
        }
        return new ProtobufWriter()
                .varint(1, IR_VERSION)
                .string(2, producer)
                .message(7, graph)
                .message(8, new ProtobufWriter().string(1, "").varint(2, OPSET))
                .toByteArray();
    }

    /** Number of nodes added so far. */
    public int nodeCount() {
        return nodes.size();
    }

    /** ONNX's {@code TensorProto.DataType} of a Frugal dtype. */
    public static int elementType(DType dtype) {
        return switch (dtype) {
            case F32 -> 1;
            case U8 -> 2;
            case I32 -> 6;
            case I64 -> 7;
            case BOOL -> 9;
            case F16 -> 10;
            case F64 -> 11;
            case BF16 -> 16;
        };
    }

    private static ProtobufWriter valueInfo(String tensorName, DType dtype, int[] dims, String symbol) {
        ProtobufWriter shape = new ProtobufWriter();
        for (int d : dims) {
            shape.message(1, d < 0 ? new ProtobufWriter().string(2, symbol) : new ProtobufWriter().varint(1, d));
        }
        ProtobufWriter tensor = new ProtobufWriter().varint(1, elementType(dtype)).message(2, shape);
        return new ProtobufWriter().string(1, tensorName).message(2, new ProtobufWriter().message(1, tensor));
    }

    private static byte[] encodeScalar(double value, DType dtype) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> b.putFloat((float) value);
            case F64 -> b.putDouble(value);
            case I64 -> b.putLong((long) value);
            case I32 -> b.putInt((int) value);
            case U8 -> b.put((byte) (int) value);
            case BOOL -> b.put((byte) (value != 0 ? 1 : 0));
            case F16 -> b.putShort(dev.frugal.runtime.numeric.Float16.fromFloat((float) value));
            case BF16 -> b.putShort(dev.frugal.runtime.numeric.BFloat16.fromFloat((float) value));
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }
}
