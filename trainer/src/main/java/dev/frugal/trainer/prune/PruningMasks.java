package dev.frugal.trainer.prune;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.Value;
import dev.frugal.trainer.optim.OptimizerUpdate;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * The masks of a training step: one 0/1 float32 state tensor per pruned parameter, held with the
 * optimizer's state (so checkpoints save it and a resumed run continues with the same masks) and
 * multiplied into the parameter's update ({@link OptimizerUpdate#maskParameter}), so a pruned
 * weight stays exactly zero whatever its gradient and momentum. Masks start at 1; the
 * {@link Pruner} rewrites them on the host at the schedule's steps.
 */
public final class PruningMasks {
    /** Prefix of the masks' state names: {@code prune_mask/fc1.weight}. */
    public static final String STATE_PREFIX = "prune_mask/";

    private final Pruning pruning;
    private final SequencedMap<String, String> stateByParameter;

    private PruningMasks(Pruning pruning, SequencedMap<String, String> stateByParameter) {
        this.pruning = pruning;
        this.stateByParameter = Collections.unmodifiableSequencedMap(stateByParameter);
    }

    /**
     * Declares the masks of {@code targets} in the step and has the update multiply them in. Call
     * before the optimizer appends its update.
     *
     * @param pruning  the run's pruning
     * @param targets  the parameters to mask ({@link Pruning#targets})
     * @param names    the trained parameters' full names
     * @param params   their graph inputs, in the same order
     * @param update   the step's optimizer update
     * @throws IllegalArgumentException when a target is not trained (frozen parameters cannot be pruned)
     */
    public static PruningMasks declare(Pruning pruning, List<String> targets, List<String> names, List<Value> params, OptimizerUpdate update) {
        SequencedMap<String, String> states = new LinkedHashMap<>();
        for (String target : targets) {
            int i = names.indexOf(target);
            if (i < 0) {
                throw new IllegalArgumentException("--prune: parameter " + target + " is frozen (--freeze); frozen parameters cannot be pruned");
            }
            Value p = params.get(i);
            String state = STATE_PREFIX + target;
            Value mask = update.declareState(state, p.shape(), DType.F32, p.graph(), 1);
            update.maskParameter(p, mask);
            states.put(target, state);
        }
        return new PruningMasks(pruning, states);
    }

    /** The run's pruning. */
    public Pruning pruning() {
        return pruning;
    }

    /** Per masked parameter (full name, model order), the name of its mask in the optimizer state. */
    public SequencedMap<String, String> stateByParameter() {
        return stateByParameter;
    }
}
