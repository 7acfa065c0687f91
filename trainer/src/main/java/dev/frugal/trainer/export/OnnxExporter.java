package dev.frugal.trainer.export;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.checkpoint.AtomicFiles;
import dev.frugal.trainer.quant.QuantizedModule;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Exports a module's inference graph as a standard ONNX model (IR 8, opset 17) with a dynamic
 * batch size.
 *
 * <p>The module is traced in eval mode (batch norm with its running statistics, dropout off) at
 * two batch sizes; each live primitive node becomes one or a few ONNX nodes
 * ({@link OnnxOpMapping}), parameters and buffers become float initializers holding their current
 * values, and the axes whose size follows the batch are symbolic ({@code "batch"}) on the model's
 * input and output. Two traces rather than one because a trace at batch 1 cannot tell a batch
 * axis from any other axis of size 1 (and tracing skips expansions to the same shape). A graph
 * with an op ONNX cannot express fails with the op and its call site before anything is built.
 *
 * <p>A {@link QuantizedModule} (an int8 run) is exported in QDQ form ({@link QdqExport}): its
 * unquantized graph, with each quantized weight stored as INT8 behind DequantizeLinear and each
 * quantized contraction's input passed through QuantizeLinear -> DequantizeLinear.
 */
public final class OnnxExporter {
    /** The batch sizes of the two traces: distinct, and both above 1. */
    private static final int BATCH1 = 3;
    private static final int BATCH2 = 5;
    /** The name of the model's input and output, and of the batch dimension. */
    public static final String INPUT = "input";
    public static final String OUTPUT = "logits";
    public static final String BATCH = "batch";

    private OnnxExporter() {
    }

    /**
     * The serialised ONNX model of {@code model}'s forward pass in eval mode. The module's mode is
     * restored afterwards.
     *
     * @param model an initialised module mapping {@code [batch, ...sampleShape]} to its output
     * @param sampleShape the shape of one input sample, e.g. {@code [1, 28, 28]}
     * @param inputType the input's dtype
     * @param graphName the ONNX graph's name
     * @throws IllegalArgumentException when the graph holds an op ONNX cannot express (naming the op and its call site)
     */
    public static byte[] export(Module model, Shape sampleShape, DType inputType, String graphName) {
        boolean wasTraining = model.isTraining();
        model.eval();
        Trace t1;
        Trace t2;
        try {
            t1 = trace(model, sampleShape, inputType, BATCH1);
            t2 = trace(model, sampleShape, inputType, BATCH2);
        } finally {
            model.train(wasTraining);
        }
        List<Node> live1 = liveNodes(t1.output());
        List<Node> live2 = liveNodes(t2.output());
        for (Node n : live1) {
            if (!OnnxOpMapping.SUPPORTED.contains(n.op()) || (n.op() == Op.INPUT && n.attrs(OpAttrs.Input.class).kind() == InputKind.DATA
                    && n.output() != t1.input())) {
                throw OnnxOpMapping.unsupported(n);
            }
        }
        if (live1.size() != live2.size()) {
            throw new IllegalArgumentException("ONNX export: the forward pass traces " + live1.size() + " nodes at batch " + BATCH1 + " but "
                    + live2.size() + " at batch " + BATCH2 + "; its structure depends on the batch size");
        }
        OnnxGraphBuilder onnx = new OnnxGraphBuilder(graphName);
        OnnxOpMapping mapping = new OnnxOpMapping(onnx, BATCH1, BATCH2, INPUT);
        QdqExport qdq = model instanceof QuantizedModule q ? QdqExport.of(q) : null;
        if (qdq != null) {
            mapping.quantize(qdq);
        }
        for (int i = 0; i < live1.size(); i++) {
            Node a = live1.get(i);
            Node b = live2.get(i);
            if (a.op() != b.op() || a.inputs().size() != b.inputs().size()) {
                throw new IllegalArgumentException("ONNX export: node " + a.output().ref() + " is " + a.op().printName() + " at batch " + BATCH1 + " but "
                        + b.op().printName() + " at batch " + BATCH2 + " (traced at " + a.callSite() + ")");
            }
            OnnxOpMapping.BatchedNode bn = new OnnxOpMapping.BatchedNode(a, b);
            if (a.op() == Op.INPUT) {
                OpAttrs.Input in = a.attrs(OpAttrs.Input.class);
                if (in.kind() == InputKind.DATA) {
                    mapping.bind(bn, INPUT);
                    onnx.input(INPUT, inputType, symbolic(mapping, a.output()), BATCH);
                } else {
                    Variable v = t1.trace().variables().get(in.name());
                    if (qdq != null && qdq.quantizesWeight(in.name())) {
                        // an int8 weight: INT8 initializer -> DequantizeLinear stands for it
                        mapping.bind(bn, qdq.weight(onnx, in.name(), v.value()));
                    } else {
                        onnx.initializer(in.name(), v.dtype(), v.shape().dims(), littleEndian(in.name(), v.value()));
                        mapping.bind(bn, in.name());
                    }
                }
            } else {
                mapping.map(bn);
            }
        }
        Value out = t1.output();
        onnx.node("Identity", List.of(mapping.name(out)), OUTPUT);
        onnx.output(OUTPUT, out.dtype(), symbolic(mapping, out), BATCH);
        return onnx.toModelBytes("frugal");
    }

    /**
     * Exports as {@link #export} and writes the model to {@code target} atomically (a temporary
     * file renamed into place), so a failed export leaves no file and never a partial one.
     */
    public static void write(Module model, Shape sampleShape, DType inputType, String graphName, Path target) throws IOException {
        byte[] bytes = export(model, sampleShape, inputType, graphName);
        AtomicFiles.write(target, bytes);
    }

    private record Trace(ModuleTrace trace, Value input, Value output) {
    }

    private static Trace trace(Module model, Shape sampleShape, DType inputType, int batch) {
        int[] dims = new int[sampleShape.rank() + 1];
        dims[0] = batch;
        System.arraycopy(sampleShape.dims(), 0, dims, 1, sampleShape.rank());
        Graph g = new Graph("export-" + batch);
        ModuleTrace trace = ModuleTrace.of(g, model);
        Value x = g.input(INPUT, Shape.of(dims), inputType);
        // a quantized model is traced unquantized; its quantization becomes QDQ nodes (QdqExport)
        Value out = model instanceof QuantizedModule q ? q.forwardUnquantized(trace, x) : trace.forward(x);
        return new Trace(trace, x, out);
    }

    /** The nodes {@code output} needs, in trace order (effects are not exported). */
    private static List<Node> liveNodes(Value output) {
        Set<Node> live = new HashSet<>();
        Deque<Node> work = new ArrayDeque<>(List.of(output.node()));
        while (!work.isEmpty()) {
            Node n = work.pop();
            if (live.add(n)) {
                for (Value in : n.inputs()) {
                    work.add(in.node());
                }
            }
        }
        return output.graph().nodes().stream().filter(live::contains).toList();
    }

    /** The value's dims with -1 on batch axes. */
    private static int[] symbolic(OnnxOpMapping mapping, Value v) {
        int[] dims = v.shape().dims().clone();
        boolean[] batch = mapping.batchAxes(v);
        for (int i = 0; i < dims.length; i++) {
            if (batch[i]) {
                dims[i] = -1;
            }
        }
        return dims;
    }

    private static byte[] littleEndian(String name, Tensor t) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(t.numel() * t.dtype().byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F32 -> {
                for (float f : t.toFloatArray()) {
                    b.putFloat(f);
                }
            }
            case F64 -> {
                for (double d : t.toDoubleArray()) {
                    b.putDouble(d);
                }
            }
            case I64 -> {
                for (long l : t.toLongArray()) {
                    b.putLong(l);
                }
            }
            case I32 -> {
                for (long l : t.toLongArray()) {
                    b.putInt((int) l);
                }
            }
            default -> throw new IllegalArgumentException("ONNX export: variable '" + name + "' is " + t.dtype() + "; only f32, f64, i64 and i32 are exported");
        }
        return b.array();
    }
}
