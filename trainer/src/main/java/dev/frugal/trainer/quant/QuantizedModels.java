package dev.frugal.trainer.quant;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Zoo models with their quantization: what {@code frugal train}, {@code eval}, {@code export} and
 * {@code quantize} build from a run's configuration, and what {@code summary.json} records.
 */
public final class QuantizedModels {
    private QuantizedModels() {
    }

    /**
     * The zoo model {@code spec}, initialised with {@code seed}, wrapped in a {@link QuantizedModule}
     * when {@code quantization} is given.
     *
     * @throws IllegalArgumentException naming the op and option when the model cannot be quantized as asked
     */
    public static Model create(String spec, long seed, QuantizationSpec quantization) {
        return quantize(ModelZoo.create(spec, seed), quantization);
    }

    /**
     * {@code model} with its module wrapped in a {@link QuantizedModule} (the returned model owns
     * the tree), or {@code model} itself when {@code quantization} is null. On failure the model is closed.
     */
    public static Model quantize(Model model, QuantizationSpec quantization) {
        if (quantization == null) {
            return model;
        }
        try {
            return model.withModule(QuantizedModule.wrap(model.module(), model.inputShape(), quantization));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * The quantization of a model built by {@link #create}, for {@code summary.json}: the scheme,
     * how the ranges were obtained, and each quantized contraction with its observed input range.
     *
     * @param method {@code quantization-aware training} or {@code post-training calibration (N batches)}
     */
    public static Map<String, Object> summary(Model model, String method) {
        if (!(model.module() instanceof QuantizedModule q)) {
            throw new IllegalArgumentException("model " + model.name() + " is not quantized");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("scheme", q.spec().toString());
        out.put("method", method);
        out.put("weights", "int8 per output channel, symmetric, [" + FakeQuant.WEIGHT_QMIN + ", " + FakeQuant.WEIGHT_QMAX + "]");
        out.put("activations", "uint8 per tensor, asymmetric, [" + FakeQuant.ACTIVATION_QMIN + ", " + FakeQuant.ACTIVATION_QMAX
                + "], observed range");
        List<Map<String, Object>> layers = new ArrayList<>();
        for (QuantizedContraction c : q.contractions()) {
            float[] range = q.observer(c.key()).range();
            Map<String, Object> layer = new LinkedHashMap<>();
            layer.put("op", c.op().printName());
            layer.put("weight", c.weightName());
            layer.put("input_min", finiteOrNull(range[0]));
            layer.put("input_max", finiteOrNull(range[1]));
            layers.add(layer);
        }
        out.put("contractions", layers);
        return out;
    }

    private static Object finiteOrNull(float v) {
        return Float.isFinite(v) ? (Object) (double) v : null;
    }
}
