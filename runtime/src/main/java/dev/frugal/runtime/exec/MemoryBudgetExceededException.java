package dev.frugal.runtime.exec;

import dev.frugal.memory.ByteFormat;

/**
 * Thrown by {@link Executor#compile} when a program cannot fit the executor's memory budget even
 * with every recomputation the planner can find: before anything is allocated or run, with the
 * plan that explains why.
 */
public final class MemoryBudgetExceededException extends RuntimeException {
    private final transient MemoryPlan plan;

    MemoryBudgetExceededException(String program, MemoryPlan plan) {
        super("program '" + program + "' needs " + ByteFormat.exact(plan.predictedPeakBytes()) + " but the memory budget is "
                + ByteFormat.exact(plan.budgetBytes())
                + (plan.smallestPeakBytes() >= 0 ? "; with the most recomputation the planner finds it needs at least "
                + ByteFormat.exact(plan.smallestPeakBytes()) : "")
                + " (parameters and state alone take " + ByteFormat.exact(plan.boundBytes()) + ")\n" + plan.explain());
        this.plan = plan;
    }

    /** The plan of the smallest arrangement the planner found. */
    public MemoryPlan plan() {
        return plan;
    }
}
