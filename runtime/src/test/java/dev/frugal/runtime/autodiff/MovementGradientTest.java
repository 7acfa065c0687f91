package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of RESHAPE, PERMUTE, EXPAND, SLICE (with steps), PAD and CONCAT. */
class MovementGradientTest {

    @Test
    void reshape() {
        GradientCheck.of("reshape").input("x", Shape.of(2, 3, 4)).check(in -> Ops.reshape(in.get(0), 6, 4));
    }

    @Test
    void permute() {
        GradientCheck.of("permute").input("x", Shape.of(2, 3, 4)).check(in -> Ops.permute(in.get(0), 2, 0, 1));
    }

    @Test
    void expand() {
        GradientCheck.of("expand").input("x", Shape.of(3, 1)).check(in -> Ops.expand(in.get(0), Shape.of(2, 3, 4)));
    }

    @Test
    void stridedSlice() {
        GradientCheck.of("slice").input("x", Shape.of(5, 7))
                .check(in -> Ops.slice(in.get(0), new int[] {1, 0}, new int[] {5, 7}, new int[] {2, 3}));
    }

    @Test
    void sliceWithStepThatLeavesATail() {
        // 6 elements from 0 with step 4 take indices 0 and 4; index 5 must get no gradient
        GradientCheck.of("slice_tail").input("x", Shape.of(2, 6)).check(in -> Ops.slice(in.get(0), 1, 0, 6, 4));
    }

    @Test
    void pad() {
        GradientCheck.of("pad").input("x", Shape.of(2, 3))
                .check(in -> Ops.pad(in.get(0), new int[] {1, 0}, new int[] {2, 1}));
    }

    @Test
    void concat() {
        GradientCheck.of("concat").input("a", Shape.of(2, 1, 3)).input("b", Shape.of(2, 2, 3)).input("c", Shape.of(2, 3, 3))
                .check(in -> Ops.concat(1, in.get(0), in.get(1), in.get(2)));
    }
}
