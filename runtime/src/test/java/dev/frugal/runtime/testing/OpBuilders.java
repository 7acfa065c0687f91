package dev.frugal.runtime.testing;

import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

/** Traces an elementwise op given by its {@link Op}, for tests that loop over the op catalogue. */
public final class OpBuilders {
    private OpBuilders() {
    }

    /** {@code op(x)} for a unary elementwise op. */
    public static Value unary(Op op, Value x) {
        return switch (op) {
            case NEG -> Ops.neg(x);
            case EXP -> Ops.exp(x);
            case LOG -> Ops.log(x);
            case SQRT -> Ops.sqrt(x);
            case RSQRT -> Ops.rsqrt(x);
            case RECIPROCAL -> Ops.reciprocal(x);
            case ABS -> Ops.abs(x);
            case SIGN -> Ops.sign(x);
            case ROUND -> Ops.round(x);
            case RELU -> Ops.relu(x);
            case SIGMOID -> Ops.sigmoid(x);
            case TANH -> Ops.tanh(x);
            case ERF -> Ops.erf(x);
            default -> throw new IllegalArgumentException("not a unary elementwise op: " + op);
        };
    }

    /** {@code op(a, b)} for a binary elementwise op. */
    public static Value binary(Op op, Value a, Value b) {
        return switch (op) {
            case ADD -> Ops.add(a, b);
            case SUB -> Ops.sub(a, b);
            case MUL -> Ops.mul(a, b);
            case DIV -> Ops.div(a, b);
            case POW -> Ops.pow(a, b);
            case MAXIMUM -> Ops.maximum(a, b);
            case MINIMUM -> Ops.minimum(a, b);
            default -> throw new IllegalArgumentException("not a binary elementwise op: " + op);
        };
    }
}
