package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * Multi-head causal self-attention over {@code [B, T, width]}, as GPT-2's attention: one
 * projection {@code qkv} ({@link Linear} width to 3*width, whose output is laid out as
 * {@code [q | k | v]}, each split into {@code heads} heads of {@code width/heads} features), the
 * fused {@link Functional#scaledDotProductAttention} with the causal mask and scale
 * {@code 1/sqrt(width/heads)}, and the output projection {@code proj} (width to width). Position i
 * attends to positions 0..i only. No variables of its own; the same in training and evaluation.
 */
public final class CausalSelfAttention extends Module {
    private final int width;
    private final int heads;
    private final Linear qkv;
    private final Linear proj;

    /** With PyTorch's default initialisation of both projections. */
    public CausalSelfAttention(int width, int heads) {
        this(width, heads, null, null, null);
    }

    /**
     * With the given initialisers (null for PyTorch's default).
     *
     * @param weightInit the qkv projection's weight
     * @param projInit   the output projection's weight (GPT-2 scales it down with depth)
     * @param biasInit   both biases
     */
    public CausalSelfAttention(int width, int heads, Initializer weightInit, Initializer projInit, Initializer biasInit) {
        if (width < 1 || heads < 1) {
            throw new IllegalArgumentException("CausalSelfAttention: width and heads must be >= 1, got " + width + " and " + heads);
        }
        if (width % heads != 0) {
            throw new IllegalArgumentException("CausalSelfAttention: width " + width + " is not divisible by heads " + heads
                    + " (each head gets width/heads features)");
        }
        this.width = width;
        this.heads = heads;
        this.qkv = addModule("qkv", new Linear(width, 3 * width, true, weightInit, biasInit));
        this.proj = addModule("proj", new Linear(width, width, true, projInit, biasInit));
    }

    /** The model width. */
    public int width() {
        return width;
    }

    /** The number of heads. */
    public int heads() {
        return heads;
    }

    /** {@code [B, T, width]} to {@code [B, T, width]}. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        if (input.rank() != 3 || input.shape().dim(2) != width) {
            throw new IllegalArgumentException("CausalSelfAttention: expects [batch, positions, " + width + "], got "
                    + input.dtype() + input.shape());
        }
        int b = input.shape().dim(0);
        int t = input.shape().dim(1);
        int d = width / heads;
        // [B, T, 3*width] -> [B, T, 3, heads, d] -> [3, B, heads, T, d]: q, k and v head by head
        Value packed = Ops.permute(Ops.reshape(qkv.forward(trace, input), b, t, 3, heads, d), 2, 0, 3, 1, 4);
        Value q = Ops.reshape(Ops.slice(packed, 0, 0, 1, 1), b, heads, t, d);
        Value k = Ops.reshape(Ops.slice(packed, 0, 1, 2, 1), b, heads, t, d);
        Value v = Ops.reshape(Ops.slice(packed, 0, 2, 3, 1), b, heads, t, d);
        Value attended = Functional.scaledDotProductAttention(q, k, v, true);
        // [B, heads, T, d] -> [B, T, heads, d] -> [B, T, width]
        Value merged = Ops.reshape(Ops.permute(attended, 0, 2, 1, 3), b, t, width);
        return proj.forward(trace, merged);
    }
}
