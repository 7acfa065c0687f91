package dev.frugal.models.layers;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * A pre-norm transformer block over {@code [B, T, width]}, as GPT-2's:
 * {@code x + attention(norm1(x))}, then {@code x + mlp(norm2(x))}, where {@code attention} is a
 * {@link CausalSelfAttention} and {@code mlp} a {@link Sequential} of Linear(width, hidden),
 * {@link GELU} (exact) and Linear(hidden, width) (children {@code 0}, {@code 1}, {@code 2}), with
 * GPT-2's {@code hidden = 4*width} unless given (structured pruning narrows it).
 */
public final class TransformerBlock extends Module {
    private final LayerNorm norm1;
    private final CausalSelfAttention attention;
    private final LayerNorm norm2;
    private final Sequential mlp;

    /** With PyTorch's default initialisation of every linear layer. */
    public TransformerBlock(int width, int heads) {
        this(width, heads, null, null, null);
    }

    /**
     * With the given initialisers (null for PyTorch's default).
     *
     * @param weightInit   the weights of the qkv projection and the first MLP layer
     * @param residualInit the weights of the two layers that write into the residual stream (the
     *                     attention's output projection and the second MLP layer)
     * @param biasInit     every bias
     */
    public TransformerBlock(int width, int heads, Initializer weightInit, Initializer residualInit, Initializer biasInit) {
        this(width, heads, 4 * width, weightInit, residualInit, biasInit);
    }

    /** As {@link #TransformerBlock(int, int, Initializer, Initializer, Initializer)}, with {@code hidden} units in the MLP. */
    public TransformerBlock(int width, int heads, int hidden, Initializer weightInit, Initializer residualInit, Initializer biasInit) {
        if (hidden < 1) {
            throw new IllegalArgumentException("TransformerBlock: hidden must be >= 1, got " + hidden);
        }
        this.norm1 = addModule("norm1", new LayerNorm(width));
        this.attention = addModule("attention", new CausalSelfAttention(width, heads, weightInit, residualInit, biasInit));
        this.norm2 = addModule("norm2", new LayerNorm(width));
        this.mlp = addModule("mlp", new Sequential(new Linear(width, hidden, true, weightInit, biasInit), new GELU(),
                new Linear(hidden, width, true, residualInit, biasInit)));
    }

    /** {@code [B, T, width]} to the same shape. */
    @Override
    public Value forward(ModuleTrace trace, Value input) {
        Value x = Ops.add(input, attention.forward(trace, norm1.forward(trace, input)));
        return Ops.add(x, mlp.forward(trace, norm2.forward(trace, x)));
    }
}
