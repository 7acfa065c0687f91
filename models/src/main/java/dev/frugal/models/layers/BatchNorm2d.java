package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * Batch normalisation of NCHW input ({@code nn.BatchNorm2d}). Parameters {@code weight} (ones)
 * and {@code bias} (zeros); buffers {@code running_mean} (zeros) and {@code running_var} (ones),
 * named as PyTorch names them so checkpoints line up.
 *
 * <p>Training mode normalises with the batch statistics and assigns the updated running
 * statistics to the buffers at the end of the step ({@code running = (1 - momentum) * running +
 * momentum * batch}, unbiased variance); evaluation mode normalises with the running statistics
 * and changes nothing.
 */
public final class BatchNorm2d extends Module {
    private final int channels;
    private final double momentum;
    private final double eps;
    private final Variable weight;
    private final Variable bias;
    private final Variable runningMean;
    private final Variable runningVar;

    /** PyTorch's defaults: momentum 0.1, eps 1e-5. */
    public BatchNorm2d(int channels) {
        this(channels, 0.1, 1e-5);
    }

    /** A batch norm with the given running-average momentum (in [0, 1]) and eps (> 0). */
    public BatchNorm2d(int channels, double momentum, double eps) {
        if (channels < 1) {
            throw new IllegalArgumentException("BatchNorm2d: channels must be >= 1, got " + channels);
        }
        if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
            throw new IllegalArgumentException("BatchNorm2d: momentum must be in [0, 1] and eps > 0, got " + momentum + " and " + eps);
        }
        this.channels = channels;
        this.momentum = momentum;
        this.eps = eps;
        Shape c = Shape.of(channels);
        this.weight = addParameter("weight", c, Initializer.ones());
        this.bias = addParameter("bias", c, Initializer.zeros());
        this.runningMean = addBuffer("running_mean", c, DType.F32, Initializer.zeros());
        this.runningVar = addBuffer("running_var", c, DType.F32, Initializer.ones());
    }

    /** The number of channels normalised. */
    public int channels() {
        return channels;
    }

    /** The running mean buffer. */
    public Variable runningMean() {
        return runningMean;
    }

    /** The running variance buffer. */
    public Variable runningVar() {
        return runningVar;
    }

    /** {@code [N, C, H, W]} to the same shape; in training mode also assigns the running statistics. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value w = trace.value(weight);
        Value b = trace.value(bias);
        Value mean = trace.value(runningMean);
        Value var = trace.value(runningVar);
        if (!isTraining()) {
            return Functional.batchNorm2dEval(input, w, b, mean, var, eps);
        }
        Functional.BatchNormResult r = Functional.batchNorm2dTrain(input, w, b, mean, var, momentum, eps);
        Ops.assign(mean, r.runningMean());
        Ops.assign(var, r.runningVar());
        return r.output();
    }
}
