package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.layers.BatchNorm2d;
import dev.frugal.models.layers.Conv2d;
import dev.frugal.models.layers.DepthwiseSeparableConv2d;
import dev.frugal.models.layers.GlobalAvgPool2d;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.Sequential;
import dev.frugal.runtime.graph.Value;

/**
 * The zoo's {@code mobilenet-tiny}, a MobileNet-v1-style network for small images: a 3x3
 * {@code stem} convolution (to {@code width} channels) with batch norm and ReLU, then six
 * {@link DepthwiseSeparableConv2d} {@code blocks} with channels {@code 2w, 2w, 4w, 4w, 8w, 8w}
 * and strides {@code 2, 1, 2, 1, 2, 1} (28x28 becomes 14, 7, then 4), global average pooling,
 * and a linear {@code classifier}.
 */
public final class MobileNetTiny extends Module {
    private static final int[] CHANNEL_MULTIPLIERS = {2, 2, 4, 4, 8, 8};
    private static final int[] STRIDES = {2, 1, 2, 1, 2, 1};

    private final Conv2d stem;
    private final BatchNorm2d stemBn;
    private final Sequential blocks;
    private final GlobalAvgPool2d pool;
    private final Linear classifier;

    /** The network for {@code inChannels}-channel input with base width {@code width}. */
    public MobileNetTiny(int inChannels, int width, int classes) {
        if (width < 1) {
            throw new IllegalArgumentException("mobilenet-tiny: width must be >= 1, got " + width);
        }
        this.stem = addModule("stem", new Conv2d(inChannels, width, 3, 1, 1, 1, 1, false));
        this.stemBn = addModule("stem_bn", new BatchNorm2d(width));
        Sequential b = new Sequential();
        int in = width;
        for (int i = 0; i < CHANNEL_MULTIPLIERS.length; i++) {
            int out = width * CHANNEL_MULTIPLIERS[i];
            b.add(new DepthwiseSeparableConv2d(in, out, STRIDES[i]));
            in = out;
        }
        this.blocks = addModule("blocks", b);
        this.pool = addModule("pool", new GlobalAvgPool2d());
        this.classifier = addModule("classifier", new Linear(in, classes));
    }

    /** {@code [N, C, H, W]} to {@code [N, classes]} logits. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = stemBn.forward(trace, stem.forward(trace, input)).relu();
        x = blocks.forward(trace, x);
        return classifier.forward(trace, pool.forward(trace, x));
    }
}
