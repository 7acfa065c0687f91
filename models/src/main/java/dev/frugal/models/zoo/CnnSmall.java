package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.layers.BatchNorm2d;
import dev.frugal.models.layers.Conv2d;
import dev.frugal.models.layers.Flatten;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.MaxPool2d;
import dev.frugal.models.layers.ReLU;
import dev.frugal.models.layers.Sequential;
import dev.frugal.runtime.graph.Value;

/**
 * The zoo's {@code cnn-small}: two blocks of 3x3 convolution (padding 1, no bias), batch norm,
 * ReLU and 2x2 max pooling ({@code block1}, {@code block2}, each a {@link Sequential}), then
 * {@code fc1} (to {@code hidden}), ReLU and {@code fc2} (to the classes). For 1x28x28 input the
 * feature map after the blocks is {@code channels2 x 7 x 7}.
 */
public final class CnnSmall extends Module {
    private final Sequential block1;
    private final Sequential block2;
    private final Flatten flatten;
    private final Linear fc1;
    private final Linear fc2;

    /**
     * A small CNN for {@code inChannels x height x width} input; height and width must be
     * divisible by 4 (two 2x2 poolings).
     */
    public CnnSmall(int inChannels, int height, int width, int channels1, int channels2, int hidden, int classes) {
        if (height % 4 != 0 || width % 4 != 0) {
            throw new IllegalArgumentException("cnn-small: input height and width must be divisible by 4 (two 2x2 poolings), got " + height + "x" + width);
        }
        this.block1 = addModule("block1", convBlock(inChannels, channels1));
        this.block2 = addModule("block2", convBlock(channels1, channels2));
        this.flatten = addModule("flatten", new Flatten());
        this.fc1 = addModule("fc1", new Linear(channels2 * (height / 4) * (width / 4), hidden));
        this.fc2 = addModule("fc2", new Linear(hidden, classes));
    }

    private static Sequential convBlock(int in, int out) {
        return new Sequential(new Conv2d(in, out, 3, 1, 1, 1, 1, false), new BatchNorm2d(out), new ReLU(), new MaxPool2d(2));
    }

    /** {@code [N, C, H, W]} to {@code [N, classes]} logits. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = block2.forward(trace, block1.forward(trace, input));
        x = fc1.forward(trace, flatten.forward(trace, x)).relu();
        return fc2.forward(trace, x);
    }
}
