package dev.frugal.models.layers;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/** Max pooling over square NCHW windows ({@code nn.MaxPool2d}, no padding). No variables. */
public final class MaxPool2d extends Module {
    private final OpAttrs.Pool2d window;

    /** Windows of {@code kernelSize} moved by {@code stride}. */
    public MaxPool2d(int kernelSize, int stride) {
        if (kernelSize < 1 || stride < 1) {
            throw new IllegalArgumentException("MaxPool2d: kernel size and stride must be >= 1, got " + kernelSize + " and " + stride);
        }
        this.window = new OpAttrs.Pool2d(kernelSize, kernelSize, stride, stride, 0, 0, false);
    }

    /** Non-overlapping windows: stride equal to the kernel size, as PyTorch's default. */
    public MaxPool2d(int kernelSize) {
        this(kernelSize, kernelSize);
    }

    /** {@code [N, C, H, W]} to {@code [N, C, H', W']} with {@code H' = floor((H - k) / stride) + 1}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        return Ops.maxPool2d(input, window);
    }
}
