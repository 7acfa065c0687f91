package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of the elementwise nodes over wide values, computed the way the CPU backend computes
 * them: F64 arithmetic in double (the optimizer's bookkeeping: AdamW's step count and bias
 * corrections, the learning rate fed each step), I32/I64 arithmetic in 64-bit two's complement
 * that wraps as Java's does (counters, offsets), comparisons of such values (labels against an
 * iota, to build one-hot targets), selects, and every cast with a wide end. They never fuse, so
 * each is a kernel of its own, and no float register ever rounds a wide value.
 *
 * <p>Rounding follows the CPU: + - * / and square root are IEEE double operations (the
 * {@code _rn} intrinsics on the device, so no FMA contraction); exp, log, pow, tanh and erf are
 * the CUDA math library's, within a few ulp of Java's; maximum, minimum and sign keep Java's NaN
 * and signed-zero rules; a float to an integer truncates toward zero with Java's saturation (NaN
 * to 0), and to I32 then wraps from 64 bits; F64 to F16/BF16 rounds once from the exact value
 * (through a float rounded to odd, which the half rounding then cannot double-round); an integer
 * to F32 rounds once, to a half type through float (one rounding below 2^24).
 */
public final class WideElementwiseCodegen {
    private WideElementwiseCodegen() {
    }

    /** Helpers of the wide kernels, after {@link ElementwiseCodegen#PRELUDE}. */
    private static final String HELPERS = """
            #ifndef FR_WIDE_HELPERS
            #define FR_WIDE_HELPERS
            #ifdef __CUDA_ARCH__
            #define FR_DADD(a, b) __dadd_rn(a, b)
            #define FR_DSUB(a, b) __dsub_rn(a, b)
            #define FR_DMUL(a, b) __dmul_rn(a, b)
            #define FR_DDIV(a, b) __ddiv_rn(a, b)
            #define FR_DSQRT(a) __dsqrt_rn(a)
            #else
            #include <math.h>
            #define FR_DADD(a, b) ((a) + (b))
            #define FR_DSUB(a, b) ((a) - (b))
            #define FR_DMUL(a, b) ((a) * (b))
            #define FR_DDIV(a, b) ((a) / (b))
            #define FR_DSQRT(a) sqrt(a)
            #endif
            FR_FN double fr_dmax(double a, double b) {
              if (a != a) return a;
              if (b != b) return b;
              if (a == 0.0 && b == 0.0) return signbit(a) ? b : a;
              return a > b ? a : b;
            }
            FR_FN double fr_dmin(double a, double b) {
              if (a != a) return a;
              if (b != b) return b;
              if (a == 0.0 && b == 0.0) return signbit(a) ? a : b;
              return a < b ? a : b;
            }
            // Java's Math.pow where C's pow differs: pow(1, NaN) and pow(+-1, +-inf) are NaN in Java, 1 in C
            FR_FN double fr_dpow(double a, double b) {
              if (b == 0.0) return 1.0;
              if (a != a || b != b) return a + b;
              if (fabs(a) == 1.0 && isinf(b)) return b - b;
              return pow(a, b);
            }
            FR_FN double fr_dsign(double a) { return a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : a); }
            // Java's (long) d: toward zero, saturating, NaN to 0
            FR_FN long long fr_d2ll(double d) {
              if (d != d) return 0;
              if (d >= 9223372036854775807.0) return 9223372036854775807LL;
              if (d <= -9223372036854775808.0) return (-9223372036854775807LL - 1);
              return (long long) d;
            }
            // two's complement arithmetic that wraps, as Java's long does (signed overflow is undefined in C)
            FR_FN long long fr_wrap(unsigned long long u) { return (long long) u; }
            // d as a float rounded to odd: a later rounding to a half type is then the correct rounding of d
            FR_FN float fr_d2f_odd(double d) {
              if (d != d) return (float) d;
            #ifdef __CUDA_ARCH__
              float f = __double2float_rz(d);
            #else
              float f = (float) d;
              if (fabs((double) f) > fabs(d)) f = nextafterf(f, 0.0f);
            #endif
              if ((double) f != d) { // inexact: make the last bit sticky
                union { float f; unsigned int u; } v;
                v.f = f;
                v.u |= 1u;
                f = v.f;
              }
              return f;
            }
            #endif
            """;

    private static boolean integer(DType t) {
        return t == DType.I32 || t == DType.I64;
    }

    /** A type whose values this generator keeps wide: F64, I32, I64. */
    private static boolean wide(DType t) {
        return t == DType.F64 || integer(t);
    }

    private static boolean narrowFloat(DType t) {
        return t == DType.F32 || t == DType.F16 || t == DType.BF16;
    }

    /**
     * Whether {@code node} is an elementwise node this generator writes: F64 or integer arithmetic,
     * a comparison or select over wide values, or a cast with a wide end (or from BOOL to a wide type).
     */
    public static boolean supports(Node node) {
        if (node.inputs().isEmpty() || node.output() == null) {
            return false;
        }
        DType from = node.input(0).dtype();
        DType to = node.output().dtype();
        return switch (node.op()) {
            case LT, LE, GT, GE, EQ, NE -> wide(from) && node.input(1).dtype() == from;
            case CAST -> (wide(from) && (wide(to) || narrowFloat(to) || to == DType.BOOL))
                    || (wide(to) && (narrowFloat(from) || from == DType.BOOL));
            case WHERE -> wide(to) && from == DType.BOOL && node.input(1).dtype() == to && node.input(2).dtype() == to;
            case NEG, ABS, SIGN, RELU, ROUND -> wide(from) && to == from;
            case EXP, LOG, SQRT, RSQRT, RECIPROCAL, SIGMOID, TANH, ERF -> from == DType.F64 && to == from;
            case ADD, SUB, MUL, MAXIMUM, MINIMUM -> wide(from) && node.input(1).dtype() == from && to == from;
            case DIV, POW -> from == DType.F64 && node.input(1).dtype() == from && to == from;
            default -> false;
        };
    }

    /**
     * The kernel of {@code node}: parameters its distinct inputs, then its output.
     *
     * @throws IllegalArgumentException for a node {@link #supports} refuses
     */
    public static GeneratedKernel generate(Node node) {
        if (!supports(node)) {
            throw new IllegalArgumentException("no CUDA wide-type code for " + node + ": expected f64 or i32/i64 arithmetic, a comparison"
                    + " or select over such values, or a cast to or from f64, i32 or i64");
        }
        Shape shape = node.output().shape();
        int[] dims = shape.dims();
        List<Value> inputs = KernelText.distinctInputs(node);
        StringBuilder body = new StringBuilder();
        if (inputs.stream().anyMatch(v -> !v.shape().equals(shape))) {
            body.append(KernelText.coordinates(dims));
        }
        for (int k = 0; k < inputs.size(); k++) {
            Value in = inputs.get(k);
            String offset = in.shape().equals(shape) ? "i" : KernelText.broadcastOffset(in.shape(), dims);
            String element = "in" + k + "[" + offset + "]";
            String load = switch (in.dtype()) {
                case F64 -> "const double x" + k + " = " + element;
                case F32, F16, BF16 -> "const float x" + k + " = " + ElementwiseCodegen.load(in.dtype(), element);
                case BOOL -> "const long long x" + k + " = " + element + " != 0 ? 1 : 0";
                default -> "const long long x" + k + " = (long long) " + element;
            };
            body.append("  ").append(load).append(";\n");
        }
        String a = "x" + inputs.indexOf(node.input(0));
        String b = node.inputs().size() > 1 ? "x" + inputs.indexOf(node.input(1)) : null;
        DType from = node.input(0).dtype();
        DType out = node.output().dtype();
        String value = switch (node.op()) {
            case CAST -> cast(from, out, a);
            case LT, LE, GT, GE, EQ, NE -> "(unsigned char) (" + a + " " + comparison(node.op()) + " " + b + ")";
            case WHERE -> "(" + a + " != 0 ? " + b + " : x" + inputs.indexOf(node.input(2)) + ")";
            default -> from == DType.F64 ? doubleOp(node.op(), a, b) : integerOp(node.op(), a, b);
        };
        if (out == DType.I32 && node.op() != Op.CAST) {
            value = "(int) (unsigned int) (unsigned long long) (" + value + ")"; // wraps to 32 bits, as the CPU stores an int
        }
        body.append("  out0[i] = ").append(value).append(";\n");
        long elements = shape.numel();
        List<Value> outputs = List.of(node.output());
        String template = HELPERS + KernelText.perItem(KernelText.params(inputs, outputs), KernelText.args(inputs.size(), 1), body.toString(),
                elements);
        return KernelText.named("wide_" + node.op().printName(), template, inputs, outputs, elements);
    }

    private static String comparison(Op op) {
        return switch (op) {
            case LT -> "<";
            case LE -> "<=";
            case GT -> ">";
            case GE -> ">=";
            case EQ -> "==";
            default -> "!=";
        };
    }

    /** The value of casting {@code a} (loaded as double, float or long long) from {@code from} to {@code to}. */
    private static String cast(DType from, DType to, String a) {
        if (to == DType.BOOL) {
            return "(unsigned char) (" + a + " != 0)";
        }
        if (from == DType.F64) {
            return switch (to) {
                case F64 -> a;
                case F32 -> "(float) " + a;
                case F16, BF16 -> ElementwiseCodegen.store(to, "fr_d2f_odd(" + a + ")");
                case I64 -> "fr_d2ll(" + a + ")";
                default -> "(int) (unsigned int) (unsigned long long) fr_d2ll(" + a + ")";
            };
        }
        if (narrowFloat(from)) { // to a wide type: the float's exact value, then as from F64
            return cast(DType.F64, to, "(double) " + a);
        }
        // from an integer or BOOL (loaded as long long)
        return switch (to) {
            case F64 -> "(double) " + a;
            // one rounding from the exact value, as the CPU's (float) long
            case F32 -> "(float) " + a;
            // through float: one rounding for |v| < 2^24 (every integer f16 can hold), as the CPU rounds once
            case F16, BF16 -> ElementwiseCodegen.store(to, "(float) " + a);
            case I64 -> a;
            default -> "(int) (unsigned int) (unsigned long long) " + a;
        };
    }

    private static String doubleOp(Op op, String a, String b) {
        return switch (op) {
            case NEG -> "-" + a;
            case EXP -> "exp(" + a + ")";
            case LOG -> "log(" + a + ")";
            case SQRT -> "FR_DSQRT(" + a + ")";
            case RSQRT -> "FR_DDIV(1.0, FR_DSQRT(" + a + "))";
            case RECIPROCAL -> "FR_DDIV(1.0, " + a + ")";
            case ABS -> "fabs(" + a + ")";
            case SIGN -> "fr_dsign(" + a + ")";
            case RELU -> "fr_dmax(" + a + ", 0.0)";
            case ROUND -> "rint(" + a + ")";
            case SIGMOID -> "FR_DDIV(1.0, FR_DADD(1.0, exp(-" + a + ")))";
            case TANH -> "tanh(" + a + ")";
            case ERF -> "erf(" + a + ")";
            case ADD -> "FR_DADD(" + a + ", " + b + ")";
            case SUB -> "FR_DSUB(" + a + ", " + b + ")";
            case MUL -> "FR_DMUL(" + a + ", " + b + ")";
            case DIV -> "FR_DDIV(" + a + ", " + b + ")";
            case POW -> "fr_dpow(" + a + ", " + b + ")";
            case MAXIMUM -> "fr_dmax(" + a + ", " + b + ")";
            case MINIMUM -> "fr_dmin(" + a + ", " + b + ")";
            default -> throw new IllegalArgumentException("not a double op: " + op);
        };
    }

    private static String integerOp(Op op, String a, String b) {
        String ua = "(unsigned long long) " + a;
        String ub = b == null ? null : "(unsigned long long) " + b;
        return switch (op) {
            case NEG -> "fr_wrap(0ULL - " + ua + ")";
            case ABS -> "(" + a + " < 0 ? fr_wrap(0ULL - " + ua + ") : " + a + ")";
            case SIGN -> "(long long) ((" + a + " > 0) - (" + a + " < 0))";
            case RELU -> "(" + a + " > 0 ? " + a + " : 0LL)";
            case ROUND -> a;
            case ADD -> "fr_wrap(" + ua + " + " + ub + ")";
            case SUB -> "fr_wrap(" + ua + " - " + ub + ")";
            case MUL -> "fr_wrap(" + ua + " * " + ub + ")";
            case MAXIMUM -> "(" + a + " > " + b + " ? " + a + " : " + b + ")";
            case MINIMUM -> "(" + a + " < " + b + " ? " + a + " : " + b + ")";
            default -> throw new IllegalArgumentException("not an integer op: " + op);
        };
    }
}
