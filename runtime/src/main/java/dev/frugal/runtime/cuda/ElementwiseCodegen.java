package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Generates the CUDA C of elementwise kernels: a {@link FusedGroup} in one pass over memory, or a
 * single elementwise node, specialised to its shapes (dimensions and broadcast strides are
 * constants, as tinygrad does, so index arithmetic folds).
 *
 * <p>The arithmetic is the CPU backend's, so the two backends can be compared element by element:
 * registers are float32, BOOL values are 0 and 1, F16 and BF16 are widened on load and every
 * member whose type is F16 or BF16 is rounded to it (to nearest even) in its register, as
 * {@code CpuFusedElementwise} does. Additions, multiplications, divisions, square roots and
 * reciprocals use the {@code _rn} intrinsics, which the compiler never contracts into FMAs, so
 * they are the IEEE float32 results the CPU computes; maximum, minimum, sign and ReLU follow
 * Java's {@code Math} (NaN wins, +0 above -0). Log, reciprocal square root, power, exp, erf,
 * sigmoid and tanh are computed in double and rounded once, as {@code CpuElementwise} computes
 * the first three; the CPU's float32 exp/erf/sigmoid/tanh ({@code VectorMath}) are within 2 ulp of
 * that.
 *
 * <p>Each element's work is a {@code __host__ __device__} function, {@code NAME_element}, which
 * the {@code __global__} kernel calls in a grid-stride loop: so a host compiler can run the
 * generated arithmetic against the CPU backend without a GPU.
 *
 * <p>Supported: the types F32, F16, BF16 and BOOL (what the CPU fuses), every UNARY, BINARY,
 * COMPARE and TERNARY op, CAST among those types, and EXPAND. Other types (F64, integers) are not
 * generated yet ({@link #supports}).
 *
 * <p>A RANDOM_UNIFORM member (dropout's draw, which fusion puts in the group that reads it) is
 * {@code fr_uniform} of counter position {@code offset + i}, i the flat element index, exactly
 * what {@link RandomUniformCodegen}'s kernel stores for element i; its I64 offset input is
 * loaded as a {@code long long}, not into a float register. A draw alone is still
 * {@link RandomUniformCodegen}'s kernel ({@link KernelGenerators}).
 */
public final class ElementwiseCodegen {
    /** Helpers every generated kernel starts with. */
    static final String PRELUDE = """
            #include <cuda_fp16.h>
            #include <cuda_bf16.h>
            #ifdef __CUDA_ARCH__
            #define FR_FROM_BITS(u) __uint_as_float(u)
            #define FR_ADD(a, b) __fadd_rn(a, b)
            #define FR_SUB(a, b) __fsub_rn(a, b)
            #define FR_MUL(a, b) __fmul_rn(a, b)
            #define FR_DIV(a, b) __fdiv_rn(a, b)
            #define FR_SQRT(a) __fsqrt_rn(a)
            #else
            #include <math.h>
            #include <string.h>
            static inline float fr_from_bits_host(unsigned int u) { float f; memcpy(&f, &u, sizeof f); return f; }
            #define FR_FROM_BITS(u) fr_from_bits_host(u)
            #define FR_ADD(a, b) ((a) + (b))
            #define FR_SUB(a, b) ((a) - (b))
            #define FR_MUL(a, b) ((a) * (b))
            #define FR_DIV(a, b) ((a) / (b))
            #define FR_SQRT(a) sqrtf(a)
            #endif
            #define FR_FN static __host__ __device__ __forceinline__
            #ifdef __CUDA_ARCH__
            #define FR_FAIL(kernel, what, value, limit) do { printf("%s: %s %lld out of range [0, %lld)\\n", kernel, what, (long long) (value), (long long) (limit)); __trap(); } while (0)
            #else
            #include <stdio.h>
            #include <stdlib.h>
            #define FR_FAIL(kernel, what, value, limit) do { fprintf(stderr, "%s: %s %lld out of range [0, %lld)\\n", kernel, what, (long long) (value), (long long) (limit)); abort(); } while (0)
            #endif
            FR_FN float fr_max(float a, float b) {
              if (a != a) return a;
              if (b != b) return b;
              if (a == 0.0f && b == 0.0f) return signbit(a) ? b : a;
              return a > b ? a : b;
            }
            FR_FN float fr_min(float a, float b) {
              if (a != a) return a;
              if (b != b) return b;
              if (a == 0.0f && b == 0.0f) return signbit(a) ? a : b;
              return a < b ? a : b;
            }
            FR_FN float fr_sign(float a) { return a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : a); }
            FR_FN float fr_f16(float a) { return __half2float(__float2half_rn(a)); }
            FR_FN float fr_bf16(float a) { return __bfloat162float(__float2bfloat16_rn(a)); }
            FR_FN float fr_sigmoid(float a) { return (float) (1.0 / (1.0 + exp(-(double) a))); }
            // Philox4x32-10 (Random123), as runtime.numeric.Philox: the counter c is replaced by the output block
            FR_FN void fr_philox4x32_10(unsigned int c[4], unsigned int k0, unsigned int k1) {
              for (int round = 0; round < 10; round++) {
                if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
                const unsigned long long p0 = 0xD2511F53ull * c[0];
                const unsigned long long p1 = 0xCD9E8D57ull * c[2];
                const unsigned int n0 = (unsigned int) (p1 >> 32) ^ c[1] ^ k0;
                const unsigned int n2 = (unsigned int) (p0 >> 32) ^ c[3] ^ k1;
                c[0] = n0; c[1] = (unsigned int) p1; c[2] = n2; c[3] = (unsigned int) p0;
              }
            }
            // the uniform float of counter position n for (seed, stream): the top 24 bits of its word times 2^-24
            FR_FN float fr_uniform(unsigned long long seed, unsigned long long stream, unsigned long long n) {
              const unsigned long long block = n >> 2;
              unsigned int c[4] = {(unsigned int) block, (unsigned int) (block >> 32), (unsigned int) stream, (unsigned int) (stream >> 32)};
              fr_philox4x32_10(c, (unsigned int) seed, (unsigned int) (seed >> 32));
              return (float) (c[n & 3] >> 8) * 0x1p-24f;
            }
            """;

    private ElementwiseCodegen() {
    }

    /**
     * Whether {@code node} can be generated: an elementwise op, CAST or EXPAND over F32, F16, BF16
     * and BOOL, or a float32 RANDOM_UNIFORM with a scalar I64 offset.
     */
    public static boolean supports(Node node) {
        Value o = node.output();
        if (o == null || !registerType(o.dtype())) {
            return false;
        }
        if (node.op() == Op.RANDOM_UNIFORM) {
            return o.dtype() == DType.F32 && offsetInput(node.input(0));
        }
        if (node.op() != Op.EXPAND && !node.op().isElementwise()) {
            return false;
        }
        for (Value in : node.inputs()) {
            if (!registerType(in.dtype())) {
                return false;
            }
        }
        return true;
    }

    /** The kernel of a fused group of elementwise nodes (one that ends in a reduction is {@link ReductionCodegen}'s). */
    public static GeneratedKernel generate(FusedGroup group) {
        if (group.reduction()) {
            throw new IllegalArgumentException(group.name() + " ends in a reduction: its kernel is ReductionCodegen.generate(group)");
        }
        return generate(group.members(), group.inputs(), group.outputs());
    }

    /** The kernel of one elementwise node (its distinct inputs, its output). */
    public static GeneratedKernel generate(Node node) {
        return generate(List.of(node), KernelText.distinctInputs(node), List.of(node.output()));
    }

    private static GeneratedKernel generate(List<Node> members, List<Value> inputs, List<Value> outputs) {
        Shape shape = members.getLast().output().shape();
        long elements = shape.numel();
        String body = statements(members, inputs, outputs, 0, shape, new IdentityHashMap<>());
        String template = KernelText.perItem(KernelText.params(inputs, outputs), KernelText.args(inputs.size(), outputs.size()),
                body, elements);
        return KernelText.named(baseName(members), template, inputs, outputs, elements);
    }

    /**
     * The statements that compute {@code members} for element {@code i} of {@code shape}: the
     * coordinates (when some input is broadcast), each input loaded into {@code x<k>}, each
     * member's value in {@code r<k>}, then {@code stores.get(k)} stored into
     * {@code out<firstOut + k>[i]}. {@code registers} receives the register of every value.
     */
    static String statements(List<Node> members, List<Value> inputs, List<Value> stores, int firstOut, Shape shape,
                             Map<Value, String> registers) {
        for (Node n : members) {
            if (!supports(n)) {
                throw new IllegalArgumentException("no CUDA elementwise code for " + n + ": " + n.op().printName() + " over "
                        + n.output().dtype() + " (supported: elementwise ops, cast and expand over f32, f16, bf16 and bool)");
            }
        }
        StringBuilder body = new StringBuilder();
        // the coordinates of element i, once, when some input is broadcast
        int[] dims = shape.dims();
        if (inputs.stream().anyMatch(v -> !v.shape().equals(shape) && !offsetInput(v))) {
            body.append(KernelText.coordinates(dims));
        }
        for (int k = 0; k < inputs.size(); k++) {
            Value in = inputs.get(k);
            if (offsetInput(in)) {
                // a draw's counter offset: 64 bits, which a float register would not hold
                String reg = "x" + k;
                body.append("  const long long ").append(reg).append(" = in").append(k).append("[0];\n");
                registers.put(in, reg);
                continue;
            }
            String offset = in.shape().equals(shape) ? "i" : KernelText.broadcastOffset(in.shape(), dims);
            String reg = "x" + k;
            body.append("  const float ").append(reg).append(" = ").append(load(in.dtype(), "in" + k + "[" + offset + "]")).append(";\n");
            registers.put(in, reg);
        }
        int r = 0;
        for (Node n : members) {
            String reg = "r" + r++;
            String expr = expression(n, registers);
            body.append("  const float ").append(reg).append(" = ").append(round(n.output().dtype(), expr)).append(";\n");
            registers.put(n.output(), reg);
        }
        for (int k = 0; k < stores.size(); k++) {
            Value out = stores.get(k);
            body.append("  out").append(firstOut + k).append("[i] = ").append(store(out.dtype(), registers.get(out))).append(";\n");
        }
        return body.toString();
    }

    /**
     * One translation unit holding several kernels (distinct by name) after one prelude: how a
     * program's kernels are compiled together, in one NVRTC call per architecture.
     */
    public static String translationUnit(List<GeneratedKernel> kernels) {
        StringBuilder b = new StringBuilder(PRELUDE);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (GeneratedKernel k : kernels) {
            if (seen.add(k.name())) {
                b.append('\n').append(k.body());
            }
        }
        return b.toString();
    }

    private static String expression(Node n, Map<Value, String> regs) {
        String a = n.inputs().isEmpty() ? null : regs.get(n.input(0));
        String b = n.inputs().size() > 1 ? regs.get(n.input(1)) : null;
        String c = n.inputs().size() > 2 ? regs.get(n.input(2)) : null;
        return switch (n.op()) {
            case EXPAND -> a; // the broadcast is in the input's load offsets
            case NEG -> "-" + a;
            case ABS -> "fabsf(" + a + ")";
            case RELU -> "fr_max(" + a + ", 0.0f)";
            case SQRT -> "FR_SQRT(" + a + ")";
            case RECIPROCAL -> "FR_DIV(1.0f, " + a + ")";
            case ROUND -> "rintf(" + a + ")";
            case SIGN -> "fr_sign(" + a + ")";
            case EXP -> "(float) exp((double) " + a + ")";
            case LOG -> "(float) log((double) " + a + ")";
            case RSQRT -> "(float) (1.0 / sqrt((double) " + a + "))";
            case SIGMOID -> "fr_sigmoid(" + a + ")";
            case TANH -> "(float) tanh((double) " + a + ")";
            case ERF -> "(float) erf((double) " + a + ")";
            case NOT -> "(" + a + " == 0.0f ? 1.0f : 0.0f)";
            case CAST -> n.output().dtype() == DType.BOOL ? "(" + a + " != 0.0f ? 1.0f : 0.0f)" : a;
            case ADD -> "FR_ADD(" + a + ", " + b + ")";
            case SUB -> "FR_SUB(" + a + ", " + b + ")";
            case MUL -> "FR_MUL(" + a + ", " + b + ")";
            case DIV -> "FR_DIV(" + a + ", " + b + ")";
            case POW -> "(float) pow((double) " + a + ", (double) " + b + ")";
            case MAXIMUM -> "fr_max(" + a + ", " + b + ")";
            case MINIMUM -> "fr_min(" + a + ", " + b + ")";
            case LT -> "(" + a + " < " + b + " ? 1.0f : 0.0f)";
            case LE -> "(" + a + " <= " + b + " ? 1.0f : 0.0f)";
            case GT -> "(" + a + " > " + b + " ? 1.0f : 0.0f)";
            case GE -> "(" + a + " >= " + b + " ? 1.0f : 0.0f)";
            case EQ -> "(" + a + " == " + b + " ? 1.0f : 0.0f)";
            case NE -> "(" + a + " != " + b + " ? 1.0f : 0.0f)";
            case WHERE -> "(" + a + " != 0.0f ? " + b + " : " + c + ")";
            case CONSTANT -> KernelText.floatLiteral((float) n.attrs(OpAttrs.Constant.class).value());
            case RANDOM_UNIFORM -> {
                // element i of the draw is counter position offset + i (unsigned, wrapping), as RandomUniformCodegen
                OpAttrs.Random r = n.attrs(OpAttrs.Random.class);
                yield "fr_uniform(" + Long.toUnsignedString(r.seed()) + "ull, " + Long.toUnsignedString(r.stream()) + "ull, "
                        + "(unsigned long long) " + a + " + (unsigned long long) i)";
            }
            default -> throw new IllegalArgumentException("no CUDA elementwise code for " + n.op().printName());
        };
    }

    /** A member's value in its register: rounded to its type when that is a half type. */
    private static String round(DType t, String expr) {
        return switch (t) {
            case F16 -> "fr_f16(" + expr + ")";
            case BF16 -> "fr_bf16(" + expr + ")";
            default -> expr;
        };
    }

    static String load(DType t, String element) {
        return switch (t) {
            case F32 -> element;
            case F16 -> "__half2float(" + element + ")";
            case BF16 -> "__bfloat162float(" + element + ")";
            case BOOL -> "(" + element + " != 0 ? 1.0f : 0.0f)";
            default -> throw new IllegalArgumentException("no CUDA register type for " + t);
        };
    }

    static String store(DType t, String reg) {
        return switch (t) {
            case F32 -> reg;
            case F16 -> "__float2half_rn(" + reg + ")";
            case BF16 -> "__float2bfloat16_rn(" + reg + ")";
            case BOOL -> "(unsigned char) (" + reg + " != 0.0f)";
            default -> throw new IllegalArgumentException("no CUDA register type for " + t);
        };
    }

    /** The C type a value of {@code t} is stored as (every type: movement kernels copy any of them). */
    static String cType(DType t) {
        return switch (t) {
            case F32 -> "float";
            case F16 -> "__half";
            case BF16 -> "__nv_bfloat16";
            case BOOL, U8 -> "unsigned char";
            case I64 -> "long long";
            case I32 -> "int";
            case F64 -> "double";
        };
    }

    /** Whether {@code v} can be a RANDOM_UNIFORM's counter offset: an I64 scalar. */
    private static boolean offsetInput(Value v) {
        return v.dtype() == DType.I64 && v.shape().numel() == 1;
    }

    private static boolean registerType(DType t) {
        return t == DType.F32 || t == DType.F16 || t == DType.BF16 || t == DType.BOOL;
    }

    /** {@code fused_sub_mul_add} or the single op's name. */
    static String baseName(List<Node> members) {
        StringBuilder b = new StringBuilder(members.size() > 1 ? "fused" : "ew");
        for (Node n : members) {
            b.append('_').append(n.op().printName());
        }
        String s = b.toString();
        return s.length() > 60 ? s.substring(0, 60) : s;
    }
}
