package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.layers.Flatten;
import dev.frugal.models.layers.LayerNorm;
import dev.frugal.models.layers.Linear;
import dev.frugal.models.layers.ReLU;
import dev.frugal.models.layers.Residual;
import dev.frugal.models.layers.Sequential;
import dev.frugal.runtime.graph.Value;

/**
 * The zoo's {@code deep-mlp}: flatten, an {@code input} linear layer to {@code width} with ReLU,
 * {@code depth} pre-norm residual {@code blocks} {@code x + fc2(relu(fc1(norm(x))))} (children
 * {@code norm}, {@code fc1}, {@code relu}, {@code fc2} of a {@link Sequential}: 0, 1, 2, 3; fc1 has
 * {@code hidden} units, {@code width} unless the zoo's {@code hidden} option says otherwise, as
 * structured pruning does), a final {@code norm} and a linear {@code head}. The residual path and
 * the normalisation keep deep stacks trainable with plain SGD; the depth is what exercises the
 * memory planner.
 */
public final class DeepMlp extends Module {
    private final Flatten flatten;
    private final Linear input;
    private final Sequential blocks;
    private final LayerNorm norm;
    private final Linear head;

    /** {@code depth} residual blocks of width {@code width} between {@code inFeatures} and {@code classes}. */
    public DeepMlp(int inFeatures, int width, int depth, int classes) {
        this(inFeatures, width, width, depth, classes);
    }

    /** {@code depth} residual blocks of width {@code width} with {@code hidden} units inside each. */
    public DeepMlp(int inFeatures, int width, int hidden, int depth, int classes) {
        if (depth < 0 || hidden < 1) {
            throw new IllegalArgumentException("deep-mlp: depth must be >= 0 and hidden >= 1, got depth " + depth + ", hidden " + hidden);
        }
        this.flatten = addModule("flatten", new Flatten());
        this.input = addModule("input", new Linear(inFeatures, width));
        Sequential b = new Sequential();
        for (int i = 0; i < depth; i++) {
            b.add(new Residual(new Sequential(new LayerNorm(width), new Linear(width, hidden), new ReLU(), new Linear(hidden, width))));
        }
        this.blocks = addModule("blocks", b);
        this.norm = addModule("norm", new LayerNorm(width));
        this.head = addModule("head", new Linear(width, classes));
    }

    /** The units inside each residual block for a {@code deep-mlp} spec: its {@code hidden} option, or the width when that is 0. */
    public static int hiddenUnits(ModelSpec spec) {
        int hidden = spec.get("hidden");
        return hidden > 0 ? hidden : spec.get("width");
    }

    /** {@code [N, ...]} (any trailing shape with {@code inFeatures} elements) to {@code [N, classes]} logits. */
    @Override
    public Value forward(ModuleTrace trace, Value x) {
        Value h = input.forward(trace, flatten.forward(trace, x)).relu();
        h = blocks.forward(trace, h);
        return head.forward(trace, norm.forward(trace, h));
    }
}
