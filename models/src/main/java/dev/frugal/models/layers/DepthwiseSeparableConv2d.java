package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Value;

/**
 * MobileNet's depthwise-separable block: a {@code k x k} depthwise convolution (one filter per
 * input channel, {@code groups = in}) with batch norm and ReLU, then a 1x1 pointwise convolution
 * that mixes channels, with batch norm and ReLU. Children: {@code depthwise}, {@code bn1},
 * {@code pointwise}, {@code bn2}; the convolutions have no bias (the batch norms cancel it).
 *
 * <p>Against a full {@code k x k} convolution this costs {@code in*k*k + in*out} weights instead
 * of {@code in*out*k*k}.
 */
public final class DepthwiseSeparableConv2d extends Module {
    private final Conv2d depthwise;
    private final BatchNorm2d bn1;
    private final Conv2d pointwise;
    private final BatchNorm2d bn2;

    /** A block with a 3x3 depthwise convolution, padding 1, and the given stride. */
    public DepthwiseSeparableConv2d(int inChannels, int outChannels, int stride) {
        this(inChannels, outChannels, 3, stride);
    }

    /** A block with a {@code kernelSize} depthwise convolution (odd, padded to keep the size at stride 1). */
    public DepthwiseSeparableConv2d(int inChannels, int outChannels, int kernelSize, int stride) {
        if (kernelSize < 1 || kernelSize % 2 == 0) {
            throw new IllegalArgumentException("DepthwiseSeparableConv2d: kernel size must be odd and >= 1, got " + kernelSize);
        }
        this.depthwise = addModule("depthwise", new Conv2d(inChannels, inChannels, kernelSize, stride, kernelSize / 2, 1, inChannels, false));
        this.bn1 = addModule("bn1", new BatchNorm2d(inChannels));
        this.pointwise = addModule("pointwise", new Conv2d(inChannels, outChannels, 1, 1, 0, 1, 1, false));
        this.bn2 = addModule("bn2", new BatchNorm2d(outChannels));
    }

    /** {@code [N, in, H, W]} to {@code [N, out, H', W']}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = bn1.forward(trace, depthwise.forward(trace, input)).relu();
        return bn2.forward(trace, pointwise.forward(trace, x)).relu();
    }
}
