package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.testing.Distribution;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks of GATHER and SCATTER_ADD. Random indices repeat, so the gradients
 * must accumulate several contributions into one row.
 */
class IndexingGradientTest {

    @Test
    void gatherRows() {
        GradientCheck.of("gather_axis0").input("x", Shape.of(5, 3))
                .constantInput("idx", Shape.of(7), DType.I64, Distribution.indices(5))
                .check(in -> Ops.gather(in.get(0), in.get(1), 0));
    }

    @Test
    void gatherInnerAxisWithMatrixIndices() {
        GradientCheck.of("gather_axis1").input("x", Shape.of(2, 5, 3))
                .constantInput("idx", Shape.of(2, 3), DType.I32, Distribution.indices(5))
                .check(in -> Ops.gather(in.get(0), in.get(1), 1));
    }

    @Test
    void scatterAdd() {
        GradientCheck.of("scatter_add").input("src", Shape.of(6, 3))
                .constantInput("idx", Shape.of(6), DType.I64, Distribution.indices(4))
                .check(in -> Ops.scatterAdd(in.get(0), in.get(1), 0, Shape.of(4, 3)));
    }

    @Test
    void scatterAddInnerAxis() {
        GradientCheck.of("scatter_add_axis1").input("src", Shape.of(2, 5))
                .constantInput("idx", Shape.of(5), DType.I32, Distribution.indices(3))
                .check(in -> Ops.scatterAdd(in.get(0), in.get(1), 1, Shape.of(2, 3)));
    }
}
