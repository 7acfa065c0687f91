package dev.frugal.trainer.quant;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * The observed range of one quantized activation: two F32 scalar buffers, {@code min} and
 * {@code max}, starting at +inf and -inf (nothing seen). As module buffers they are checkpointed,
 * resumed, loaded by {@code frugal eval} and bound into programs exactly like batch norm's running
 * statistics, and updated by the step's own assignments.
 *
 * <p>Two update rules: during quantization-aware training PyTorch's MovingAverageMinMaxObserver
 * ({@code min += c * (batch_min - min)}, the first batch taken as it is); during calibration its
 * MinMaxObserver (the running minimum and maximum over every batch seen).
 */
public final class RangeObserver extends Module {
    private final Variable min;
    private final Variable max;

    /** An observer that has seen nothing. */
    public RangeObserver() {
        this.min = addBuffer("min", Shape.of(), DType.F32, Initializer.constant(Double.POSITIVE_INFINITY));
        this.max = addBuffer("max", Shape.of(), DType.F32, Initializer.constant(Double.NEGATIVE_INFINITY));
    }

    /** The {@code min} buffer. */
    public Variable minVariable() {
        return min;
    }

    /** The {@code max} buffer. */
    public Variable maxVariable() {
        return max;
    }

    /** The current range, read from the buffers' tensors: {@code {min, max}} ({@code {+inf, -inf}} when nothing was seen). */
    public float[] range() {
        return new float[] {min.value().toFloatArray()[0], max.value().toFloatArray()[0]};
    }

    /** The range as the graph reads it: {@code {min, max}} state inputs of {@code trace}. */
    Value[] read(ModuleTrace trace) {
        return new Value[] {trace.value(min), trace.value(max)};
    }

    /**
     * Traces the moving-average update with {@code x}'s batch range and assigns it at the end of
     * the step; returns the updated {@code {min, max}} (PyTorch's FakeQuantize observes first and
     * quantizes the batch with the updated range).
     */
    Value[] observeMovingAverage(ModuleTrace trace, Value x, double momentum) {
        Value[] old = read(trace);
        Value batchMin = Ops.min(x, false);
        Value batchMax = Ops.max(x, false);
        Value seen = Ops.le(old[0], old[1]);
        Value c = Ops.constant(x.graph(), momentum, DType.F32);
        Value newMin = Ops.where(seen, Ops.add(old[0], Ops.mul(c, Ops.sub(batchMin, old[0]))), batchMin);
        Value newMax = Ops.where(seen, Ops.add(old[1], Ops.mul(c, Ops.sub(batchMax, old[1]))), batchMax);
        Ops.assign(old[0], newMin);
        Ops.assign(old[1], newMax);
        return new Value[] {newMin, newMax};
    }

    /** Traces the running min/max update with {@code x}'s batch range (calibration) and assigns it. */
    void observeMinMax(ModuleTrace trace, Value x) {
        Value[] old = read(trace);
        Ops.assign(old[0], Ops.minimum(old[0], Ops.min(x, false)));
        Ops.assign(old[1], Ops.maximum(old[1], Ops.max(x, false)));
    }

    /** An observer is only read by {@link QuantizedModule}; it has no forward pass of its own. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        throw new UnsupportedOperationException("a RangeObserver is updated by QuantizedModule's pass, not called as a layer");
    }
}
