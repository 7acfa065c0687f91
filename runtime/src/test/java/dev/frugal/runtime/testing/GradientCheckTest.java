package dev.frugal.runtime.testing;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checker must be able to fail: a wrong gradient is reported with the seed and the graph. */
class GradientCheckTest {

    @Test
    void aWrongGradientIsReported() {
        // stopping the gradient of exp makes the traced gradient 0 while the finite difference is exp(x)
        AssertionError e = assertThrows(AssertionError.class, () -> GradientCheck.of("wrong").input("x", Shape.of(2, 2))
                .check(in -> Functional.stopGradient(in.get(0).graph(), () -> Ops.exp(in.get(0)))));
        assertTrue(e.getMessage().contains("seed") && e.getMessage().contains(GradientCheck.SEED_PROPERTY), e.getMessage());
        assertTrue(e.getMessage().contains("graph wrong {"), e.getMessage());
    }

    @Test
    void aRightGradientPasses() {
        GradientCheck.of("square").input("x", Shape.of(3)).check(in -> Ops.mul(in.get(0), in.get(0)));
    }
}
