package dev.frugal.trainer.text;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Generates text with a language model, one token at a time. The model's eval-mode forward pass
 * for one window, {@code [1, context]} token ids to {@code [1, context, vocab]} logits, is compiled
 * once and replayed for every token: the last {@code context} tokens so far are fed left-aligned,
 * the rest of the window padded with id 0, and the logits are read at the last real position.
 * Causal attention lets no position see a later one, so the padding cannot change them; a fixed
 * shape means one program instead of one per length.
 *
 * <p>The program binds the module's own tensors (load the weights first); {@link #close()} frees
 * the program and the input buffer, not the module.
 */
public final class TextGenerator implements AutoCloseable {
    private final int context;
    private final int vocab;
    private final Value tokens;
    private final Program program;
    private final Tensor window;
    private boolean closed;

    /**
     * Compiles the forward pass for one window.
     *
     * @param model an initialised language model mapping {@code [batch, context]} I32 ids to
     *     {@code [batch, context, vocab]} logits, causally
     * @param context the model's context
     * @param executor compiles the program
     * @throws IllegalArgumentException when the model's output is not {@code [1, context, vocab]}
     */
    public TextGenerator(Module model, int context, Executor executor) {
        if (context < 1) {
            throw new IllegalArgumentException("context " + context + ", expected at least 1 token");
        }
        this.context = context;
        boolean wasTraining = model.isTraining();
        model.eval();
        Graph g = new Graph("generate");
        Value logits;
        try {
            ModuleTrace trace = ModuleTrace.of(g, model);
            this.tokens = g.input("tokens", Shape.of(1, context), DType.I32);
            logits = trace.forward(tokens);
            Shape out = logits.shape();
            if (out.rank() != 3 || out.dim(0) != 1 || out.dim(1) != context) {
                throw new IllegalArgumentException("a language model maps [1, " + context + "] token ids to [1, " + context
                        + ", vocab] logits; this one gives " + out);
            }
            this.vocab = out.dim(2);
            this.program = executor.compile(g, List.of(logits));
            try {
                trace.bind(program);
            } catch (RuntimeException e) {
                program.close();
                throw e;
            }
        } finally {
            model.train(wasTraining);
        }
        this.window = Tensor.zeros(Shape.of(1, context), DType.I32);
    }

    /** The window the program reads. */
    public int context() {
        return context;
    }

    /** Logits per position: the model's vocabulary size. */
    public int vocabSize() {
        return vocab;
    }

    /**
     * The logits of the token that follows {@code tokens}, from the last {@code context} of them.
     *
     * @param tokens the text so far, at least one token, each below {@link #vocabSize()}
     * @return {@link #vocabSize()} logits
     */
    public float[] nextLogits(int[] tokens) {
        return nextLogits(tokens, tokens.length);
    }

    /**
     * Generates {@code count} tokens after {@code prompt}.
     *
     * @param prompt the prompt's tokens, at least one
     * @param count tokens to generate, at least 1
     * @param sampler picks each token from the logits
     * @return the generated tokens (without the prompt)
     */
    public int[] generate(int[] prompt, int count, NextTokenSampler sampler) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt; generation needs at least one token to start from");
        }
        if (count < 1) {
            throw new IllegalArgumentException("tokens to generate " + count + ", expected at least 1");
        }
        int[] text = Arrays.copyOf(prompt, prompt.length + count);
        for (int n = prompt.length; n < text.length; n++) {
            text[n] = sampler.next(nextLogits(text, n));
        }
        return Arrays.copyOfRange(text, prompt.length, text.length);
    }

    /** The logits after the first {@code length} tokens of {@code text}. */
    private float[] nextLogits(int[] text, int length) {
        if (closed) {
            throw new IllegalStateException("text generator is closed");
        }
        if (length < 1) {
            throw new IllegalArgumentException("no tokens to continue; expected at least one");
        }
        int from = Math.max(0, length - context);
        int real = length - from;
        for (int i = from; i < length; i++) {
            if (text[i] < 0 || text[i] >= vocab) {
                throw new IllegalArgumentException("token " + text[i] + " at position " + i + " is outside the model's vocabulary (0.."
                        + (vocab - 1) + ")");
            }
        }
        MemorySegment ids = window.segment();
        MemorySegment.copy(text, from, ids, ValueLayout.JAVA_INT, 0, real);
        ids.asSlice(4L * real, 4L * (context - real)).fill((byte) 0);
        Tensor logits = program.run(Map.of(tokens, window)).getFirst();
        return logits.slice(1, real - 1, real, 1).toFloatArray();
    }

    /** Frees the program and the window buffer (not the model). Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            program.close();
            window.close();
        }
    }
}
