package dev.frugal.trainer.export;

import static dev.frugal.trainer.export.OnnxGraphBuilder.intAttr;
import static dev.frugal.trainer.export.OnnxGraphBuilder.ints;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Maps the primitive nodes of a traced inference graph to ONNX (opset 17) nodes, one Frugal op
 * to one or a few ONNX operators.
 *
 * <p>The graph is traced at two batch sizes ({@link BatchedNode} pairs a node with its twin):
 * an axis whose size differs between the two is a batch axis, and its size is {@code k x batch}.
 * Shapes baked into operators (a reshape's target, an expansion, a constant's shape) then say
 * "-1" or compute the size from the input's batch at run time, so the exported model takes any
 * batch size.
 */
final class OnnxOpMapping {
    /** The ops an exported graph may contain. */
    static final Set<Op> SUPPORTED = EnumSet.of(Op.INPUT, Op.CONSTANT, Op.IOTA,
            Op.NEG, Op.EXP, Op.LOG, Op.SQRT, Op.RSQRT, Op.RECIPROCAL, Op.ABS, Op.SIGN, Op.ROUND, Op.RELU, Op.SIGMOID, Op.TANH, Op.ERF, Op.NOT, Op.CAST,
            Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.MAXIMUM, Op.MINIMUM,
            Op.LT, Op.LE, Op.GT, Op.GE, Op.EQ, Op.NE, Op.WHERE,
            Op.REDUCE_SUM, Op.REDUCE_MAX, Op.REDUCE_MIN, Op.ARGMAX,
            Op.MATMUL, Op.CONV2D, Op.MAX_POOL2D, Op.AVG_POOL2D,
            Op.RESHAPE, Op.PERMUTE, Op.EXPAND, Op.SLICE, Op.PAD, Op.CONCAT, Op.GATHER, Op.LAYER_NORM);

    /** A node of the first trace and the same node of the second. */
    record BatchedNode(Node first, Node second) {
    }

    private final OnnxGraphBuilder onnx;
    private final int batch1;
    private final int batch2;
    private final String dataInput;
    private final Map<Integer, String> names = new HashMap<>();
    private final Map<Integer, Node> twins = new HashMap<>();
    private String batchSize; // [1] INT64: the data input's batch, made on first need
    private QdqExport qdq; // the int8 QDQ nodes of a quantized model; null: float32

    /**
     * @param onnx receives the ONNX nodes
     * @param batch1 the batch size of the first trace
     * @param batch2 the batch size of the second trace
     * @param dataInput the ONNX name of the data input, whose axis 0 is the batch
     */
    OnnxOpMapping(OnnxGraphBuilder onnx, int batch1, int batch2, String dataInput) {
        this.onnx = onnx;
        this.batch1 = batch1;
        this.batch2 = batch2;
        this.dataInput = dataInput;
    }

    /** Makes every quantized contraction read its input through QuantizeLinear -> DequantizeLinear ({@link QdqExport}). */
    void quantize(QdqExport plan) {
        this.qdq = plan;
    }

    /** Records that {@code node}'s value is the ONNX tensor {@code name} (graph inputs, initializers). */
    void bind(BatchedNode node, String name) {
        twins.put(node.first().id(), node.second());
        names.put(node.first().id(), name);
    }

    /** The ONNX tensor holding {@code v}'s value (of the first trace). */
    String name(Value v) {
        String n = names.get(v.id());
        if (n == null) {
            throw new IllegalStateException("ONNX export: " + v.ref() + " is used before it is mapped");
        }
        return n;
    }

    /** Per axis of {@code v}, whether it is a batch axis, checking that its size is a multiple of the batch. */
    boolean[] batchAxes(Value v) {
        int[] d1 = v.shape().dims();
        int[] d2 = twins.get(v.id()).output().shape().dims();
        boolean[] out = new boolean[d1.length];
        for (int i = 0; i < d1.length; i++) {
            if (d1[i] != d2[i]) {
                if (d1[i] % batch1 != 0 || (long) d1[i] / batch1 * batch2 != d2[i]) {
                    throw new IllegalArgumentException("ONNX export: axis " + i + " of " + v.ref() + " (" + v.node().op().printName() + " at "
                            + v.node().callSite() + ") has size " + d1[i] + " at batch " + batch1 + " and " + d2[i] + " at batch " + batch2
                            + ", not a multiple of the batch");
                }
                out[i] = true;
            }
        }
        return out;
    }

    /** Maps one node; its inputs are mapped already. */
    void map(BatchedNode bn) {
        Node n = bn.first();
        twins.put(n.id(), bn.second());
        if (!SUPPORTED.contains(n.op())) {
            throw unsupported(n);
        }
        names.put(n.id(), emit(n));
    }

    /** The error for an op ONNX export cannot express, naming the op and where it was traced. */
    static IllegalArgumentException unsupported(Node n) {
        return new IllegalArgumentException("ONNX export: op " + n.op().printName() + " (" + n.output().ref() + (n.scope().isEmpty() ? "" : ", in " + n.scope())
                + ", traced at " + n.callSite() + ") has no ONNX equivalent in this exporter");
    }

    private String emit(Node n) {
        Value out = n.output();
        return switch (n.op()) {
            case NEG -> unary("Neg", n);
            case EXP -> unary("Exp", n);
            case LOG -> unary("Log", n);
            case SQRT -> unary("Sqrt", n);
            case RSQRT -> onnx.node("Reciprocal", List.of(unary("Sqrt", n)));
            case RECIPROCAL -> unary("Reciprocal", n);
            case ABS -> unary("Abs", n);
            case SIGN -> unary("Sign", n);
            case ROUND -> unary("Round", n); // ONNX Round: ties to even, as Frugal's
            case RELU -> unary("Relu", n);
            case SIGMOID -> unary("Sigmoid", n);
            case TANH -> unary("Tanh", n);
            case ERF -> unary("Erf", n);
            case NOT -> unary("Not", n);
            case CAST -> onnx.node("Cast", List.of(in(n, 0)), intAttr("to", OnnxGraphBuilder.elementType(out.dtype())));
            case ADD -> binary("Add", n);
            case SUB -> binary("Sub", n);
            case MUL -> binary("Mul", n);
            case DIV -> binary("Div", n);
            case POW -> binary("Pow", n);
            case MAXIMUM -> binary("Max", n);
            case MINIMUM -> binary("Min", n);
            case LT -> binary("Less", n);
            case LE -> binary("LessOrEqual", n);
            case GT -> binary("Greater", n);
            case GE -> binary("GreaterOrEqual", n);
            case EQ -> binary("Equal", n);
            case NE -> onnx.node("Not", List.of(binary("Equal", n)));
            case WHERE -> onnx.node("Where", List.of(in(n, 0), in(n, 1), in(n, 2)));
            case REDUCE_SUM -> {
                OpAttrs.Reduce r = n.attrs(OpAttrs.Reduce.class);
                yield onnx.node("ReduceSum", List.of(in(n, 0), onnx.int64s(toLongs(r.axes()))), intAttr("keepdims", r.keepDims() ? 1 : 0));
            }
            case REDUCE_MAX, REDUCE_MIN -> {
                OpAttrs.Reduce r = n.attrs(OpAttrs.Reduce.class);
                yield onnx.node(n.op() == Op.REDUCE_MAX ? "ReduceMax" : "ReduceMin", List.of(in(n, 0)), ints("axes", toLongs(r.axes())),
                        intAttr("keepdims", r.keepDims() ? 1 : 0));
            }
            case ARGMAX -> {
                OpAttrs.Reduce r = n.attrs(OpAttrs.Reduce.class);
                if (r.axes().length != 1) {
                    throw new IllegalArgumentException("ONNX export: argmax over " + r.axes().length + " axes (" + out.ref() + ", traced at "
                            + n.callSite() + "); ONNX's ArgMax takes one");
                }
                yield onnx.node("ArgMax", List.of(in(n, 0)), intAttr("axis", r.axes()[0]), intAttr("keepdims", r.keepDims() ? 1 : 0));
            }
            case MATMUL -> matmul(n);
            case CONV2D -> {
                OpAttrs.Conv2d c = n.attrs(OpAttrs.Conv2d.class);
                int[] w = n.input(1).shape().dims();
                yield onnx.node("Conv", List.of(contractionInput(n), in(n, 1)), ints("kernel_shape", w[2], w[3]), ints("strides", c.strideH(), c.strideW()),
                        ints("pads", c.padH(), c.padW(), c.padH(), c.padW()), ints("dilations", c.dilationH(), c.dilationW()),
                        intAttr("group", c.groups()));
            }
            case MAX_POOL2D, AVG_POOL2D -> {
                OpAttrs.Pool2d p = n.attrs(OpAttrs.Pool2d.class);
                List<OnnxGraphBuilder.Attribute> attrs = new ArrayList<>(List.of(ints("kernel_shape", p.kernelH(), p.kernelW()),
                        ints("strides", p.strideH(), p.strideW()), ints("pads", p.padH(), p.padW(), p.padH(), p.padW())));
                if (n.op() == Op.AVG_POOL2D) {
                    attrs.add(intAttr("count_include_pad", p.countIncludePad() ? 1 : 0));
                }
                yield onnx.node(n.op() == Op.MAX_POOL2D ? "MaxPool" : "AveragePool", List.of(in(n, 0)),
                        attrs.toArray(OnnxGraphBuilder.Attribute[]::new));
            }
            case RESHAPE -> onnx.node("Reshape", List.of(in(n, 0), reshapeTarget(out)));
            case PERMUTE -> onnx.node("Transpose", List.of(in(n, 0)), ints("perm", toLongs(n.attrs(OpAttrs.Permute.class).perm())));
            case EXPAND -> onnx.node("Expand", List.of(in(n, 0), shapeOf(out)));
            case SLICE -> slice(n);
            case PAD -> {
                OpAttrs.Pad p = n.attrs(OpAttrs.Pad.class);
                long[] pads = new long[2 * p.before().length];
                for (int i = 0; i < p.before().length; i++) {
                    pads[i] = p.before()[i];
                    pads[p.before().length + i] = p.after()[i];
                }
                yield onnx.node("Pad", List.of(in(n, 0), onnx.int64s(pads)), new OnnxGraphBuilder.Attribute[0]);
            }
            case CONCAT -> {
                List<String> ins = new ArrayList<>();
                for (Value v : n.inputs()) {
                    ins.add(name(v));
                }
                yield onnx.node("Concat", ins, intAttr("axis", n.attrs(OpAttrs.Axis.class).axis()));
            }
            case GATHER -> onnx.node("Gather", List.of(in(n, 0), in(n, 1)), intAttr("axis", n.attrs(OpAttrs.Axis.class).axis()));
            case CONSTANT -> {
                String scalar = onnx.scalar(n.attrs(OpAttrs.Constant.class).value(), out.dtype());
                yield out.rank() == 0 ? scalar : onnx.node("Expand", List.of(scalar, shapeOf(out)));
            }
            case IOTA -> iota(n);
            case LAYER_NORM -> layerNorm(n);
            default -> throw unsupported(n);
        };
    }

    /**
     * LAYER_NORM as ONNX LayerNormalization (opset 17) over the trailing axes; ONNX requires a
     * scale, so a layer norm without a weight gets ones of the normalized shape.
     */
    private String layerNorm(Node n) {
        OpAttrs.LayerNorm p = n.attrs(OpAttrs.LayerNorm.class);
        int[] dims = n.input(0).shape().dims();
        int[] normalized = Arrays.copyOfRange(dims, dims.length - p.axes(), dims.length);
        List<String> ins = new ArrayList<>(List.of(in(n, 0)));
        ins.add(p.weight() ? in(n, 1)
                : onnx.node("Expand", List.of(onnx.scalar(1.0, n.output().dtype()), onnx.int64s(toLongs(normalized)))));
        if (p.bias()) {
            ins.add(in(n, p.weight() ? 2 : 1));
        }
        return onnx.node("LayerNormalization", ins, intAttr("axis", -p.axes()), OnnxGraphBuilder.floatAttr("epsilon", (float) p.eps()));
    }

    private String in(Node n, int i) {
        return name(n.input(i));
    }

    private String unary(String op, Node n) {
        return onnx.node(op, List.of(in(n, 0)));
    }

    private String binary(String op, Node n) {
        return onnx.node(op, List.of(in(n, 0), in(n, 1)));
    }

    /**
     * The first operand of a CONV2D or MATMUL: through QuantizeLinear -> DequantizeLinear when the
     * contraction is quantized (its weight, a parameter, is then already an INT8 initializer read
     * through DequantizeLinear).
     */
    private String contractionInput(Node n) {
        Value w = n.input(1);
        if (qdq != null && w.node().op() == Op.INPUT && qdq.quantizesInputOf(w.node().attrs(OpAttrs.Input.class).name())) {
            return qdq.activation(onnx, in(n, 0), w.node().attrs(OpAttrs.Input.class).name());
        }
        return in(n, 0);
    }

    private String matmul(Node n) {
        OpAttrs.Matmul m = n.attrs(OpAttrs.Matmul.class);
        Value a = n.input(0);
        Value b = n.input(1);
        String aName = contractionInput(n);
        if (a.rank() == 2 && b.rank() == 2) {
            return onnx.node("Gemm", List.of(aName, name(b)), intAttr("transA", m.transA() ? 1 : 0), intAttr("transB", m.transB() ? 1 : 0));
        }
        String an = m.transA() ? transposeLastTwo(aName, a.rank()) : aName;
        String bn = m.transB() ? transposeLastTwo(name(b), b.rank()) : name(b);
        return onnx.node("MatMul", List.of(an, bn));
    }

    private String transposeLastTwo(String x, int rank) {
        long[] perm = new long[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = i;
        }
        perm[rank - 1] = rank - 2;
        perm[rank - 2] = rank - 1;
        return onnx.node("Transpose", List.of(x), ints("perm", perm));
    }

    /** Axes sliced over a batch axis must take all of it; those are left out of the ONNX Slice. */
    private String slice(Node n) {
        OpAttrs.Slice s = n.attrs(OpAttrs.Slice.class);
        Value x = n.input(0);
        boolean[] batch = batchAxes(x);
        List<long[]> kept = new ArrayList<>(); // axis, start, end, step
        for (int i = 0; i < s.starts().length; i++) {
            boolean whole = s.starts()[i] == 0 && s.ends()[i] == x.shape().dim(i) && s.steps()[i] == 1;
            if (batch[i]) {
                if (!whole) {
                    throw new IllegalArgumentException("ONNX export: slice " + n.attrs() + " of the batch axis " + i + " of " + x.ref() + " (traced at "
                            + n.callSite() + ") does not take the whole batch");
                }
                continue;
            }
            if (!whole) {
                kept.add(new long[] {i, s.starts()[i], s.ends()[i], s.steps()[i]});
            }
        }
        if (kept.isEmpty()) {
            return onnx.node("Identity", List.of(name(x)));
        }
        long[][] cols = new long[4][kept.size()];
        for (int k = 0; k < kept.size(); k++) {
            for (int c = 0; c < 4; c++) {
                cols[c][k] = kept.get(k)[c];
            }
        }
        return onnx.node("Slice", List.of(name(x), onnx.int64s(cols[1]), onnx.int64s(cols[2]), onnx.int64s(cols[0]), onnx.int64s(cols[3])));
    }

    private String iota(Node n) {
        Value out = n.output();
        int axis = n.attrs(OpAttrs.Axis.class).axis();
        if (batchAxes(out)[axis]) {
            throw new IllegalArgumentException("ONNX export: iota along the batch axis (" + out.ref() + ", traced at " + n.callSite() + ")");
        }
        // Range computes in int64 (or float for a float iota), then the values are cast to the node's type
        DType rangeType = out.dtype().isFloating() ? DType.F32 : DType.I64;
        String range = onnx.node("Range", List.of(onnx.scalar(0, rangeType), onnx.scalar(out.shape().dim(axis), rangeType), onnx.scalar(1, rangeType)));
        if (out.dtype() != rangeType) {
            range = onnx.node("Cast", List.of(range), intAttr("to", OnnxGraphBuilder.elementType(out.dtype())));
        }
        long[] column = new long[out.rank()];
        Arrays.fill(column, 1);
        column[axis] = out.shape().dim(axis);
        String shaped = onnx.node("Reshape", List.of(range, onnx.int64s(column)));
        return onnx.node("Expand", List.of(shaped, shapeOf(out)));
    }

    /** A Reshape target: static, with -1 for a single batch axis, else computed from the batch. */
    private String reshapeTarget(Value v) {
        boolean[] batch = batchAxes(v);
        int count = 0;
        for (boolean b : batch) {
            count += b ? 1 : 0;
        }
        if (count != 1) {
            return shapeOf(v);
        }
        long[] dims = toLongs(v.shape().dims());
        for (int i = 0; i < dims.length; i++) {
            if (batch[i]) {
                dims[i] = -1;
            }
        }
        return onnx.int64s(dims);
    }

    /** A 1-D INT64 tensor holding {@code v}'s shape for the batch the model is run with. */
    private String shapeOf(Value v) {
        boolean[] batch = batchAxes(v);
        int[] dims = v.shape().dims();
        List<String> parts = new ArrayList<>();
        List<Long> run = new ArrayList<>();
        for (int i = 0; i < dims.length; i++) {
            if (!batch[i]) {
                run.add((long) dims[i]);
                continue;
            }
            if (!run.isEmpty()) {
                parts.add(onnx.int64s(run.stream().mapToLong(Long::longValue).toArray()));
                run.clear();
            }
            long k = dims[i] / batch1;
            parts.add(k == 1 ? batchSize() : onnx.node("Mul", List.of(batchSize(), onnx.int64s(k))));
        }
        if (parts.isEmpty()) {
            return onnx.int64s(toLongs(dims));
        }
        if (!run.isEmpty()) {
            parts.add(onnx.int64s(run.stream().mapToLong(Long::longValue).toArray()));
        }
        return parts.size() == 1 ? parts.get(0) : onnx.node("Concat", parts, intAttr("axis", 0));
    }

    /** The data input's batch size as a [1] INT64 tensor. */
    private String batchSize() {
        if (batchSize == null) {
            String shape = onnx.node("Shape", List.of(dataInput));
            batchSize = onnx.node("Gather", List.of(shape, onnx.int64s(0)), intAttr("axis", 0));
        }
        return batchSize;
    }

    private static long[] toLongs(int[] values) {
        long[] out = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
