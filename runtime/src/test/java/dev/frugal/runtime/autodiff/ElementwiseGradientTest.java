package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.testing.Distribution;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

/**
 * Finite-difference checks of the gradient rules of every differentiable elementwise primitive.
 * Binary operations use shapes [3,1,4] and [2,4], which broadcast to [3,2,4] in both directions.
 */
class ElementwiseGradientTest {
    private static final Shape X = Shape.of(2, 3, 4);
    private static final Shape A = Shape.of(3, 1, 4);
    private static final Shape B = Shape.of(2, 4);

    private static void unary(String name, Distribution values, UnaryOperator<Value> op) {
        GradientCheck.of(name).input("x", X, values).check(in -> op.apply(in.get(0)));
    }

    private static void binary(String name, Distribution a, Distribution b, BinaryOperator<Value> op) {
        GradientCheck.of(name).input("a", A, a).input("b", B, b).check(in -> op.apply(in.get(0), in.get(1)));
    }

    @Test
    void neg() {
        unary("neg", Distribution.normal(), Ops::neg);
    }

    @Test
    void exp() {
        unary("exp", Distribution.normal(), Ops::exp);
    }

    @Test
    void log() {
        unary("log", Distribution.uniform(0.5, 3), Ops::log);
    }

    @Test
    void sqrt() {
        unary("sqrt", Distribution.uniform(0.5, 3), Ops::sqrt);
    }

    @Test
    void rsqrt() {
        unary("rsqrt", Distribution.uniform(0.5, 3), Ops::rsqrt);
    }

    @Test
    void reciprocal() {
        unary("reciprocal", Distribution.awayFromZero(0.5, 2), Ops::reciprocal);
    }

    @Test
    void absAwayFromTheKink() {
        unary("abs", Distribution.awayFromZero(0.1, 2), Ops::abs);
    }

    @Test
    void signHasZeroGradient() {
        unary("sign", Distribution.awayFromZero(0.1, 2), x -> Ops.mul(Ops.sign(x), x));
    }

    @Test
    void reluAwayFromTheKink() {
        unary("relu", Distribution.awayFromZero(0.1, 2), Ops::relu);
    }

    @Test
    void sigmoid() {
        unary("sigmoid", Distribution.normal(), Ops::sigmoid);
    }

    @Test
    void tanh() {
        unary("tanh", Distribution.normal(), Ops::tanh);
    }

    @Test
    void erf() {
        unary("erf", Distribution.normal(), Ops::erf);
    }

    @Test
    void castThroughF32() {
        // f32 rounding makes h = 1e-6 meaningless: a larger step, and a tolerance matching f32's 2^-24
        GradientCheck.of("cast").input("x", X).step(1e-2).tolerance(1e-3, 1e-4)
                .check(in -> Ops.cast(Ops.exp(Ops.cast(in.get(0), DType.F32)), DType.F64));
    }

    @Test
    void add() {
        binary("add", Distribution.normal(), Distribution.normal(), Ops::add);
    }

    @Test
    void sub() {
        binary("sub", Distribution.normal(), Distribution.normal(), Ops::sub);
    }

    @Test
    void mul() {
        binary("mul", Distribution.normal(), Distribution.normal(), Ops::mul);
    }

    @Test
    void mulByScalar() {
        GradientCheck.of("mul_scalar").input("a", Shape.of(2, 3)).input("s", Shape.scalar())
                .check(in -> Ops.mul(in.get(0), in.get(1)));
    }

    @Test
    void mulSameShape() {
        GradientCheck.of("mul_same").input("a", Shape.of(3, 4)).input("b", Shape.of(3, 4))
                .check(in -> Ops.mul(in.get(0), in.get(1)));
    }

    @Test
    void div() {
        binary("div", Distribution.normal(), Distribution.awayFromZero(0.5, 2), Ops::div);
    }

    @Test
    void pow() {
        binary("pow", Distribution.uniform(0.5, 2), Distribution.normal(), Ops::pow);
    }

    @Test
    void maximumWithoutTies() {
        binary("maximum", Distribution.grid(0), Distribution.grid(0.25), Ops::maximum);
    }

    @Test
    void minimumWithoutTies() {
        binary("minimum", Distribution.grid(0.25), Distribution.grid(0), Ops::minimum);
    }

    @Test
    void where() {
        GradientCheck.of("where")
                .constantInput("cond", Shape.of(2, 1), DType.BOOL, Distribution.coinFlips())
                .input("a", A).input("b", B)
                .check(in -> Ops.where(in.get(0), in.get(1), in.get(2)));
    }
}
