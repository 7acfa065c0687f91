package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of MATMUL with every transpose combination and broadcast batch axes. */
class MatmulGradientTest {

    private static void check(String name, Shape a, Shape b, boolean transA, boolean transB) {
        GradientCheck.of(name).input("a", a).input("b", b).check(in -> Ops.matmul(in.get(0), in.get(1), transA, transB));
    }

    @Test
    void plain() {
        check("matmul", Shape.of(3, 4), Shape.of(4, 5), false, false);
    }

    @Test
    void transposedA() {
        check("matmul_ta", Shape.of(4, 3), Shape.of(4, 5), true, false);
    }

    @Test
    void transposedB() {
        check("matmul_tb", Shape.of(3, 4), Shape.of(5, 4), false, true);
    }

    @Test
    void bothTransposed() {
        check("matmul_ta_tb", Shape.of(4, 3), Shape.of(5, 4), true, true);
    }

    @Test
    void batchBroadcasting() {
        // [2,1] and [3] batch axes broadcast to [2,3]: both operands' gradients sum over stretched axes
        check("matmul_batch", Shape.of(2, 1, 3, 4), Shape.of(3, 4, 2), false, false);
    }

    @Test
    void batchBroadcastingTransposed() {
        check("matmul_batch_ta_tb", Shape.of(2, 4, 3), Shape.of(1, 2, 4), true, true);
    }

    @Test
    void batchAgainstMatrix() {
        check("matmul_batch_matrix", Shape.of(2, 3, 4), Shape.of(4, 2), false, false);
    }
}
