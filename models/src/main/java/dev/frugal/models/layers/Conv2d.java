package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * A 2-D convolution over NCHW input ({@code nn.Conv2d}) with square kernel, stride, padding and
 * dilation, and channel groups ({@code groups == inChannels} is a depthwise convolution).
 * Variables: {@code weight [out, in/groups, k, k]} and optionally {@code bias [out]}, initialised
 * as PyTorch does, uniform on {@code ±1/sqrt(in/groups * k * k)}.
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernelSize;
    private final OpAttrs.Conv2d geometry;
    private final Variable weight;
    private final Variable bias;

    /** A convolution with stride 1, no padding, no dilation, one group, and a bias. */
    public Conv2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1, 0, 1, 1, true);
    }

    /**
     * A convolution.
     *
     * @param groups   must divide both channel counts; {@code inChannels} gives a depthwise convolution
     * @param withBias whether to add a per-channel bias (leave it out before a batch norm, which cancels it)
     */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int dilation, int groups, boolean withBias) {
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1 || stride < 1 || padding < 0 || dilation < 1 || groups < 1) {
            throw new IllegalArgumentException("Conv2d: channels, kernel size, stride, dilation and groups must be >= 1 and padding >= 0; got in="
                    + inChannels + " out=" + outChannels + " kernel=" + kernelSize + " stride=" + stride + " padding=" + padding
                    + " dilation=" + dilation + " groups=" + groups);
        }
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("Conv2d: groups=" + groups + " must divide in channels " + inChannels + " and out channels " + outChannels);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.geometry = new OpAttrs.Conv2d(stride, stride, padding, padding, dilation, dilation, groups);
        long fanIn = (long) (inChannels / groups) * kernelSize * kernelSize;
        this.weight = addParameter("weight", Shape.of(outChannels, inChannels / groups, kernelSize, kernelSize), Initializer.kaimingUniform(fanIn));
        this.bias = withBias ? addParameter("bias", Shape.of(outChannels), Initializer.kaimingUniform(fanIn)) : null;
    }

    /** Input channels. */
    public int inChannels() {
        return inChannels;
    }

    /** Output channels. */
    public int outChannels() {
        return outChannels;
    }

    /** Kernel height and width. */
    public int kernelSize() {
        return kernelSize;
    }

    /** Stride, padding, dilation and groups as the runtime's convolution attributes. */
    public OpAttrs.Conv2d geometry() {
        return geometry;
    }

    /** {@code [N, in, H, W]} to {@code [N, out, H', W']}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value y = Ops.conv2d(input, trace.value(weight), geometry);
        if (bias == null) {
            return y;
        }
        return Ops.add(y, Ops.reshape(trace.value(bias), 1, outChannels, 1, 1));
    }
}
