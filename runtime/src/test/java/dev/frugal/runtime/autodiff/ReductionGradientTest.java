package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.testing.Distribution;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of REDUCE_SUM, REDUCE_MAX and REDUCE_MIN over several axis sets. */
class ReductionGradientTest {
    private static final Shape X = Shape.of(3, 4, 2);

    @Test
    void sumOverOneAxis() {
        GradientCheck.of("sum_axis1").input("x", X).check(in -> Ops.sum(in.get(0), false, 1));
    }

    @Test
    void sumOverTwoAxesKeepingThem() {
        GradientCheck.of("sum_axes02_keep").input("x", X).check(in -> Ops.sum(in.get(0), true, 0, 2));
    }

    @Test
    void sumOfEverything() {
        GradientCheck.of("sum_all").input("x", X).check(in -> Ops.sum(in.get(0), false));
    }

    @Test
    void mean() {
        GradientCheck.of("mean").input("x", X).check(in -> Ops.mean(in.get(0), false, -1));
    }

    @Test
    void maxOverOneAxis() {
        GradientCheck.of("max_axis1").input("x", X, Distribution.distinct(0.1)).check(in -> Ops.max(in.get(0), false, 1));
    }

    @Test
    void maxOfEverything() {
        GradientCheck.of("max_all").input("x", X, Distribution.distinct(0.1)).check(in -> Ops.max(in.get(0), false));
    }

    @Test
    void minOverTwoAxesKeepingThem() {
        GradientCheck.of("min_axes02_keep").input("x", X, Distribution.distinct(0.1)).check(in -> Ops.min(in.get(0), true, 0, 2));
    }
}
