package dev.frugal.runtime.cpu.kernels;

import jdk.incubator.vector.FloatVector;

/**
 * Horizontal sums of vector lanes in a fixed order.
 *
 * <p>{@code FloatVector.reduceLanes(VectorOperators.ADD)} leaves the order of the additions
 * unspecified, and in practice the interpreter and the JIT-compiled code add the lanes in
 * different orders, so the same program on the same input gave different last bits depending on
 * whether the loop had been compiled yet. That breaks bit-identical training runs and exact
 * recomputation. Every floating-point lane sum in the CPU kernels goes through here instead.
 */
public final class LaneSums {

    private LaneSums() {
    }

    /** {@code v[0] + v[1] + ... + v[n-1]}, added left to right in float arithmetic. */
    public static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }
}
