package dev.frugal.models.zoo;

import dev.frugal.models.Initializer;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.models.layers.LayerNorm;
import dev.frugal.models.layers.Sequential;
import dev.frugal.models.layers.TransformerBlock;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/**
 * The zoo's {@code tiny-gpt}: a GPT-2-style decoder-only language model over a small (byte or
 * character) vocabulary. Token ids {@code [B, T]} (I32 or I64, {@code T <= context}) are looked up
 * in {@code token_embedding [vocab, width]}, the first T rows of the learned
 * {@code position_embedding [context, width]} are added, then {@code layers} pre-norm
 * {@link TransformerBlock}s ({@code blocks.0}, {@code blocks.1}, ...) with fused causal attention,
 * a final {@code norm}, and the output projection tied to the token embedding: the logits are
 * {@code h · token_embeddingᵀ}, {@code [B, T, vocab]}, with no weight of their own.
 *
 * <p>Initialisation follows GPT-2 (as nanoGPT does, rather than PyTorch's layer defaults, whose
 * normal(0, 1) embedding would make the tied logits hundreds of nats wide at the start): both
 * embeddings and every linear weight normal(0, 0.02), the two projections that write into the
 * residual stream in each block (attention {@code proj} and {@code mlp.2}) normal(0,
 * 0.02/sqrt(2*layers)), biases zero, layer norms one and zero. No dropout.
 */
public final class TinyGpt extends Module {
    private static final double INIT_STD = 0.02;

    private final int vocab;
    private final int context;
    private final int width;
    private final Variable tokenEmbedding;
    private final Variable positionEmbedding;
    private final Sequential blocks;
    private final LayerNorm norm;

    /**
     * A tiny GPT.
     *
     * @param vocab   tokens in the vocabulary (logits per position)
     * @param context the longest sequence it takes (rows of the position embedding)
     * @param layers  transformer blocks (0 gives embeddings, norm and the tied projection only)
     * @param width   the model width; a multiple of {@code heads}
     * @param heads   attention heads per block, each of {@code width/heads} features
     */
    public TinyGpt(int vocab, int context, int layers, int width, int heads) {
        this(vocab, context, layers, width, heads, 4 * width);
    }

    /**
     * A tiny GPT with {@code hidden} units in every block's MLP (GPT-2's is {@code 4*width}; the
     * zoo's {@code hidden} option, which structured pruning lowers).
     */
    public TinyGpt(int vocab, int context, int layers, int width, int heads, int hidden) {
        if (vocab < 1 || context < 1 || layers < 0 || width < 1 || heads < 1) {
            throw new IllegalArgumentException("tiny-gpt: vocab, context, width and heads must be >= 1 and layers >= 0, got vocab=" + vocab
                    + " context=" + context + " layers=" + layers + " width=" + width + " heads=" + heads);
        }
        if (width % heads != 0) {
            throw new IllegalArgumentException("tiny-gpt: width=" + width + " is not divisible by heads=" + heads
                    + " (each head gets width/heads features); choose a width that is a multiple of the heads");
        }
        this.vocab = vocab;
        this.context = context;
        this.width = width;
        Initializer weights = Initializer.normal(0, INIT_STD);
        Initializer residual = Initializer.normal(0, INIT_STD / Math.sqrt(2.0 * Math.max(1, layers)));
        this.tokenEmbedding = addParameter("token_embedding", Shape.of(vocab, width), weights);
        this.positionEmbedding = addParameter("position_embedding", Shape.of(context, width), weights);
        Sequential b = new Sequential();
        for (int i = 0; i < layers; i++) {
            b.add(new TransformerBlock(width, heads, hidden, weights, residual, Initializer.zeros()));
        }
        this.blocks = addModule("blocks", b);
        this.norm = addModule("norm", new LayerNorm(width));
    }

    /** The units of every block's MLP for a {@code tiny-gpt} spec: its {@code hidden} option, or 4 x width when that is 0. */
    public static int hiddenUnits(ModelSpec spec) {
        int hidden = spec.get("hidden");
        return hidden > 0 ? hidden : 4 * spec.get("width");
    }

    /** Tokens in the vocabulary. */
    public int vocab() {
        return vocab;
    }

    /** The longest sequence the model takes. */
    public int context() {
        return context;
    }

    /** The model width. */
    public int width() {
        return width;
    }

    /** Token ids: I32. */
    @Override
    public DType inputDType() {
        return DType.I32;
    }

    /**
     * {@code [B, T]} I32 or I64 token ids (each in 0..vocab-1; one out of range fails at run time)
     * to {@code [B, T, vocab]} logits; position i sees tokens 0..i only.
     *
     * @throws IllegalArgumentException for ids that are not an integer [B, T] or a T longer than the context
     */
    @Override
    public Value forward(ModuleTrace trace, Value tokens) {
        if (tokens.rank() != 2 || (tokens.dtype() != DType.I32 && tokens.dtype() != DType.I64)) {
            throw new IllegalArgumentException("tiny-gpt: expects token ids [batch, positions] of i32 or i64, got "
                    + tokens.dtype() + tokens.shape());
        }
        int t = tokens.shape().dim(1);
        if (t > context) {
            throw new IllegalArgumentException("tiny-gpt: " + t + " positions in " + tokens.dtype() + tokens.shape()
                    + " are more than the context of " + context + "; feed at most " + context + " tokens per sequence");
        }
        Value table = trace.value(tokenEmbedding);
        Value positionTable = trace.value(positionEmbedding);
        Value positions = t == context ? positionTable : Ops.slice(positionTable, 0, 0, t, 1);
        Value h = Ops.add(Functional.embedding(table, tokens), positions);
        h = norm.forward(trace, blocks.forward(trace, h));
        return Functional.linear(h, table, null); // tied: logits = h · token_embeddingᵀ
    }
}
