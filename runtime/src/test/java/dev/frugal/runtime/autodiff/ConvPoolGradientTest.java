package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.testing.Distribution;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks of CONV2D, its two gradient ops (whose own rules make double
 * backward through a convolution work), and the pooling ops.
 */
class ConvPoolGradientTest {
    private static final OpAttrs.Conv2d STRIDED_GROUPED = new OpAttrs.Conv2d(2, 2, 1, 1, 1, 1, 2);
    private static final OpAttrs.Conv2d DILATED = new OpAttrs.Conv2d(1, 1, 2, 1, 2, 1, 1);
    private static final OpAttrs.Conv2d STRIDE_TWO = new OpAttrs.Conv2d(2, 2, 0, 0, 1, 1, 1);

    @Test
    void conv2dStridedPaddedGrouped() {
        GradientCheck.of("conv2d").input("x", Shape.of(2, 4, 5, 5)).input("w", Shape.of(4, 2, 3, 3))
                .check(in -> Ops.conv2d(in.get(0), in.get(1), STRIDED_GROUPED));
    }

    @Test
    void conv2dDilated() {
        GradientCheck.of("conv2d_dilated").input("x", Shape.of(1, 2, 6, 5)).input("w", Shape.of(3, 2, 3, 2))
                .check(in -> Ops.conv2d(in.get(0), in.get(1), DILATED));
    }

    @Test
    void conv2dGradInput() {
        // dy [2,3,3,3] and w [3,2,2,2] with stride 2 come from an input of [2,2,6,6]
        GradientCheck.of("conv2d_grad_input").input("dy", Shape.of(2, 3, 3, 3)).input("w", Shape.of(3, 2, 2, 2))
                .check(in -> Ops.conv2dGradInput(in.get(0), in.get(1), STRIDE_TWO, Shape.of(2, 2, 6, 6)));
    }

    @Test
    void conv2dGradWeight() {
        GradientCheck.of("conv2d_grad_weight").input("x", Shape.of(2, 2, 6, 6)).input("dy", Shape.of(2, 3, 3, 3))
                .check(in -> Ops.conv2dGradWeight(in.get(0), in.get(1), STRIDE_TWO, Shape.of(3, 2, 2, 2)));
    }

    @Test
    void maxPoolWithoutTies() {
        GradientCheck.of("max_pool2d").input("x", Shape.of(2, 2, 5, 5), Distribution.distinct(0.1))
                .check(in -> Ops.maxPool2d(in.get(0), new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false)));
    }

    @Test
    void avgPoolCountingPadding() {
        GradientCheck.of("avg_pool2d").input("x", Shape.of(2, 2, 5, 5))
                .check(in -> Ops.avgPool2d(in.get(0), new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, true)));
    }

    @Test
    void avgPoolExcludingPadding() {
        GradientCheck.of("avg_pool2d_exclude_pad").input("x", Shape.of(1, 2, 5, 4))
                .check(in -> Ops.avgPool2d(in.get(0), new OpAttrs.Pool2d(3, 2, 2, 1, 1, 1, false)));
    }

    @Test
    void avgPoolGrad() {
        OpAttrs.Pool2d p = new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false);
        GradientCheck.of("avg_pool2d_grad").input("dy", Shape.of(2, 2, 3, 3))
                .check(in -> Ops.avgPool2dGrad(in.get(0), p, Shape.of(2, 2, 5, 5)));
    }
}
