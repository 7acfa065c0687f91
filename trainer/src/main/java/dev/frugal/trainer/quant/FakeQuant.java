package dev.frugal.trainer.quant;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * Int8 fake quantization traced as graph primitives: quantize to the integer grid, clamp, and
 * dequantize back to float32, so the forward pass sees exactly the values an int8 kernel would
 * (PyTorch's {@code fake_quantize_per_channel_affine} / {@code fake_quantize_per_tensor_affine},
 * whose CPU kernels this follows operation by operation: {@code q = round(x * (1 / scale)) + zp},
 * {@code y = (clamp(q, qmin, qmax) - zp) * scale}, with {@link dev.frugal.runtime.graph.Op#ROUND}
 * rounding half to even as {@code std::nearbyint}).
 *
 * <p>The straight-through estimator: with {@code straightThrough}, the gradient with respect to
 * {@code x} is 1 where the unclamped {@code q} lies in [qmin, qmax] and 0 elsewhere (PyTorch's
 * mask), and nothing flows into the scale or zero point (PyTorch computes them under no_grad).
 * It is built as {@code stop(y) + (m(x) - stop(m(x)))}, where {@code m(x)} is {@code x} where the
 * mask holds and 0 elsewhere: the difference is exactly 0 in the forward pass, so the output is
 * bit for bit {@code y}, and its derivative is the mask.
 */
public final class FakeQuant {
    /** Weights: symmetric int8 on the narrow range [-127, 127], so the zero point is 0 and -w quantizes to -q. */
    public static final int WEIGHT_QMIN = -127;
    public static final int WEIGHT_QMAX = 127;
    /** Activations: asymmetric uint8. */
    public static final int ACTIVATION_QMIN = 0;
    public static final int ACTIVATION_QMAX = 255;
    /** The smallest scale ({@code torch.finfo(torch.float32).eps}): an all-zero channel or range never divides by zero. */
    public static final float MIN_SCALE = Math.ulp(1f);
    /** The scope fake-quantization nodes are traced in (printed in listings). */
    public static final String SCOPE = "fake_quant";

    private FakeQuant() {
    }

    /** A scale and zero point, scalars or broadcastable to the quantized tensor; {@code zeroPoint} null for symmetric. */
    public record Params(Value scale, Value zeroPoint) {
    }

    /**
     * Per-channel symmetric parameters of a weight: {@code scale[c] = max(max|w[c]| / 127, eps)},
     * shaped to broadcast along {@code axis} (size 1 on the other axes).
     */
    public static Params weightParams(Value w, int axis) {
        int[] others = new int[w.rank() - 1];
        for (int i = 0, j = 0; i < w.rank(); i++) {
            if (i != axis) {
                others[j++] = i;
            }
        }
        Value amax = others.length == 0 ? Ops.abs(w) : Ops.max(Ops.abs(w), true, others);
        Value scale = Ops.maximum(Ops.div(amax, c(w, (WEIGHT_QMAX - WEIGHT_QMIN) / 2.0)), c(w, MIN_SCALE));
        return new Params(scale, null);
    }

    /**
     * Per-tensor asymmetric uint8 parameters from an observed range (PyTorch's
     * {@code _calculate_qparams}): the range is widened to include 0, {@code scale = max((max - min)
     * / 255, eps)}, {@code zp = clamp(0 - round(min / scale), 0, 255)}. An observer that has seen
     * nothing ({@code min > max}: its initial +inf/-inf) gives scale 1 and zero point 0, as PyTorch's does.
     *
     * @param min the observed minimum, an F32 scalar
     * @param max the observed maximum, an F32 scalar
     */
    public static Params activationParams(Value min, Value max) {
        Value zero = c(min, 0);
        Value minNeg = Ops.minimum(min, zero);
        Value maxPos = Ops.maximum(max, zero);
        Value scale = Ops.maximum(Ops.div(Ops.sub(maxPos, minNeg), c(min, ACTIVATION_QMAX - ACTIVATION_QMIN)), c(min, MIN_SCALE));
        Value zp = Ops.sub(c(min, ACTIVATION_QMIN), Ops.round(Ops.div(minNeg, scale)));
        zp = Ops.minimum(Ops.maximum(zp, c(min, ACTIVATION_QMIN)), c(min, ACTIVATION_QMAX));
        Value seen = Ops.le(min, max);
        return new Params(Ops.where(seen, scale, c(min, 1)), Ops.where(seen, zp, zero));
    }

    /**
     * Fake-quantizes {@code x} onto [qmin, qmax] with {@code p}; with {@code straightThrough} the
     * result carries the straight-through gradient described above, else it is traced as plain
     * primitives (inference: nothing differentiates it).
     */
    public static Value fakeQuantize(Value x, Params p, int qmin, int qmax, boolean straightThrough) {
        return x.graph().inScope(SCOPE, () -> {
            if (!straightThrough) {
                return quantizeDequantize(x, p, qmin, qmax)[1];
            }
            Value[] qy = Functional.stopGradient(x.graph(), () -> quantizeDequantize(x, p, qmin, qmax));
            Value q = qy[0];
            Value y = qy[1];
            Value passed = inRange(x, q, qmin, qmax);
            Value passedConstant = Functional.stopGradient(x.graph(), () -> inRange(x, q, qmin, qmax));
            return Ops.add(y, Ops.sub(passed, passedConstant));
        });
    }

    /** {@code {q, y}}: the unclamped integer {@code round(x / scale) + zp} and the dequantized value. */
    private static Value[] quantizeDequantize(Value x, Params p, int qmin, int qmax) {
        Value inverse = Ops.reciprocal(p.scale());
        Value q = Ops.round(Ops.mul(x, inverse));
        if (p.zeroPoint() != null) {
            q = Ops.add(q, p.zeroPoint());
        }
        Value clamped = Ops.minimum(Ops.maximum(q, c(x, qmin)), c(x, qmax));
        if (p.zeroPoint() != null) {
            clamped = Ops.sub(clamped, p.zeroPoint());
        }
        return new Value[] {q, Ops.mul(clamped, p.scale())};
    }

    /** {@code x} where {@code qmin <= q <= qmax}, else 0: the values the gradient passes through. */
    private static Value inRange(Value x, Value q, int qmin, int qmax) {
        Value zero = c(x, 0);
        return Ops.where(Ops.ge(q, c(x, qmin)), Ops.where(Ops.le(q, c(x, qmax)), x, zero), zero);
    }

    private static Value c(Value like, double v) {
        return Ops.constant(like.graph(), v, DType.F32);
    }
}
