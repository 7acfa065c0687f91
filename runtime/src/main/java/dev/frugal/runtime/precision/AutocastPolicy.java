package dev.frugal.runtime.precision;

import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Which operations the {@link Autocast} pass runs in low precision and which in float32: the one
 * place the mixed-precision policy lives (PyTorch's autocast op lists, for this graph's
 * primitives and composite scopes).
 *
 * <ul>
 *   <li>{@link Rule#LOW}: the contractions (matmul, so linear layers and unfused attention,
 *       convolution and both of its gradients, fused attention and its gradient) run in
 *       FP16/BF16; their kernels accumulate in float32 (fused attention also keeps its softmax
 *       in float32 inside the kernel).</li>
 *   <li>{@link Rule#FP32}: exp, log, pow, sqrt, rsqrt and reciprocal, every sum (so means, norms
 *       and variances), and every floating operation inside a float32 scope: softmax, log-softmax,
 *       the losses, layer norm, and what the trainer appends after the gradients (clipping, loss
 *       scaling, the optimizer update). Sums (and a max or min in a float32 scope) read a
 *       low-precision input as it is and accumulate and store in float32, so no widened copy
 *       is made.</li>
 *   <li>{@link Rule#FOLLOW}: everything else (add, mul, relu, where, pooling, movement, ...) runs
 *       in its inputs' type. Mixed inputs run in float32, except that a low-precision operand of
 *       the output's full size wins over float32 operands that are only broadcast into it (a
 *       bias, a per-channel scale or mean, a scalar), which are then rounded to the low type:
 *       otherwise a bias add would turn every activation back into float32. A value read only by
 *       sums is computed in float32, so a product that is summed (a variance, a batch-norm
 *       gradient) cannot overflow the half type before it is accumulated.</li>
 * </ul>
 *
 * The hand-fused row ops have rules of their own, ahead of the scopes: softmax cross-entropy
 * and its gradient, and layer norm's weight gradient, in float32 (reading a half input as it is,
 * like a sum); layer norm and its input gradient follow their input (their statistics are
 * float32 inside the kernel).
 *
 * <p>Batch norm has no scope rule: its statistics are sums (float32) and its normalised output
 * follows its input, as PyTorch's fused batch norm keeps an FP16 input's type. Only float32
 * nodes are ever lowered: float64 (reference computations) and explicit FP16/BF16 stay as traced.
 */
public final class AutocastPolicy {
    /** What the table says about one node. */
    public enum Rule { LOW, FP32, FOLLOW }

    private static final Set<Op> LOW_OPS = EnumSet.of(Op.MATMUL, Op.CONV2D, Op.CONV2D_GRAD_INPUT, Op.CONV2D_GRAD_WEIGHT,
            Op.ATTENTION, Op.ATTENTION_GRAD);
    private static final Set<Op> FP32_OPS = EnumSet.of(Op.EXP, Op.LOG, Op.POW, Op.SQRT, Op.RSQRT, Op.RECIPROCAL, Op.REDUCE_SUM);
    /**
     * The hand-fused row ops, which keep their statistics in float32 inside the kernel whatever
     * their operands' type, so their rule is the op's own, ahead of any scope: cross-entropy (and
     * its gradient) and layer norm's weight gradient read half inputs as they are and write
     * float32; layer norm and its input gradient follow their input, as PyTorch's fused layer
     * norm keeps an FP16 input's type.
     */
    private static final java.util.Map<Op, Rule> OWN_RULE_OPS = java.util.Map.of(
            Op.SOFTMAX_CROSS_ENTROPY, Rule.FP32, Op.SOFTMAX_CROSS_ENTROPY_GRAD, Rule.FP32, Op.LAYER_NORM_WEIGHT_GRAD, Rule.FP32,
            Op.LAYER_NORM, Rule.FOLLOW, Op.LAYER_NORM_GRAD, Rule.FOLLOW);
    /**
     * Composite scopes computed wholly in float32. The last four are the trainer's: what follows
     * the gradients works on float32 master weights and optimizer state.
     */
    public static final Set<String> FP32_SCOPES = Set.of("softmax", "log_softmax", "cross_entropy", "cross_entropy_per_sample",
            "mse_loss", "layer_norm", "grad_clip", "loss_scale", "optimizer");

    private static final AutocastPolicy DEFAULT = new AutocastPolicy();

    private AutocastPolicy() {
    }

    /** The policy described above. */
    public static AutocastPolicy standard() {
        return DEFAULT;
    }

    /**
     * The rule for {@code node}: a hand-fused row op's own rule comes first, then a float32 scope
     * anywhere in its scope path, then the op lists.
     */
    public Rule ruleFor(Node node) {
        Rule own = OWN_RULE_OPS.get(node.op());
        if (own != null) {
            return own;
        }
        if (inFp32Scope(node.scope())) {
            return Rule.FP32;
        }
        if (LOW_OPS.contains(node.op())) {
            return Rule.LOW;
        }
        return FP32_OPS.contains(node.op()) ? Rule.FP32 : Rule.FOLLOW;
    }

    /** True when one segment of the "outer/inner" scope path is a float32 scope. */
    static boolean inFp32Scope(String scope) {
        if (scope.isEmpty()) {
            return false;
        }
        for (String part : scope.split("/")) {
            if (FP32_SCOPES.contains(part)) {
                return true;
            }
        }
        return false;
    }

    /** The table, one line per rule, for {@code frugal plan --precision}. */
    public List<String> describe(Precision precision) {
        String low = precision.lowDtype().toString().toLowerCase(Locale.ROOT);
        return List.of(
                "in " + low + " (float32 accumulation): " + names(LOW_OPS),
                "in f32: " + names(FP32_OPS) + ", softmax_cross_entropy (and its gradient), layer_norm_weight_grad"
                        + "; every op in the scopes " + String.join(", ", new TreeSet<>(FP32_SCOPES))
                        + " (except layer_norm and layer_norm_grad, which follow their input and keep float32 statistics inside)",
                "the rest follows its inputs: mixed inputs run in f32, unless a full-size " + low
                        + " input meets only broadcast f32 operands (bias, per-channel statistics, scalars); values read only by sums run in f32");
    }

    private static String names(Set<Op> ops) {
        return ops.stream().map(Op::printName).collect(Collectors.joining(", "));
    }
}
