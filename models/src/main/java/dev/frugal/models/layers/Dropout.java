package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.SeedStreams;
import dev.frugal.models.Variable;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * Inverted dropout ({@code nn.Dropout}): in training mode zeroes each element with probability
 * {@code p} and scales the rest by {@code 1/(1-p)}; in evaluation mode it is the identity.
 *
 * <p>The mask is the runtime's counter-based draw, a pure function of a seed and a counter. The
 * seed is derived from the model seed and this module's full name at
 * {@link Module#initialize(long)}; the counter is the I64 buffer {@code offset}, which each
 * training step advances by the number of elements dropped over (by an assignment in the traced
 * graph), so masks differ from step to step, and a checkpoint that saves the buffer resumes the
 * exact sequence of masks.
 */
public final class Dropout extends Module {
    private final double p;
    private final Variable offset;
    private Long seed;

    /** Dropout with probability {@code p} in [0, 1). */
    public Dropout(double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("Dropout: probability must be in [0, 1), got " + p);
        }
        this.p = p;
        this.offset = addBuffer("offset", Shape.scalar(), DType.I64, Initializer.zeros());
    }

    /** The drop probability. */
    public double p() {
        return p;
    }

    /** The mask seed, derived from the model seed and this module's name at initialisation. */
    @Override
    protected void onInitialize(long modelSeed, String fullName) {
        seed = SeedStreams.derive(modelSeed, fullName + "#dropout");
    }

    /**
     * The identity in evaluation mode or with {@code p = 0}; otherwise the masked, rescaled input,
     * and an assignment advancing the counter by {@code input.numel()}.
     *
     * @throws IllegalStateException in training mode before {@link Module#initialize(long)} (no seed yet)
     */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        if (!isTraining() || p == 0) {
            return input;
        }
        if (seed == null) {
            throw new IllegalStateException("Dropout: initialize(seed) the model before tracing it in training mode (the mask seed comes from the model seed)");
        }
        Value counter = trace.value(offset);
        Value out = Functional.dropout(input, p, true, counter, seed, 0);
        Ops.assign(counter, Ops.add(counter, Ops.constant(trace.graph(), input.shape().numel(), DType.I64)));
        return out;
    }
}
