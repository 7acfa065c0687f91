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
 *
 * <p>Each block's output channels can also be set one by one (the zoo's {@code block1} ..
 * {@code block6} options), which is how a structurally pruned network, whose blocks keep
 * different shares of their channels, stays an ordinary {@code mobilenet-tiny}.
 */
public final class MobileNetTiny extends Module {
    /** The blocks' output channels as multiples of the stem width. */
    private static final int[] CHANNEL_MULTIPLIERS = {2, 2, 4, 4, 8, 8};
    private static final int[] STRIDES = {2, 1, 2, 1, 2, 1};
    /** The number of depthwise-separable blocks. */
    public static final int BLOCKS = CHANNEL_MULTIPLIERS.length;

    private final Conv2d stem;
    private final BatchNorm2d stemBn;
    private final Sequential blocks;
    private final GlobalAvgPool2d pool;
    private final Linear classifier;

    /** The network for {@code inChannels}-channel input with base width {@code width}. */
    public MobileNetTiny(int inChannels, int width, int classes) {
        this(inChannels, width, defaultBlockChannels(width), classes);
    }

    /**
     * The network with {@code stemChannels} stem channels and the given output channels per block.
     *
     * @param blockChannels one count per block, {@link #BLOCKS} of them, each at least 1
     */
    public MobileNetTiny(int inChannels, int stemChannels, int[] blockChannels, int classes) {
        if (stemChannels < 1) {
            throw new IllegalArgumentException("mobilenet-tiny: width must be >= 1, got " + stemChannels);
        }
        if (blockChannels.length != BLOCKS) {
            throw new IllegalArgumentException("mobilenet-tiny: " + blockChannels.length + " block channel counts, expected " + BLOCKS);
        }
        this.stem = addModule("stem", new Conv2d(inChannels, stemChannels, 3, 1, 1, 1, 1, false));
        this.stemBn = addModule("stem_bn", new BatchNorm2d(stemChannels));
        Sequential b = new Sequential();
        int in = stemChannels;
        for (int i = 0; i < BLOCKS; i++) {
            int out = blockChannels[i];
            if (out < 1) {
                throw new IllegalArgumentException("mobilenet-tiny: block " + (i + 1) + " has " + out + " channels, expected >= 1");
            }
            b.add(new DepthwiseSeparableConv2d(in, out, STRIDES[i]));
            in = out;
        }
        this.blocks = addModule("blocks", b);
        this.pool = addModule("pool", new GlobalAvgPool2d());
        this.classifier = addModule("classifier", new Linear(in, classes));
    }

    /** The blocks' output channels for stem width {@code width}: {@code 2w, 2w, 4w, 4w, 8w, 8w}. */
    public static int[] defaultBlockChannels(int width) {
        int[] channels = new int[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            channels[i] = width * CHANNEL_MULTIPLIERS[i];
        }
        return channels;
    }

    /** The zoo option that sets block {@code i}'s (0-based) output channels: {@code block1} .. {@code block6}. */
    public static String blockOption(int i) {
        return "block" + (i + 1);
    }

    /** The output channels per block for a {@code mobilenet-tiny} spec, a 0 option resolved from the width. */
    public static int[] blockChannels(ModelSpec spec) {
        int[] channels = defaultBlockChannels(spec.get("width"));
        for (int i = 0; i < BLOCKS; i++) {
            int given = spec.get(blockOption(i));
            if (given > 0) {
                channels[i] = given;
            }
        }
        return channels;
    }

    /** {@code [N, C, H, W]} to {@code [N, classes]} logits. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = stemBn.forward(trace, stem.forward(trace, input)).relu();
        x = blocks.forward(trace, x);
        return classifier.forward(trace, pool.forward(trace, x));
    }
}
