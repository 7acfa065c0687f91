package dev.frugal.runtime.exec;

import dev.frugal.memory.ByteFormat;

import java.util.List;
import java.util.Locale;

/**
 * What a compiled program needs in memory, by class, known before its first step: the report of
 * the memory planner ({@link Executor#plan}, {@link Program#memoryPlan()}).
 *
 * <p>Parameters and state (optimizer moments, normalisation statistics, RNG counters) are the
 * caller's tensors, bound to the program; everything else is allocated by the program from its
 * backend's memory manager when it is compiled ({@link #managedBytes()}): the data input buffers,
 * one activation arena holding every computed value at its planned offset (forward activations,
 * gradients, optimizer temporaries), the kernels' workspaces, a few staging buffers and the constants. These
 * are counted as the memory manager counts them, each allocation rounded up to its 512-byte
 * blocks, so {@link #managedBytes()} is what its allocated-bytes statistic shows.
 *
 * @param parameterBytes       bound parameter inputs
 * @param stateBytes           bound state inputs
 * @param inputBytes           data input buffers
 * @param activationBytes      the activation arena, with the chosen checkpointing
 * @param forwardBytesAtPeak   of the arena at its fullest moment: values made by forward calls
 * @param backwardBytesAtPeak  of the arena at its fullest moment: gradients and other values made
 *                             by backward and update calls
 * @param unplannedActivationBytes the activation arena without checkpointing
 * @param workspaceBytes       kernel workspaces
 * @param stagingBytes         output snapshots, assignment staging and the constants block (made once)
 * @param stepFlops            FLOPs of one step without recomputation ({@link NodeCost})
 * @param recomputeFlops       FLOPs the recomputed segments add to a step
 * @param budgetBytes          the memory budget the plan was made for, -1 when none
 * @param fits                 whether {@link #predictedPeakBytes()} is within the budget (true without one)
 * @param smallestPeakBytes    when the budget is not met: the smallest total peak the planner could
 *                             reach by recomputing, else -1
 * @param checkpoints          one line per recomputed segment: the calls it reruns and where
 */
public record MemoryPlan(long parameterBytes, long stateBytes, long inputBytes,
                         long activationBytes, long forwardBytesAtPeak, long backwardBytesAtPeak,
                         long unplannedActivationBytes, long workspaceBytes, long stagingBytes,
                         long stepFlops, long recomputeFlops,
                         long budgetBytes, boolean fits, long smallestPeakBytes, List<String> checkpoints) {

    public MemoryPlan {
        checkpoints = List.copyOf(checkpoints);
    }

    /** Bytes the program allocates from its backend's memory manager. */
    public long managedBytes() {
        return inputBytes + activationBytes + workspaceBytes + stagingBytes;
    }

    /** Bytes bound from the caller: parameters and state. */
    public long boundBytes() {
        return parameterBytes + stateBytes;
    }

    /** The predicted peak of the whole step: bound tensors plus everything the program allocates. */
    public long predictedPeakBytes() {
        return boundBytes() + managedBytes();
    }

    /** The peak the same program would have without checkpointing. */
    public long unplannedPeakBytes() {
        return predictedPeakBytes() - activationBytes + unplannedActivationBytes;
    }

    /** Whether any segment is recomputed. */
    public boolean checkpointed() {
        return !checkpoints.isEmpty();
    }

    /** Step FLOPs with recomputation over step FLOPs without: 1.0 when nothing is recomputed. */
    public double recomputeFlopsRatio() {
        return stepFlops == 0 ? 1.0 : (double) (stepFlops + recomputeFlops) / stepFlops;
    }

    /** A multi-line report: the peak by class, the checkpoints and the recompute overhead. */
    public String explain() {
        StringBuilder sb = new StringBuilder();
        line(sb, "parameters", parameterBytes);
        line(sb, "state (optimizer, buffers)", stateBytes);
        line(sb, "data inputs", inputBytes);
        sb.append(String.format(Locale.ROOT, "  %-28s %12s   (at its fullest: %s forward activations, %s gradients and backward temporaries)%n",
                "activations (arena)", ByteFormat.format(activationBytes), ByteFormat.format(forwardBytesAtPeak),
                ByteFormat.format(backwardBytesAtPeak)));
        line(sb, "workspaces", workspaceBytes);
        line(sb, "staging", stagingBytes);
        line(sb, "predicted peak", predictedPeakBytes());
        line(sb, "without checkpointing", unplannedPeakBytes());
        if (budgetBytes >= 0) {
            sb.append(String.format(Locale.ROOT, "  %-28s %12s   %s%n", "budget", ByteFormat.format(budgetBytes),
                    fits ? "fits" : "does NOT fit" + (smallestPeakBytes >= 0 ? "; the smallest peak the planner can reach is "
                            + ByteFormat.exact(smallestPeakBytes) : "")));
        }
        if (checkpoints.isEmpty()) {
            sb.append("  checkpointing: none\n");
        } else {
            sb.append("  checkpointing: ").append(checkpoints.size()).append(" recomputed segment(s)\n");
            for (String c : checkpoints) {
                sb.append("    ").append(c).append('\n');
            }
        }
        sb.append(String.format(Locale.ROOT, "  recompute overhead: %.3fx step FLOPs (%,d of %,d)%n", recomputeFlopsRatio(), recomputeFlops, stepFlops));
        return sb.toString();
    }

    private static void line(StringBuilder sb, String what, long bytes) {
        sb.append(String.format(Locale.ROOT, "  %-28s %12s%n", what, ByteFormat.format(bytes)));
    }
}
