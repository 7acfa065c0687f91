package dev.frugal.trainer.export;

import dev.frugal.runtime.Tensor;
import dev.frugal.trainer.quant.FakeQuant;
import dev.frugal.trainer.quant.QuantizedContraction;
import dev.frugal.trainer.quant.QuantizedModule;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.frugal.trainer.export.OnnxGraphBuilder.intAttr;

/**
 * The QDQ form of a {@link QuantizedModule}'s int8 quantization in ONNX, the form ONNX Runtime's
 * own quantizer writes: each quantized weight is stored as an INT8 initializer with per-channel
 * float scales and zero points 0 and read through {@code DequantizeLinear} (axis = the output
 * channel), and each quantized activation passes through {@code QuantizeLinear} ->
 * {@code DequantizeLinear} with the per-tensor scale and UINT8 zero point of its observer. The
 * numbers are those Frugal's fake quantization computes ({@link FakeQuant}), in the same float32
 * arithmetic, so a runtime that executes the QDQ pairs sees the same int8 values (ONNX's
 * QuantizeLinear divides by the scale where Frugal multiplies by its reciprocal, which may move a
 * value by one step in rare ties).
 */
final class QdqExport {
    private final QuantizedModule model;
    private final Map<String, QuantizedContraction> byWeight = new LinkedHashMap<>();

    private QdqExport(QuantizedModule model) {
        this.model = model;
        for (QuantizedContraction c : model.contractions()) {
            if (byWeight.put(c.weightName(), c) != null) {
                throw new IllegalArgumentException("ONNX export: weight '" + c.weightName() + "' feeds several quantized contractions;"
                        + " QDQ export quantizes each weight once");
            }
        }
    }

    /** The plan of {@code model}'s QDQ nodes. */
    static QdqExport of(QuantizedModule model) {
        return new QdqExport(model);
    }

    /** Whether the parameter {@code name} is a quantized weight (stored as INT8). */
    boolean quantizesWeight(String name) {
        return byWeight.containsKey(name);
    }

    /**
     * Stores the weight {@code name} as INT8 with its per-channel scales and returns the name of
     * its {@code DequantizeLinear} output, which stands for the weight in the graph.
     */
    String weight(OnnxGraphBuilder onnx, String name, Tensor value) {
        QuantizedContraction c = byWeight.get(name);
        int[] dims = value.shape().dims();
        if (dims.length != 2 && c.channelAxis() != 0) {
            throw new IllegalArgumentException("ONNX export: weight '" + name + "' of shape " + value.shape() + " with channel axis " + c.channelAxis());
        }
        float[] w = value.toFloatArray();
        int channels = dims[c.channelAxis()];
        int inner = c.channelAxis() == 0 ? w.length / channels : 1;          // [C, ...]: contiguous rows
        int stride = c.channelAxis() == 0 ? inner : channels;                // [K, C]: channel is the column
        int perChannel = w.length / channels;
        float[] scale = new float[channels];
        byte[] q = new byte[w.length];
        for (int ch = 0; ch < channels; ch++) {
            float amax = 0;
            for (int i = 0; i < perChannel; i++) {
                amax = Math.max(amax, Math.abs(w[index(c.channelAxis(), ch, i, inner, stride)]));
            }
            // FakeQuant.weightParams: max(amax / 127, eps), then round(w * (1 / scale)) clamped to [-127, 127]
            scale[ch] = Math.max(amax / (float) ((FakeQuant.WEIGHT_QMAX - FakeQuant.WEIGHT_QMIN) / 2.0), FakeQuant.MIN_SCALE);
            float inverse = 1f / scale[ch];
            for (int i = 0; i < perChannel; i++) {
                int at = index(c.channelAxis(), ch, i, inner, stride);
                double r = Math.rint(w[at] * inverse);
                q[at] = (byte) Math.max(FakeQuant.WEIGHT_QMIN, Math.min(FakeQuant.WEIGHT_QMAX, r));
            }
        }
        String data = onnx.constant(name + "_int8", OnnxGraphBuilder.INT8, dims, q);
        String scales = onnx.constant(name + "_scale", 1, new int[] {channels}, floats(scale));
        String zeros = onnx.constant(name + "_zero_point", OnnxGraphBuilder.INT8, new int[] {channels}, new byte[channels]);
        return onnx.node("DequantizeLinear", List.of(data, scales, zeros), intAttr("axis", c.channelAxis()));
    }

    /** Whether the contraction reading {@code weightName} quantizes its input. */
    boolean quantizesInputOf(String weightName) {
        return byWeight.containsKey(weightName);
    }

    /** {@code x} through QuantizeLinear -> DequantizeLinear with the observed range of the contraction reading {@code weightName}. */
    String activation(OnnxGraphBuilder onnx, String x, String weightName) {
        QuantizedContraction c = byWeight.get(weightName);
        float[] range = model.observer(c.key()).range();
        float[] qp = activationParams(range[0], range[1]);
        String scale = onnx.constant(c.key() + "_input_scale", 1, new int[0], floats(new float[] {qp[0]}));
        String zero = onnx.constant(c.key() + "_input_zero_point", OnnxGraphBuilder.UINT8, new int[0], new byte[] {(byte) (int) qp[1]});
        String q = onnx.node("QuantizeLinear", List.of(x, scale, zero));
        return onnx.node("DequantizeLinear", List.of(q, scale, zero));
    }

    /** {@link FakeQuant#activationParams} in Java float32: {@code {scale, zeroPoint}}. */
    static float[] activationParams(float min, float max) {
        if (!(min <= max)) {
            return new float[] {1f, 0f}; // an observer that saw nothing
        }
        float minNeg = Math.min(min, 0f);
        float maxPos = Math.max(max, 0f);
        float scale = Math.max((maxPos - minNeg) / (float) (FakeQuant.ACTIVATION_QMAX - FakeQuant.ACTIVATION_QMIN), FakeQuant.MIN_SCALE);
        float zp = (float) Math.min(Math.max(FakeQuant.ACTIVATION_QMIN - Math.rint(minNeg / scale), FakeQuant.ACTIVATION_QMIN), FakeQuant.ACTIVATION_QMAX);
        return new float[] {scale, zp};
    }

    private static int index(int axis, int channel, int i, int inner, int stride) {
        return axis == 0 ? channel * inner + i : i * stride + channel;
    }

    private static byte[] floats(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }
}
