package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A catalogue of small graphs, one per op, dtype and shape, that any two backends must compute
 * alike: the GPU parity suite runs each against the CPU backend ({@code CudaBackendParityTest} in
 * native-tests), and {@link OpParityCasesCpuTest} runs each on the CPU with fusion on against
 * fusion off. {@link BackendParity} runs a case on two executors and compares.
 *
 * <p>Every op of {@link Op} appears: every unary, binary, comparison and ternary elementwise op
 * with NumPy broadcasting, CAST among f32/f16/bf16/bool (and from integers), the reductions and
 * ARGMAX over various axes, MATMUL (transposes, batches, broadcast batches), CONV2D (stride,
 * padding, dilation, groups, depthwise), pooling, the movement and indexing ops, the hand-fused
 * row ops, attention, the sources (CONSTANT, IOTA, RANDOM_UNIFORM) and dropout, a few composites
 * (softmax, GELU, ...), and training steps with ASSIGN ({@link #trainingSteps()}). A case that
 * can be differentiated also outputs the gradients of its floating inputs, through
 * {@link Autodiff#vjp} with a random cotangent, so every backward op is compared too.
 *
 * <p>Shapes: per family at least one tiny shape, odd ones (not multiples of 32: 33x257, 7x13x3),
 * and one large enough to need many thread blocks (300k+ elements for elementwise ops, 4097 rows
 * for row reductions). Dtypes: f32 everywhere, f16 and bf16 where the op takes them. Inputs are
 * drawn afresh for every run from a seed made of the case's name, the input's name, the run and
 * the base seed (system property {@value #SEED_PROPERTY}, so a failure can be replayed and a
 * different seed explored), from distributions kept away from poles and undefined points so no
 * output is NaN: a NaN in a candidate's output is then always a wrong or unwritten element.
 *
 * <p>Each output carries a {@link Tol}: exact (bit for bit) for data movement, selection,
 * comparisons, casts, random draws and the IEEE-rounded arithmetic (add, sub, mul, div, sqrt,
 * reciprocal); a few units in the last place for transcendental functions; and, for anything that
 * sums (reductions, contractions, row ops, broadcast gradients), a bound relative to the size of
 * the sum's terms, since two backends sum in different orders.
 */
public final class OpParityCases {
    /** System property holding the base seed of every input draw. */
    public static final String SEED_PROPERTY = "frugal.parity.seed";

    private static final DType F32 = DType.F32;
    private static final DType F16 = DType.F16;
    private static final DType BF16 = DType.BF16;
    private static final DType I32 = DType.I32;
    private static final DType I64 = DType.I64;
    private static final DType BOOL = DType.BOOL;
    private static final DType[] FLOATS = {F32, F16, BF16};
    /** Counter offsets of random draws, one per run: block-aligned, not, large, and wrapping past 2^64. */
    private static final long[] OFFSETS = {0, 3, 1_000_001, -2};

    private static volatile List<Case> all;

    private OpParityCases() {
    }

    // ================================================================ tolerances

    /**
     * How far a candidate's element may be from the reference's: {@code |actual - expected| <=
     * abs + rel * |expected|}; with both zero, the two must be the same bits (so +0 and -0
     * differ, and so do two NaNs of different payloads). NaN never matches outside exact mode.
     */
    public record Tol(double abs, double rel) {
        /** Bit-for-bit equality. */
        public static final Tol EXACT = new Tol(0, 0);

        /** Whether this tolerance demands the same bits. */
        public boolean exact() {
            return abs == 0 && rel == 0;
        }

        /** Whether {@code actual} is close enough to {@code expected}. */
        public boolean accepts(double expected, double actual) {
            if (exact()) {
                return Double.doubleToRawLongBits(expected) == Double.doubleToRawLongBits(actual);
            }
            if (expected == actual) {
                return true; // equal infinities included
            }
            if (Double.isNaN(expected) || Double.isNaN(actual) || Double.isInfinite(expected) || Double.isInfinite(actual)) {
                return false;
            }
            return Math.abs(actual - expected) <= abs + rel * Math.abs(expected);
        }

        /** This tolerance with both bounds multiplied by {@code factor}. */
        public Tol times(double factor) {
            return new Tol(abs * factor, rel * factor);
        }

        @Override
        public String toString() {
            return exact() ? "exact" : String.format(java.util.Locale.ROOT, "abs %.3g + rel %.3g", abs, rel);
        }
    }

    /** Machine epsilon of a floating dtype (the gap above 1). */
    public static double eps(DType t) {
        return switch (t) {
            case F64 -> 0x1p-52;
            case F32 -> 0x1p-23;
            case F16 -> 0x1p-10;
            case BF16 -> 0x1p-7;
            default -> 0;
        };
    }

    /** The smallest gap between two values of {@code t} (subnormal spacing): an absolute floor. */
    private static double tiny(DType t) {
        return t == F16 ? 0x1p-24 : 0x1p-126;
    }

    /** Bit-for-bit equality. */
    public static Tol exact() {
        return Tol.EXACT;
    }

    /**
     * A transcendental function (exp, log, erf, tanh, ...) computed in float32 or double and
     * rounded once: a few float32 ulps apart, or one rounding of a half type apart.
     */
    public static Tol rounded(DType t) {
        return t == F32 ? new Tol(tiny(F32), 4 * eps(F32)) : new Tol(2 * tiny(t), 2 * eps(t));
    }

    /**
     * A short chain of transcendental and IEEE ops whose intermediate can cancel, as GELU's
     * {@code x * (1 + erf(x / sqrt 2)) / 2} does for negative x: an ulp of difference in the
     * transcendental, at the intermediate's magnitude (about 1) times the factor's ({@code scale}),
     * can be a large relative difference of a small result.
     */
    public static Tol cancelling(DType t, double scale) {
        return new Tol(4 * eps(t) * scale, 4 * rounded(t).rel());
    }

    /**
     * A sum (reduction, contraction, row statistics) accumulated in float32 in an order that
     * differs between backends, with terms whose magnitudes add up to about {@code scale}: float32
     * results within {@code 1e-5 * scale} (the design guide's fp32 bound), half results within
     * one or two roundings of the output plus the float32 accumulation's share.
     */
    public static Tol accumulated(DType t, double scale) {
        if (t == F32 || t == DType.F64) {
            return new Tol(1e-5 * scale, 1e-5);
        }
        return new Tol(Math.max(1e-5, eps(t) / 8) * scale + 2 * tiny(t), 2 * eps(t));
    }

    /**
     * A convolution or its gradients: a sum as {@link #accumulated}, but with the design guide's
     * TF32 bound (1e-3 relative to the terms) for every type, because cuDNN may pick a Winograd
     * or FFT algorithm (the fastest one found), whose float32 results carry transform error well
     * above plain summation's.
     */
    public static Tol convolution(DType t, double scale) {
        return new Tol(Math.max(1e-3, eps(t) / 8) * scale + 2 * tiny(t), Math.max(1e-3, 2 * eps(t)));
    }

    /**
     * A gradient computed by a short chain of elementwise ops (each rounded in the value's type),
     * possibly summed over {@code terms} broadcast positions, with values of about {@code scale}:
     * the chain's roundings may differ by an ulp where an input (a forward output) did.
     */
    public static Tol gradient(DType t, double scale, long terms) {
        double s = scale * 4 * Math.sqrt(Math.max(1, terms));
        if (t == F32) {
            return new Tol(8 * eps(F32) * s, 8 * eps(F32));
        }
        return new Tol(4 * eps(t) * s, 4 * eps(t));
    }

    // ================================================================ input distributions

    /** How the values of one floating input are drawn. */
    @FunctionalInterface
    public interface Dist {
        /** {@code n} values in row-major order. */
        double[] draw(SplittableRandom rnd, int n);
    }

    /** Uniform in [lo, hi). */
    public static Dist uniform(double lo, double hi) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = lo + (hi - lo) * rnd.nextDouble();
            }
            return v;
        };
    }

    /** Magnitudes uniform in [lo, hi) with random signs: never within lo of zero (no pole). */
    public static Dist awayFromZero(double lo, double hi) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                double m = lo + (hi - lo) * rnd.nextDouble();
                v[i] = rnd.nextBoolean() ? m : -m;
            }
            return v;
        };
    }

    /** Multiples of {@code step} between {@code lo} and {@code hi} (inclusive): ties and exact zeros on purpose. */
    public static Dist steps(int lo, int hi, double step) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = rnd.nextInt(lo, hi + 1) * step;
            }
            return v;
        };
    }

    /** Random signs and magnitudes {@code 2^u}, u uniform in [minExp, maxExp): subnormal halves to overflow-free large values. */
    public static Dist wide(int minExp, int maxExp) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                double m = Math.pow(2, minExp + (maxExp - minExp) * rnd.nextDouble());
                v[i] = rnd.nextBoolean() ? m : -m;
            }
            return v;
        };
    }

    /**
     * Pairwise distinct values {@code gap} apart (a shuffled ladder centred on zero), so maxima
     * have no ties whose winner a backend could pick differently.
     */
    public static Dist distinct(double gap) {
        return (rnd, n) -> {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = (i - n / 2) * gap;
            }
            for (int i = n - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
            return v;
        };
    }

    // ================================================================ cases

    /** Makes one run's tensor of an input. */
    @FunctionalInterface
    interface Feed {
        Tensor make(SplittableRandom rnd, int run);
    }

    /** One compared output: its name, value and tolerance. */
    public record Output(String name, Value value, Tol tol) {
    }

    /** A named case of the catalogue; {@link #build()} traces a fresh graph. */
    public static final class Case {
        private final String family;
        private final String name;
        private final Consumer<Builder> body;

        Case(String family, String name, Consumer<Builder> body) {
            this.family = family;
            this.name = name;
            this.body = body;
        }

        /** The op family, e.g. {@code unary} or {@code matmul}. */
        public String family() {
            return family;
        }

        /** The unique name, e.g. {@code unary/exp/f16/[33, 257]}. */
        public String name() {
            return name;
        }

        /** Traces the case's graph (with gradients) and returns it with its outputs and input makers. */
        public Instance build() {
            Builder b = new Builder(name);
            body.accept(b);
            if (b.outputs.isEmpty()) {
                throw new IllegalStateException("case " + name + " has no output");
            }
            return new Instance(name, b.graph, List.copyOf(b.outputs), Collections.unmodifiableMap(new LinkedHashMap<>(b.feeds)));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A traced case: the graph, the outputs to compare and how each run's inputs are drawn. */
    public record Instance(String name, Graph graph, List<Output> outputs, Map<Value, Feed> feedMakers) {
        /** The output values, in order. */
        public List<Value> values() {
            return outputs.stream().map(Output::value).toList();
        }

        /**
         * Fresh input tensors for run {@code run} (the same for every backend); the caller closes
         * them.
         */
        public Map<Value, Tensor> feeds(int run) {
            long base = Long.getLong(SEED_PROPERTY, 0x5EED_2024L);
            Map<Value, Tensor> feeds = new LinkedHashMap<>();
            for (Map.Entry<Value, Feed> e : feedMakers.entrySet()) {
                long seed = mix(base, name.hashCode(), e.getKey().ref().hashCode(), run);
                feeds.put(e.getKey(), e.getValue().make(new SplittableRandom(seed), run));
            }
            return feeds;
        }
    }

    private static long mix(long base, long a, long b, long c) {
        long h = base;
        for (long x : new long[] {a, b, c}) {
            h = (h ^ x) * 0x9E3779B97F4A7C15L;
            h ^= h >>> 31;
        }
        return h;
    }

    /** What a case's body traces with: inputs with their distributions, outputs with tolerances, gradients. */
    public static final class Builder {
        /** The graph being traced. */
        public final Graph graph;
        private final Map<Value, Feed> feeds = new LinkedHashMap<>();
        private final List<Output> outputs = new ArrayList<>();

        Builder(String name) {
            this.graph = new Graph(name.replaceAll("[^A-Za-z0-9_]+", "_"));
        }

        /** A floating data input drawn from {@code dist} (rounded to {@code t}). */
        public Value input(String name, DType t, Dist dist, int... dims) {
            Value v = graph.input(name, Shape.of(dims), t);
            int n = Math.toIntExact(Shape.of(dims).numel());
            feeds.put(v, (rnd, run) -> Tensor.of(dist.draw(rnd, n), t, dims));
            return v;
        }

        /** An I32 or I64 data input uniform in [lo, hi). */
        public Value ints(String name, DType t, int lo, int hi, int... dims) {
            Value v = graph.input(name, Shape.of(dims), t);
            int n = Math.toIntExact(Shape.of(dims).numel());
            feeds.put(v, (rnd, run) -> {
                if (t == I64) {
                    long[] x = new long[n];
                    for (int i = 0; i < n; i++) {
                        x[i] = rnd.nextInt(lo, hi);
                    }
                    return Tensor.ofLongs(x, dims);
                }
                int[] x = new int[n];
                for (int i = 0; i < n; i++) {
                    x[i] = rnd.nextInt(lo, hi);
                }
                return Tensor.ofInts(x, dims);
            });
            return v;
        }

        /** A BOOL data input, each element true with probability one half. */
        public Value bools(String name, int... dims) {
            Value v = graph.input(name, Shape.of(dims), BOOL);
            int n = Math.toIntExact(Shape.of(dims).numel());
            feeds.put(v, (rnd, run) -> {
                double[] x = new double[n];
                for (int i = 0; i < n; i++) {
                    x[i] = rnd.nextBoolean() ? 1 : 0;
                }
                return Tensor.of(x, BOOL, dims);
            });
            return v;
        }

        /** An I64 scalar counter offset for random draws, one of {@link #OFFSETS} per run. */
        public Value offset(String name) {
            Value v = graph.input(name, Shape.scalar(), I64);
            feeds.put(v, (rnd, run) -> Tensor.ofLongs(new long[] {OFFSETS[run % OFFSETS.length]}));
            return v;
        }

        /** Compares {@code v} under {@code tol}; returns it. */
        public Value out(String name, Value v, Tol tol) {
            outputs.add(new Output(name, v, tol));
            return v;
        }

        /**
         * Appends the vector-Jacobian product of every floating output so far, with a random
         * cotangent input per output, and compares the gradient of each of {@code wrt} under the
         * tolerance {@code tol} gives for it.
         */
        public void grads(Function<Value, Tol> tol, Value... wrt) {
            List<Value> outs = new ArrayList<>();
            List<Value> cotangents = new ArrayList<>();
            for (Output o : List.copyOf(outputs)) {
                if (o.value().dtype().isFloating()) {
                    outs.add(o.value());
                    cotangents.add(input("d_" + o.name(), o.value().dtype(), uniform(-1, 1), o.value().shape().dims()));
                }
            }
            List<Value> g = Autodiff.vjp(outs, cotangents, List.of(wrt));
            for (int i = 0; i < wrt.length; i++) {
                out("grad(" + wrt[i].ref() + ")", g.get(i), tol.apply(wrt[i]));
            }
        }

        /** {@link #grads(Function, Value...)} with one tolerance for every gradient. */
        public void grads(Tol tol, Value... wrt) {
            grads(v -> tol, wrt);
        }
    }

    /**
     * Every case, in family order. The list is made once; each {@link Case#build()} traces anew.
     */
    public static List<Case> all() {
        List<Case> cases = all;
        if (cases == null) {
            List<Case> made = new ArrayList<>();
            unary(made);
            binary(made);
            compare(made);
            where(made);
            not(made);
            cast(made);
            reduce(made);
            argmax(made);
            matmul(made);
            conv(made);
            pool(made);
            movement(made);
            indexing(made);
            sources(made);
            random(made);
            crossEntropy(made);
            layerNorm(made);
            attention(made);
            composite(made);
            cases = all = List.copyOf(made);
        }
        return cases;
    }

    /** The cases of one family. */
    public static List<Case> family(String family) {
        return all().stream().filter(c -> c.family().equals(family)).toList();
    }

    private static void add(List<Case> into, String family, String name, Consumer<Builder> body) {
        into.add(new Case(family, family + "/" + name, body));
    }

    private static String shape(int... dims) {
        return java.util.Arrays.toString(dims);
    }

    private static long numel(Value v) {
        return v.shape().numel();
    }

    // ---------------------------------------------------------------- elementwise

    /** A shape and dtype an elementwise op is run at. */
    private record At(String size, DType t, int[] a, int[] b, int[] c) {
    }

    private static final int[] LARGE = {611, 523}; // 319,553 elements

    private static List<At> unaryShapes() {
        return List.of(new At("tiny", F32, new int[] {5}, null, null),
                new At("odd", F32, new int[] {33, 257}, null, null),
                new At("odd", F16, new int[] {33, 257}, null, null),
                new At("odd", BF16, new int[] {33, 257}, null, null),
                new At("odd", F32, new int[] {7, 13, 3}, null, null),
                new At("large", F32, LARGE, null, null),
                new At("large", BF16, LARGE, null, null));
    }

    private record Unary(String name, UnaryOperator<Value> f, Dist dist, boolean exactForward, double gradScale) {
    }

    private static void unary(List<Case> into) {
        List<Unary> ops = List.of(
                new Unary("neg", Ops::neg, uniform(-3, 3), true, 1),
                new Unary("exp", Ops::exp, uniform(-3, 3), false, 20),
                new Unary("log", Ops::log, uniform(0.1, 4), false, 10),
                new Unary("sqrt", Ops::sqrt, uniform(0.1, 4), true, 2),
                new Unary("rsqrt", Ops::rsqrt, uniform(0.1, 4), false, 16),
                new Unary("reciprocal", Ops::reciprocal, awayFromZero(0.25, 4), true, 16),
                new Unary("abs", Ops::abs, uniform(-3, 3), true, 1),
                new Unary("sign", Ops::sign, uniform(-3, 3), true, 1),
                new Unary("relu", Ops::relu, uniform(-3, 3), true, 1),
                new Unary("sigmoid", Ops::sigmoid, uniform(-4, 4), false, 1),
                new Unary("tanh", Ops::tanh, uniform(-3, 3), false, 1),
                new Unary("erf", Ops::erf, uniform(-2.5, 2.5), false, 1.2),
                new Unary("round", Ops::round, uniform(-6, 6), true, 1));
        for (Unary op : ops) {
            for (At at : unaryShapes()) {
                add(into, "unary", op.name + "/" + at.t + "/" + shape(at.a), b -> {
                    Value x = b.input("x", at.t, op.dist, at.a);
                    b.out("y", op.f.apply(x), op.exactForward ? exact() : rounded(at.t));
                    b.grads(gradient(at.t, op.gradScale, 1), x);
                });
            }
        }
    }

    private static List<At> binaryShapes() {
        return List.of(new At("tiny", F32, new int[] {2, 3}, new int[] {3}, null),
                new At("odd", F32, new int[] {33, 257}, new int[] {33, 1}, null),
                new At("odd", F16, new int[] {33, 257}, new int[] {33, 1}, null),
                new At("odd", BF16, new int[] {33, 257}, new int[] {33, 1}, null),
                new At("odd", F32, new int[] {7, 1, 3}, new int[] {13, 1}, null),
                new At("odd", F16, new int[] {257}, new int[] {33, 257}, null),
                new At("large", F32, LARGE, new int[] {1, 523}, null),
                new At("large", BF16, LARGE, LARGE, null));
    }

    private record Binary(String name, BinaryOperator2 f, Dist a, Dist b, boolean exactForward, double gradScale) {
    }

    @FunctionalInterface
    private interface BinaryOperator2 {
        Value apply(Value a, Value b);
    }

    private static void binary(List<Case> into) {
        List<Binary> ops = List.of(
                new Binary("add", Ops::add, uniform(-3, 3), uniform(-3, 3), true, 1),
                new Binary("sub", Ops::sub, uniform(-3, 3), uniform(-3, 3), true, 1),
                new Binary("mul", Ops::mul, uniform(-3, 3), uniform(-3, 3), true, 3),
                new Binary("div", Ops::div, uniform(-3, 3), awayFromZero(0.25, 4), true, 48),
                new Binary("pow", Ops::pow, uniform(0.2, 3), uniform(-2, 2), false, 125),
                new Binary("maximum", Ops::maximum, uniform(-3, 3), uniform(-3, 3), true, 1),
                new Binary("minimum", Ops::minimum, uniform(-3, 3), uniform(-3, 3), true, 1));
        for (Binary op : ops) {
            for (At at : binaryShapes()) {
                add(into, "binary", op.name + "/" + at.t + "/" + shape(at.a) + "," + shape(at.b), b -> {
                    Value x = b.input("a", at.t, op.a, at.a);
                    Value y = b.input("b", at.t, op.b, at.b);
                    Value z = b.out("z", op.f.apply(x, y), op.exactForward ? exact() : rounded(at.t));
                    b.grads(w -> gradient(at.t, op.gradScale, numel(z) / numel(w)), x, y);
                });
            }
        }
    }

    private static void compare(List<Case> into) {
        Map<String, BinaryOperator2> ops = new LinkedHashMap<>();
        ops.put("lt", Ops::lt);
        ops.put("le", Ops::le);
        ops.put("gt", Ops::gt);
        ops.put("ge", Ops::ge);
        ops.put("eq", Ops::eq);
        ops.put("ne", Ops::ne);
        List<At> shapes = List.of(new At("tiny", F32, new int[] {2, 3}, new int[] {3}, null),
                new At("odd", F32, new int[] {33, 257}, new int[] {33, 257}, null),
                new At("odd", F16, new int[] {33, 257}, new int[] {257}, null),
                new At("odd", BF16, new int[] {33, 257}, new int[] {33, 1}, null),
                new At("odd", F32, new int[] {7, 1, 3}, new int[] {13, 1}, null),
                new At("large", F32, LARGE, new int[] {1, 523}, null),
                new At("odd", I32, new int[] {33, 257}, new int[] {257}, null),
                new At("odd", I64, new int[] {7, 13, 3}, new int[] {3}, null));
        for (Map.Entry<String, BinaryOperator2> op : ops.entrySet()) {
            for (At at : shapes) {
                add(into, "compare", op.getKey() + "/" + at.t + "/" + shape(at.a) + "," + shape(at.b), b -> {
                    Value x = at.t.isFloating() ? b.input("a", at.t, steps(-4, 4, 0.5), at.a) : b.ints("a", at.t, -3, 4, at.a);
                    Value y = at.t.isFloating() ? b.input("b", at.t, steps(-4, 4, 0.5), at.b) : b.ints("b", at.t, -3, 4, at.b);
                    b.out("z", op.getValue().apply(x, y), exact());
                });
            }
        }
    }

    private static void where(List<Case> into) {
        List<At> shapes = List.of(new At("tiny", F32, new int[] {3}, new int[] {2, 3}, new int[] {1}),
                new At("odd", F32, new int[] {33, 1}, new int[] {33, 257}, new int[] {257}),
                new At("odd", F16, new int[] {33, 257}, new int[] {33, 257}, new int[] {33, 257}),
                new At("odd", BF16, new int[] {7, 13, 1}, new int[] {13, 3}, new int[] {7, 1, 3}),
                new At("large", F32, LARGE, LARGE, new int[] {1, 523}),
                new At("large", F16, new int[] {1, 523}, LARGE, new int[] {611, 1}));
        for (At at : shapes) {
            add(into, "where", at.t + "/" + shape(at.a) + "," + shape(at.b) + "," + shape(at.c), b -> {
                Value cond = b.bools("cond", at.a);
                Value x = b.input("a", at.t, uniform(-3, 3), at.b);
                Value y = b.input("b", at.t, uniform(-3, 3), at.c);
                Value z = b.out("z", Ops.where(cond, x, y), exact());
                b.grads(w -> gradient(at.t, 1, numel(z) / numel(w)), x, y);
            });
        }
    }

    private static void not(List<Case> into) {
        for (int[] dims : new int[][] {{5}, {33, 257}, {7, 13, 3}, LARGE}) {
            add(into, "not", shape(dims), b -> b.out("z", Ops.not(b.bools("x", dims)), exact()));
        }
    }

    private static void cast(List<Case> into) {
        DType[] kinds = {F32, F16, BF16, BOOL};
        for (DType from : kinds) {
            for (DType to : kinds) {
                if (from == to) {
                    continue;
                }
                List<int[]> shapes = new ArrayList<>(List.of(new int[] {33, 257}, new int[] {7, 13, 3}));
                if (from == F32 || to == F32) {
                    shapes.add(LARGE);
                }
                for (int[] dims : shapes) {
                    add(into, "cast", from + "->" + to + "/" + shape(dims), b -> {
                        Value x = from == BOOL ? b.bools("x", dims)
                                : b.input("x", from, to == BOOL ? steps(-2, 2, 0.5) : wide(from == F16 || to == F16 ? -24 : -40, 10), dims);
                        b.out("y", Ops.cast(x, to), exact());
                        if (from.isFloating() && to.isFloating()) {
                            b.grads(exact(), x);
                        }
                    });
                }
            }
        }
        // from integers (indices cast to floats: positions, counts, masks)
        for (DType from : new DType[] {I32, I64}) {
            for (DType to : new DType[] {F32, F16, BF16, BOOL}) {
                int bound = to == F16 ? 3000 : 100_000;
                add(into, "cast", from + "->" + to + "/[33, 257]", b -> b.out("y", Ops.cast(b.ints("x", from, -bound, bound, 33, 257), to), exact()));
            }
        }
    }

    // ---------------------------------------------------------------- reductions

    private record Red(String size, DType t, int[] dims, int[] axes, boolean keep) {
    }

    private static void reduce(List<Case> into) {
        List<Red> shapes = List.of(new Red("tiny", F32, new int[] {3, 4}, new int[] {1}, false),
                new Red("odd", F32, new int[] {7, 13, 3}, new int[] {0, 2}, true),
                new Red("odd", F16, new int[] {7, 13, 3}, new int[] {0, 2}, true),
                new Red("odd", BF16, new int[] {7, 13, 3}, new int[] {1}, false),
                new Red("odd", F32, new int[] {33, 257}, new int[] {0}, false),
                new Red("odd", F16, new int[] {33, 257}, new int[] {1}, true),
                new Red("odd", F32, new int[] {33, 257}, new int[] {}, false),
                new Red("large", F32, new int[] {4097, 67}, new int[] {1}, false),
                new Red("large", BF16, new int[] {4097, 67}, new int[] {1}, true),
                new Red("large", F32, new int[] {4097, 67}, new int[] {0}, false),
                new Red("large", F32, new int[] {3, 4097, 29}, new int[] {1}, false),
                new Red("large", F32, LARGE, new int[] {}, false),
                new Red("large", F16, new int[] {300_007}, new int[] {0}, false));
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put("sum", Op.REDUCE_SUM);
        ops.put("max", Op.REDUCE_MAX);
        ops.put("min", Op.REDUCE_MIN);
        for (Map.Entry<String, Op> op : ops.entrySet()) {
            for (Red r : shapes) {
                add(into, "reduce", op.getKey() + "/" + r.t + "/" + shape(r.dims) + " axes " + shape(r.axes) + (r.keep ? " keep" : ""), b -> {
                    Value x = b.input("x", r.t, uniform(-1, 1), r.dims);
                    Value y = switch (op.getValue()) {
                        case REDUCE_SUM -> Ops.sum(x, r.keep, r.axes);
                        case REDUCE_MAX -> Ops.max(x, r.keep, r.axes);
                        default -> Ops.min(x, r.keep, r.axes);
                    };
                    long terms = numel(x) / numel(y);
                    b.out("y", y, op.getValue() == Op.REDUCE_SUM ? accumulated(r.t, 4 * Math.sqrt(terms)) : exact());
                    // sum's gradient broadcasts dy; max/min's counts the ties and divides
                    b.grads(gradient(r.t, 1, 1), x);
                });
            }
        }
        // the mean, as traced (sum times 1/count), over the rows of a wide matrix
        for (DType t : FLOATS) {
            add(into, "reduce", "mean/" + t + "/[4097, 67] axes [1]", b -> {
                Value x = b.input("x", t, uniform(-1, 1), 4097, 67);
                b.out("y", Ops.mean(x, false, 1), accumulated(t, 4 * Math.sqrt(67) / 67));
                b.grads(gradient(t, 1.0 / 67, 1), x);
            });
        }
    }

    private static void argmax(List<Case> into) {
        record Arg(DType t, int[] dims, int axis, boolean keep, Dist dist, String label) {
            Arg(DType t, int[] dims, int axis, boolean keep, Dist dist) {
                this(t, dims, axis, keep, dist, "");
            }
        }
        List<Arg> shapes = List.of(new Arg(F32, new int[] {5}, 0, false, uniform(-1, 1)),
                new Arg(F32, new int[] {33, 257}, 1, false, uniform(-1, 1)),
                new Arg(F16, new int[] {33, 257}, 1, false, uniform(-1, 1)),
                new Arg(BF16, new int[] {33, 257}, 0, false, uniform(-1, 1)),
                new Arg(F32, new int[] {7, 13, 3}, 1, true, uniform(-1, 1)),
                new Arg(F32, new int[] {4097, 67}, 1, false, uniform(-1, 1)),
                new Arg(F32, new int[] {67, 4097}, 0, false, uniform(-1, 1)),
                // ties everywhere: the first maximum wins
                new Arg(F32, new int[] {33, 257}, 1, false, steps(0, 4, 1), " ties"),
                new Arg(BF16, new int[] {7, 13, 3}, 2, false, steps(0, 2, 1), " ties"));
        for (Arg a : shapes) {
            add(into, "argmax", a.t + "/" + shape(a.dims) + " axis " + a.axis + (a.keep ? " keep" : "") + a.label,
                    b -> b.out("i", Ops.argmax(b.input("x", a.t, a.dist, a.dims), a.axis, a.keep), exact()));
        }
        add(into, "argmax", "i32/[33, 257] axis 1", b -> b.out("i", Ops.argmax(b.ints("x", I32, -50, 50, 33, 257), 1, false), exact()));
    }

    // ---------------------------------------------------------------- contractions

    private record Mm(DType t, int[] a, int[] b, boolean ta, boolean tb) {
    }

    private static void matmul(List<Case> into) {
        List<Mm> shapes = new ArrayList<>(List.of(
                new Mm(F32, new int[] {5, 7}, new int[] {7, 3}, false, false),
                new Mm(F32, new int[] {1, 1}, new int[] {1, 1}, false, false),
                new Mm(F32, new int[] {33, 1}, new int[] {1, 40}, false, false),
                new Mm(F32, new int[] {33, 65}, new int[] {65, 47}, false, false),
                new Mm(F16, new int[] {33, 65}, new int[] {65, 47}, false, false),
                new Mm(BF16, new int[] {33, 65}, new int[] {65, 47}, false, false),
                new Mm(F32, new int[] {65, 33}, new int[] {65, 47}, true, false),
                new Mm(F32, new int[] {33, 65}, new int[] {47, 65}, false, true),
                new Mm(F16, new int[] {65, 33}, new int[] {47, 65}, true, true),
                new Mm(F32, new int[] {4, 33, 17}, new int[] {4, 17, 29}, false, false),
                new Mm(BF16, new int[] {4, 17, 33}, new int[] {4, 29, 17}, true, true),
                new Mm(F32, new int[] {2, 3, 4, 5}, new int[] {3, 5, 6}, false, false),
                new Mm(F32, new int[] {2, 1, 4, 5}, new int[] {3, 5, 6}, false, false),
                new Mm(F16, new int[] {3, 5, 4}, new int[] {2, 1, 6, 5}, true, true),
                new Mm(F32, new int[] {7, 13, 33}, new int[] {33, 9}, false, false),
                new Mm(F32, new int[] {257, 300}, new int[] {300, 513}, false, false),
                new Mm(BF16, new int[] {257, 300}, new int[] {513, 300}, false, true),
                new Mm(F32, new int[] {8, 129, 64}, new int[] {8, 129, 64}, false, true)));
        for (Mm m : shapes) {
            add(into, "matmul", m.t + "/" + shape(m.a) + (m.ta ? "^T" : "") + "@" + shape(m.b) + (m.tb ? "^T" : ""), b -> {
                Value x = b.input("a", m.t, uniform(-1, 1), m.a);
                Value y = b.input("b", m.t, uniform(-1, 1), m.b);
                Value z = Ops.matmul(x, y, m.ta, m.tb);
                int k = m.ta ? m.a[m.a.length - 2] : m.a[m.a.length - 1];
                double macs = (double) numel(z) * k;
                b.out("c", z, accumulated(m.t, 0.25 * k));
                b.grads(w -> accumulated(m.t, 0.25 * macs / numel(w)), x, y);
            });
        }
    }

    private record Conv(DType t, int[] x, int[] w, OpAttrs.Conv2d p) {
    }

    private static OpAttrs.Conv2d conv(int stride, int pad, int dilation, int groups) {
        return new OpAttrs.Conv2d(stride, stride, pad, pad, dilation, dilation, groups);
    }

    private static void conv(List<Case> into) {
        List<Conv> shapes = List.of(
                new Conv(F32, new int[] {1, 1, 5, 5}, new int[] {1, 1, 3, 3}, conv(1, 0, 1, 1)),
                new Conv(F32, new int[] {2, 3, 13, 11}, new int[] {8, 3, 3, 3}, conv(2, 1, 1, 1)),
                new Conv(F16, new int[] {2, 3, 13, 11}, new int[] {8, 3, 3, 3}, conv(2, 1, 1, 1)),
                new Conv(BF16, new int[] {2, 3, 13, 11}, new int[] {8, 3, 3, 3}, conv(1, 1, 1, 1)),
                new Conv(F32, new int[] {2, 4, 15, 13}, new int[] {6, 4, 3, 3}, conv(1, 2, 2, 1)),
                new Conv(F32, new int[] {2, 6, 9, 9}, new int[] {8, 3, 3, 3}, conv(1, 1, 1, 2)),
                new Conv(F32, new int[] {2, 8, 11, 11}, new int[] {8, 1, 3, 3}, conv(1, 1, 1, 8)),
                new Conv(F16, new int[] {2, 8, 11, 11}, new int[] {8, 1, 3, 3}, conv(2, 1, 1, 8)),
                new Conv(BF16, new int[] {2, 8, 11, 11}, new int[] {16, 1, 3, 3}, conv(1, 1, 1, 8)),
                new Conv(F32, new int[] {2, 16, 7, 7}, new int[] {32, 16, 1, 1}, conv(1, 0, 1, 1)),
                new Conv(F32, new int[] {2, 5, 12, 17}, new int[] {7, 5, 3, 5}, new OpAttrs.Conv2d(1, 2, 0, 1, 1, 2, 1)),
                new Conv(F32, new int[] {8, 16, 33, 33}, new int[] {32, 16, 3, 3}, conv(1, 1, 1, 1)),
                new Conv(F32, new int[] {4, 32, 40, 40}, new int[] {32, 1, 3, 3}, conv(1, 1, 1, 32)));
        for (Conv c : shapes) {
            add(into, "conv2d", c.t + "/x" + shape(c.x) + " w" + shape(c.w) + " " + c.p, b -> {
                Value x = b.input("x", c.t, uniform(-1, 1), c.x);
                Value w = b.input("w", c.t, uniform(-1, 1), c.w);
                Value y = Ops.conv2d(x, w, c.p);
                int perOutput = c.w[1] * c.w[2] * c.w[3];
                double macs = (double) numel(y) * perOutput;
                b.out("y", y, convolution(c.t, 0.25 * perOutput));
                b.grads(v -> convolution(c.t, 0.25 * macs / numel(v)), x, w);
            });
        }
    }

    private static void pool(List<Case> into) {
        record Pool(DType t, int[] x, OpAttrs.Pool2d p) {
        }
        List<Pool> shapes = List.of(
                new Pool(F32, new int[] {1, 1, 4, 4}, new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false)),
                new Pool(F32, new int[] {2, 3, 13, 11}, new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false)),
                new Pool(F16, new int[] {2, 3, 13, 11}, new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, true)),
                // at most 256 distinct values fit bf16's 8 bits per binade: a small tensor keeps max pooling tie-free
                new Pool(BF16, new int[] {1, 2, 11, 9}, new OpAttrs.Pool2d(2, 3, 1, 2, 1, 0, false)),
                new Pool(F32, new int[] {2, 5, 9, 17}, new OpAttrs.Pool2d(3, 2, 1, 3, 0, 1, true)),
                new Pool(F32, new int[] {8, 16, 64, 64}, new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false)),
                new Pool(F32, new int[] {4, 16, 65, 63}, new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false)));
        for (Pool p : shapes) {
            for (String kind : new String[] {"max", "avg"}) {
                add(into, "pool", kind + "/" + p.t + "/" + shape(p.x) + " " + p.p, b -> {
                    boolean max = kind.equals("max");
                    // distinct values: no tie within a window whose winner could differ
                    Value x = b.input("x", p.t, max ? distinct(p.t == F32 ? 1e-4 : 1.0 / 64) : uniform(-1, 1), p.x);
                    Value y = max ? Ops.maxPool2d(x, p.p) : Ops.avgPool2d(x, p.p);
                    int window = p.p.kernelH() * p.p.kernelW();
                    b.out("y", y, max ? exact() : accumulated(p.t, 1));
                    // a position gets the gradients of every window holding it
                    int overlap = ceilDiv(p.p.kernelH(), p.p.strideH()) * ceilDiv(p.p.kernelW(), p.p.strideW());
                    b.grads(accumulated(p.t, max ? overlap : (double) overlap / window), x);
                });
            }
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    // ---------------------------------------------------------------- movement and indexing

    private static void movement(List<Case> into) {
        // PERMUTE
        record Perm(DType t, int[] dims, int[] perm) {
        }
        for (Perm p : List.of(new Perm(F32, new int[] {2, 3}, new int[] {1, 0}),
                new Perm(F32, new int[] {7, 13, 3}, new int[] {2, 0, 1}),
                new Perm(BF16, new int[] {2, 3, 4, 5}, new int[] {0, 2, 1, 3}),
                new Perm(F16, new int[] {2, 3, 4, 5}, new int[] {3, 1, 0, 2}),
                new Perm(F32, LARGE, new int[] {1, 0}),
                new Perm(F32, new int[] {33, 17, 5, 129}, new int[] {0, 2, 1, 3}))) {
            add(into, "movement", "permute/" + p.t + "/" + shape(p.dims) + " " + shape(p.perm), b -> {
                Value x = b.input("x", p.t, uniform(-3, 3), p.dims);
                b.out("y", Ops.permute(x, p.perm), exact());
                b.grads(exact(), x);
            });
        }
        add(into, "movement", "permute/i32/[7, 13, 3] [1, 2, 0]",
                b -> b.out("y", Ops.permute(b.ints("x", I32, -1000, 1000, 7, 13, 3), 1, 2, 0), exact()));
        // EXPAND
        record Exp(DType t, int[] from, int[] to) {
        }
        for (Exp e : List.of(new Exp(F32, new int[] {}, new int[] {33, 257}),
                new Exp(F32, new int[] {13, 1}, new int[] {7, 13, 3}),
                new Exp(F16, new int[] {1, 257}, new int[] {33, 257}),
                new Exp(BF16, new int[] {7, 1, 3}, new int[] {7, 13, 3}),
                new Exp(F32, new int[] {1, 523}, LARGE),
                new Exp(F32, new int[] {611, 1}, LARGE))) {
            add(into, "movement", "expand/" + e.t + "/" + shape(e.from) + "->" + shape(e.to), b -> {
                Value x = b.input("x", e.t, uniform(-3, 3), e.from);
                Value y = b.out("y", Ops.expand(x, Shape.of(e.to)), exact());
                b.grads(accumulated(e.t, 4 * Math.sqrt((double) numel(y) / numel(x))), x);
            });
        }
        // SLICE with steps
        record Sl(DType t, int[] dims, int[] starts, int[] ends, int[] steps) {
        }
        for (Sl s : List.of(new Sl(F32, new int[] {5}, new int[] {1}, new int[] {4}, new int[] {1}),
                new Sl(F32, new int[] {33, 257}, new int[] {1, 3}, new int[] {32, 250}, new int[] {2, 5}),
                new Sl(F16, new int[] {33, 257}, new int[] {0, 0}, new int[] {33, 257}, new int[] {3, 7}),
                new Sl(BF16, new int[] {7, 13, 3}, new int[] {2, 2, 0}, new int[] {7, 13, 3}, new int[] {1, 3, 2}),
                new Sl(F32, LARGE, new int[] {5, 1}, new int[] {611, 520}, new int[] {1, 2}),
                new Sl(F32, new int[] {2, 3, 4, 5}, new int[] {1, 0, 1, 4}, new int[] {2, 3, 4, 5}, new int[] {1, 2, 2, 1}))) {
            add(into, "movement", "slice/" + s.t + "/" + shape(s.dims) + " " + shape(s.starts) + ":" + shape(s.ends) + ":" + shape(s.steps), b -> {
                Value x = b.input("x", s.t, uniform(-3, 3), s.dims);
                b.out("y", Ops.slice(x, s.starts, s.ends, s.steps), exact());
                b.grads(exact(), x);
            });
        }
        // PAD
        record Pd(DType t, int[] dims, int[] before, int[] after) {
        }
        for (Pd p : List.of(new Pd(F32, new int[] {3}, new int[] {1}, new int[] {2}),
                new Pd(F32, new int[] {7, 13, 3}, new int[] {1, 0, 2}, new int[] {0, 3, 1}),
                new Pd(F16, new int[] {33, 257}, new int[] {0, 5}, new int[] {7, 0}),
                new Pd(BF16, new int[] {2, 3, 5, 7}, new int[] {0, 0, 1, 1}, new int[] {0, 0, 1, 1}),
                new Pd(F32, LARGE, new int[] {1, 1}, new int[] {1, 1}))) {
            add(into, "movement", "pad/" + p.t + "/" + shape(p.dims) + " " + shape(p.before) + " " + shape(p.after), b -> {
                Value x = b.input("x", p.t, uniform(-3, 3), p.dims);
                b.out("y", Ops.pad(x, p.before, p.after), exact());
                b.grads(exact(), x);
            });
        }
        add(into, "movement", "pad/i64/[7, 13] [2, 0] [1, 3]",
                b -> b.out("y", Ops.pad(b.ints("x", I64, -1000, 1000, 7, 13), new int[] {2, 0}, new int[] {1, 3}), exact()));
        // CONCAT
        record Cat(DType t, int axis, int[][] parts) {
        }
        for (Cat c : List.of(new Cat(F32, 0, new int[][] {{2}, {3}}),
                new Cat(F32, 0, new int[][] {{3, 257}, {30, 257}}),
                new Cat(F16, 1, new int[][] {{33, 1}, {33, 100}, {33, 156}}),
                new Cat(BF16, 2, new int[][] {{7, 13, 3}, {7, 13, 5}}),
                new Cat(F32, 1, new int[][] {{7, 13, 3}, {7, 1, 3}, {7, 19, 3}}),
                new Cat(F32, 0, new int[][] {{300, 523}, {311, 523}}),
                new Cat(F32, 1, new int[][] {{611, 261}, {611, 262}}))) {
            StringBuilder name = new StringBuilder("concat/" + c.t + "/axis " + c.axis);
            for (int[] p : c.parts) {
                name.append(' ').append(shape(p));
            }
            add(into, "movement", name.toString(), b -> {
                Value[] parts = new Value[c.parts.length];
                for (int i = 0; i < parts.length; i++) {
                    parts[i] = b.input("x" + i, c.t, uniform(-3, 3), c.parts[i]);
                }
                b.out("y", Ops.concat(c.axis, parts), exact());
                b.grads(exact(), parts);
            });
        }
        add(into, "movement", "concat/i32/axis 1 [7, 13] [7, 4]",
                b -> b.out("y", Ops.concat(1, b.ints("x0", I32, -9, 9, 7, 13), b.ints("x1", I32, -9, 9, 7, 4)), exact()));
        add(into, "movement", "concat/bool/axis 0 [3, 5] [4, 5]", b -> b.out("y", Ops.concat(0, b.bools("x0", 3, 5), b.bools("x1", 4, 5)), exact()));
        // RESHAPE: a view of its input's buffer, as an output and inside a computation
        add(into, "movement", "reshape/f32/[7, 13, 3]->[21, 13] then permute", b -> {
            Value x = b.input("x", F32, uniform(-3, 3), 7, 13, 3);
            b.out("y", Ops.permute(Ops.reshape(x, 21, 13), 1, 0), exact());
            b.grads(exact(), x);
        });
        add(into, "movement", "reshape/f32/of a computed value", b -> {
            Value x = b.input("x", F32, uniform(-3, 3), 33, 257);
            b.out("y", Ops.reshape(Ops.mul(x, x), 257, 33), exact());
            b.grads(gradient(F32, 6, 1), x);
        });
        add(into, "movement", "reshape/bf16/of an input", b -> {
            Value x = b.input("x", BF16, uniform(-3, 3), 7, 13, 3);
            b.out("y", Ops.reshape(x, 91, 3), exact());
        });
    }

    private static void indexing(List<Case> into) {
        record Gat(DType t, DType it, int[] x, int axis, int[] idx) {
        }
        for (Gat g : List.of(new Gat(F32, I32, new int[] {5, 3}, 0, new int[] {4}),
                new Gat(F32, I32, new int[] {1000, 64}, 0, new int[] {33, 17}),
                new Gat(F16, I64, new int[] {1000, 64}, 0, new int[] {33, 17}),
                new Gat(BF16, I32, new int[] {97, 33}, 0, new int[] {7, 13}),
                new Gat(F32, I64, new int[] {7, 13, 3}, 1, new int[] {5}),
                new Gat(F32, I32, new int[] {33, 257}, 1, new int[] {2, 40}),
                new Gat(F32, I32, new int[] {5000, 64}, 0, new int[] {4097}))) {
            add(into, "indexing", "gather/" + g.t + "/x" + shape(g.x) + " axis " + g.axis + " idx " + g.it + shape(g.idx), b -> {
                Value x = b.input("x", g.t, uniform(-3, 3), g.x);
                Value idx = b.ints("idx", g.it, 0, g.x[g.axis], g.idx);
                Value y = b.out("y", Ops.gather(x, idx, g.axis), exact());
                // repeated indices add up in the gradient (a scatter-add)
                b.grads(accumulated(g.t, 4 * Math.sqrt(Math.max(1.0, (double) numel(idx) / g.x[g.axis]))), x);
            });
        }
        record Sc(DType t, DType it, int[] out, int axis, int[] idx) {
        }
        for (Sc s : List.of(new Sc(F32, I32, new int[] {4, 3}, 0, new int[] {6}),
                new Sc(F32, I32, new int[] {50, 16}, 0, new int[] {200}),
                new Sc(F16, I64, new int[] {50, 16}, 0, new int[] {200}),
                new Sc(BF16, I32, new int[] {7, 13, 3}, 1, new int[] {20}),
                new Sc(F32, I64, new int[] {300, 64}, 0, new int[] {33, 61}))) {
            add(into, "indexing", "scatter_add/" + s.t + "/out" + shape(s.out) + " axis " + s.axis + " idx " + s.it + shape(s.idx), b -> {
                Value idx = b.ints("idx", s.it, 0, s.out[s.axis], s.idx);
                int[] src = new int[s.out.length - 1 + s.idx.length];
                System.arraycopy(s.out, 0, src, 0, s.axis);
                System.arraycopy(s.idx, 0, src, s.axis, s.idx.length);
                System.arraycopy(s.out, s.axis + 1, src, s.axis + s.idx.length, s.out.length - s.axis - 1);
                Value x = b.input("src", s.t, uniform(-3, 3), src);
                double dup = Math.max(1.0, (double) numel(idx) / s.out[s.axis]);
                b.out("y", Ops.scatterAdd(x, idx, s.axis, Shape.of(s.out)), accumulated(s.t, 6 * Math.sqrt(dup)));
                b.grads(exact(), x);
            });
        }
        for (DType t : FLOATS) {
            add(into, "indexing", "embedding/" + t + "/table[97, 33] ids i64[7, 13]", b -> {
                Value table = b.input("table", t, uniform(-1, 1), 97, 33);
                Value ids = b.ints("ids", I64, 0, 97, 7, 13);
                b.out("y", Functional.embedding(table, ids), exact());
                b.grads(accumulated(t, 4), table);
            });
        }
    }

    private static void sources(List<Case> into) {
        for (DType t : new DType[] {F32, F16, I32, I64}) {
            add(into, "sources", "iota/" + t + "/[33, 257] axis 1", b -> b.out("y", Ops.iota(b.graph, Shape.of(33, 257), 1, t), exact()));
        }
        add(into, "sources", "iota/f32/[7, 13, 3] axis 0 times x", b -> {
            Value x = b.input("x", F32, uniform(-1, 1), 7, 13, 3);
            b.out("y", Ops.mul(x, Ops.iota(b.graph, Shape.of(7, 13, 3), 0, F32)), exact());
            b.grads(exact(), x);
        });
        add(into, "sources", "iota/f32/large axis 0", b -> b.out("y", Ops.iota(b.graph, Shape.of(LARGE), 0, F32), exact()));
        for (DType t : FLOATS) {
            add(into, "sources", "full/" + t + "/[33, 257]", b -> b.out("y", Ops.full(b.graph, Shape.of(33, 257), 2.71828, t), exact()));
        }
        add(into, "sources", "constant/f32/scalar", b -> b.out("y", Ops.constant(b.graph, -1.25, F32), exact()));
        add(into, "sources", "constant/f32/plus x", b -> {
            Value x = b.input("x", F32, uniform(-1, 1), 7, 13, 3);
            b.out("y", Ops.add(x, Ops.constant(b.graph, 0.1, F32)), exact());
            b.grads(exact(), x);
        });
    }

    private static void random(List<Case> into) {
        for (int[] dims : new int[][] {{1}, {5}, {33, 257}, {7, 13, 3}, {1301}, LARGE}) {
            add(into, "random", "uniform/f32/" + shape(dims), b -> {
                Value offset = b.offset("offset");
                b.out("u", Ops.randomUniform(offset, Shape.of(dims), 1234, 5), exact());
            });
        }
        add(into, "random", "uniform/f32/two streams", b -> {
            Value offset = b.offset("offset");
            b.out("u0", Ops.randomUniform(offset, Shape.of(33, 257), 42, 0), exact());
            b.out("u1", Ops.randomUniform(offset, Shape.of(33, 257), 42, 1), exact());
        });
        for (DType t : FLOATS) {
            for (int[] dims : new int[][] {{33, 257}, LARGE}) {
                add(into, "random", "dropout/" + t + "/" + shape(dims), b -> {
                    Value x = b.input("x", t, uniform(-3, 3), dims);
                    Value offset = b.offset("offset");
                    b.out("y", Functional.dropout(x, 0.3, true, offset, 99, 7), exact());
                    b.grads(exact(), x);
                });
            }
        }
        add(into, "random", "dropout/f32/bias-dropout-residual", b -> {
            Value x = b.input("x", F32, uniform(-3, 3), 33, 257);
            Value bias = b.input("bias", F32, uniform(-1, 1), 257);
            Value residual = b.input("residual", F32, uniform(-3, 3), 33, 257);
            Value offset = b.offset("offset");
            b.out("y", Ops.add(residual, Functional.dropout(Ops.add(x, bias), 0.1, true, offset, 1, 2)), exact());
            b.grads(w -> accumulated(F32, 4 * Math.sqrt(33.0 * 257 / numel(w))), x, bias, residual);
        });
    }

    // ---------------------------------------------------------------- row ops and attention

    private static void crossEntropy(List<Case> into) {
        record Ce(DType t, DType labels, int n, int c, double smoothing) {
        }
        for (Ce c : List.of(new Ce(F32, I32, 1, 1, 0), new Ce(F32, I32, 2, 3, 0),
                new Ce(F32, I64, 33, 10, 0), new Ce(F32, I32, 33, 10, 0.1),
                new Ce(F16, I32, 33, 257, 0), new Ce(BF16, I64, 33, 257, 0.2),
                new Ce(F32, I32, 7, 5003, 0.1), new Ce(F16, I64, 7, 5003, 0),
                new Ce(F32, I32, 4097, 37, 0), new Ce(BF16, I32, 4097, 37, 0.1))) {
            add(into, "cross_entropy", c.t + "/[" + c.n + ", " + c.c + "] labels " + c.labels + (c.smoothing > 0 ? " smoothing " + c.smoothing : ""), b -> {
                Value logits = b.input("logits", c.t, uniform(-4, 4), c.n, c.c);
                Value labels = b.ints("labels", c.labels, 0, c.c, c.n);
                b.out("loss", Ops.softmaxCrossEntropy(logits, labels, c.smoothing), accumulated(F32, 8));
                b.grads(accumulated(c.t, 2), logits);
            });
        }
        // the mean loss (Functional.crossEntropy): the loss a model trains on
        add(into, "cross_entropy", "mean/f32/[64, 10] smoothing 0.1", b -> {
            Value logits = b.input("logits", F32, uniform(-4, 4), 64, 10);
            b.out("loss", Functional.crossEntropy(logits, b.ints("labels", I32, 0, 10, 64), 0.1), accumulated(F32, 8));
            b.grads(accumulated(F32, 1), logits);
        });
    }

    private static void layerNorm(List<Case> into) {
        record Ln(DType t, int[] dims, int axes, boolean weight, boolean bias) {
        }
        for (Ln l : List.of(new Ln(F32, new int[] {1, 1}, 1, true, true),
                new Ln(F32, new int[] {2, 5}, 1, false, false),
                new Ln(F32, new int[] {33, 257}, 1, true, true),
                new Ln(F16, new int[] {33, 257}, 1, true, true),
                new Ln(BF16, new int[] {33, 257}, 1, true, false),
                new Ln(F32, new int[] {7, 13, 3}, 2, false, true),
                new Ln(F16, new int[] {7, 13, 3}, 2, true, false),
                new Ln(F32, new int[] {4097, 96}, 1, true, true),
                new Ln(BF16, new int[] {4097, 96}, 1, true, true),
                new Ln(F32, new int[] {8, 4099}, 1, true, true))) {
            add(into, "layer_norm", l.t + "/" + shape(l.dims) + " axes " + l.axes + (l.weight ? " weight" : "") + (l.bias ? " bias" : ""), b -> {
                Value x = b.input("x", l.t, uniform(-2, 3), l.dims);
                int[] norm = java.util.Arrays.copyOfRange(l.dims, l.dims.length - l.axes, l.dims.length);
                Value w = l.weight ? b.input("weight", l.t, uniform(0.5, 1.5), norm) : null;
                Value bias = l.bias ? b.input("bias", l.t, uniform(-1, 1), norm) : null;
                Value y = b.out("y", Ops.layerNorm(x, w, bias, l.axes, 1e-5), accumulated(l.t, 8));
                List<Value> wrt = new ArrayList<>(List.of(x));
                if (w != null) {
                    wrt.add(w);
                }
                if (bias != null) {
                    wrt.add(bias);
                }
                long rows = numel(y) / Shape.of(norm).numel();
                b.grads(v -> accumulated(l.t, v == x ? 16 : 8 * Math.sqrt(rows)), wrt.toArray(Value[]::new));
            });
        }
        add(into, "layer_norm", "functional/f32/[7, 13, 3] over [13, 3]", b -> {
            Value x = b.input("x", F32, uniform(-2, 3), 7, 13, 3);
            Value w = b.input("weight", F32, uniform(0.5, 1.5), 13, 3);
            Value bias = b.input("bias", F32, uniform(-1, 1), 13, 3);
            b.out("y", Functional.layerNorm(x, Shape.of(13, 3), w, bias, 1e-5), accumulated(F32, 8));
            b.grads(v -> accumulated(F32, 16), x, w, bias);
        });
    }

    private static void attention(List<Case> into) {
        record At4(DType t, int bsz, int heads, int len, int d, boolean causal) {
        }
        for (At4 a : List.of(new At4(F32, 1, 1, 1, 4, false), new At4(F32, 1, 1, 1, 4, true),
                new At4(F32, 2, 3, 37, 24, false), new At4(F32, 2, 3, 37, 24, true),
                new At4(F16, 2, 3, 37, 24, true), new At4(BF16, 2, 3, 37, 24, false),
                new At4(F32, 1, 2, 129, 64, true), new At4(F16, 2, 2, 65, 64, false),
                new At4(F32, 2, 4, 256, 64, true), new At4(F32, 1, 1, 1030, 32, true),
                new At4(BF16, 1, 2, 300, 128, true))) {
            add(into, "attention", a.t + "/[" + a.bsz + ", " + a.heads + ", " + a.len + ", " + a.d + "]" + (a.causal ? " causal" : ""), b -> {
                int[] dims = {a.bsz, a.heads, a.len, a.d};
                Value q = b.input("q", a.t, uniform(-1, 1), dims);
                Value k = b.input("k", a.t, uniform(-1, 1), dims);
                Value v = b.input("v", a.t, uniform(-1, 1), dims);
                b.out("out", Functional.scaledDotProductAttention(q, k, v, a.causal), accumulated(a.t, 4));
                b.grads(accumulated(a.t, 4 * Math.sqrt(a.len)), q, k, v);
            });
        }
    }

    private static void composite(List<Case> into) {
        for (DType t : FLOATS) {
            add(into, "composite", "softmax/" + t + "/[33, 257] axis 1", b -> {
                Value x = b.input("x", t, uniform(-4, 4), 33, 257);
                b.out("y", Functional.softmax(x, 1), accumulated(t, 1));
                b.grads(accumulated(t, 4), x);
            });
        }
        add(into, "composite", "softmax/f32/[4097, 67] axis 1", b -> {
            Value x = b.input("x", F32, uniform(-4, 4), 4097, 67);
            b.out("y", Functional.softmax(x, 1), accumulated(F32, 1));
            b.grads(accumulated(F32, 4), x);
        });
        add(into, "composite", "softmax/f32/[7, 13, 3] axis 0", b -> {
            Value x = b.input("x", F32, uniform(-4, 4), 7, 13, 3);
            b.out("y", Functional.softmax(x, 0), accumulated(F32, 1));
            b.grads(accumulated(F32, 4), x);
        });
        add(into, "composite", "log_softmax/f32/[33, 257] axis 1", b -> {
            Value x = b.input("x", F32, uniform(-4, 4), 33, 257);
            b.out("y", Functional.logSoftmax(x, 1), accumulated(F32, 8));
            b.grads(accumulated(F32, 4), x);
        });
        for (DType t : FLOATS) {
            add(into, "composite", "gelu/" + t + "/" + shape(LARGE), b -> {
                Value x = b.input("x", t, uniform(-4, 4), LARGE);
                b.out("y", Functional.gelu(x), cancelling(t, 4));
                b.grads(gradient(t, 2, 1), x);
            });
        }
        add(into, "composite", "gelu_tanh/f32/[33, 257]", b -> {
            Value x = b.input("x", F32, uniform(-4, 4), 33, 257);
            b.out("y", Functional.gelu(x, true), cancelling(F32, 4));
            b.grads(gradient(F32, 2, 1), x);
        });
        add(into, "composite", "silu/bf16/[33, 257]", b -> {
            Value x = b.input("x", BF16, uniform(-4, 4), 33, 257);
            b.out("y", Functional.silu(x), rounded(BF16).times(2));
            b.grads(gradient(BF16, 2, 1), x);
        });
        add(into, "composite", "mse_loss/f32/[611, 523]", b -> {
            Value p = b.input("prediction", F32, uniform(-1, 1), LARGE);
            Value target = b.input("target", F32, uniform(-1, 1), LARGE);
            b.out("loss", Functional.mseLoss(p, target), accumulated(F32, 4));
            b.grads(accumulated(F32, 1), p, target);
        });
        add(into, "composite", "variance/f32/[33, 257] axis 1", b -> {
            Value x = b.input("x", F32, uniform(-1, 2), 33, 257);
            b.out("y", Functional.variance(x, 1, false, 1), accumulated(F32, 4));
            b.grads(accumulated(F32, 1), x);
        });
        add(into, "composite", "linear/f16/[7, 13, 33] w[40, 33] + b", b -> {
            Value x = b.input("x", F16, uniform(-1, 1), 7, 13, 33);
            Value w = b.input("w", F16, uniform(-1, 1), 40, 33);
            Value bias = b.input("bias", F16, uniform(-1, 1), 40);
            b.out("y", Ops.relu(Functional.linear(x, w, bias)), accumulated(F16, 10));
            b.grads(v -> accumulated(F16, 4 * Math.sqrt(91.0 * 40)), x, w, bias);
        });
    }

    // ================================================================ training steps

    /**
     * A small model's training step, traced with parameters (and optimizer state) updated by
     * {@link Op#ASSIGN}: what a trainer runs. {@link BackendParity#compareTraining} runs several
     * steps on two executors from the same initial parameters and compares the losses, the
     * gradients and the parameters after every step.
     */
    public static final class TrainingCase {
        private final String name;
        private final Function<Builder, Step> body;

        TrainingCase(String name, Function<Builder, Step> body) {
            this.name = name;
            this.body = body;
        }

        /** The model's name, e.g. {@code mlp}. */
        public String name() {
            return name;
        }

        /** Traces the step. */
        public Traced build() {
            Builder b = new Builder("train/" + name);
            Step step = body.apply(b);
            return new Traced(new Instance("train/" + name, b.graph, List.copyOf(b.outputs), Collections.unmodifiableMap(new LinkedHashMap<>(b.feeds))),
                    step.bound());
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A bound (parameter or state) input and how its initial values are drawn. */
    public record Bound(Value input, Dist init) {
    }

    /** What a training body returns: its bound inputs. */
    record Step(List<Bound> bound) {
    }

    /** A traced training step: data feeds per step come from {@link Instance#feeds}, bound inputs from their initialisers. */
    public record Traced(Instance instance, List<Bound> bound) {
        /** Fresh initial values of every bound input, the same for every call. */
        public Map<Value, Tensor> initialValues() {
            Map<Value, Tensor> values = new LinkedHashMap<>();
            long base = Long.getLong(SEED_PROPERTY, 0x5EED_2024L);
            for (Bound bnd : bound) {
                Value v = bnd.input();
                double[] x = bnd.init().draw(new SplittableRandom(mix(base, instance.name().hashCode(), v.ref().hashCode(), -1)),
                        Math.toIntExact(v.shape().numel()));
                values.put(v, Tensor.of(x, v.dtype(), v.shape().dims()));
            }
            return values;
        }
    }

    /** Every training case. */
    public static List<TrainingCase> trainingSteps() {
        return List.of(new TrainingCase("mlp", OpParityCases::mlp), new TrainingCase("cnn-small", OpParityCases::cnnSmall),
                new TrainingCase("mobilenet-tiny", OpParityCases::mobilenetTiny), new TrainingCase("tiny-gpt", OpParityCases::tinyGpt));
    }

    /** Tracks parameters and state, then appends SGD (with momentum for the state given) as ASSIGNs. */
    private static final class Params {
        final Builder b;
        final List<Bound> bound = new ArrayList<>();
        final List<Value> params = new ArrayList<>();

        Params(Builder b) {
            this.b = b;
        }

        Value param(String name, Dist init, int... dims) {
            Value p = b.graph.parameter(name, Shape.of(dims), F32);
            bound.add(new Bound(p, init));
            params.add(p);
            return p;
        }

        /** Kaiming-like uniform initialisation for a weight of {@code fanIn} inputs. */
        static Dist fanIn(int fanIn) {
            double r = Math.sqrt(3.0 / fanIn);
            return uniform(-r, r);
        }

        /** Outputs the loss and every gradient, then updates each parameter: plain SGD, or with momentum. */
        Step sgd(Value loss, double lr, double momentum) {
            b.out("loss", loss, new Tol(1e-5, 1e-4));
            List<Value> grads = Autodiff.grad(loss, params);
            for (int i = 0; i < params.size(); i++) {
                Value p = params.get(i);
                Value g = grads.get(i);
                b.out("grad(" + p.ref() + ")", g, new Tol(1e-5, 1e-3));
                Value update = g;
                if (momentum > 0) {
                    Value v = b.graph.state("velocity." + p.ref(), p.shape(), F32);
                    bound.add(new Bound(v, uniform(0, 0)));
                    update = Ops.add(Ops.mul(v, Ops.constant(b.graph, momentum, F32)), g);
                    Ops.assign(v, update);
                }
                Ops.assign(p, Ops.sub(p, Ops.mul(update, Ops.constant(b.graph, lr, F32))));
            }
            return new Step(List.copyOf(bound));
        }
    }

    private static Step mlp(Builder b) {
        Params ps = new Params(b);
        Value x = b.input("x", F32, uniform(-1, 1), 64, 20);
        Value labels = b.ints("labels", I32, 0, 10, 64);
        Value w1 = ps.param("w1", Params.fanIn(20), 48, 20);
        Value b1 = ps.param("b1", uniform(-0.1, 0.1), 48);
        Value w2 = ps.param("w2", Params.fanIn(48), 10, 48);
        Value b2 = ps.param("b2", uniform(-0.1, 0.1), 10);
        Value h = Ops.relu(Functional.linear(x, w1, b1));
        Value loss = Functional.crossEntropy(Functional.linear(h, w2, b2), labels, 0.1);
        return ps.sgd(loss, 0.1, 0);
    }

    private static Step cnnSmall(Builder b) {
        Params ps = new Params(b);
        Value x = b.input("x", F32, uniform(-1, 1), 8, 3, 16, 16);
        Value labels = b.ints("labels", I64, 0, 10, 8);
        Value c1 = ps.param("conv1", Params.fanIn(27), 8, 3, 3, 3);
        Value c2 = ps.param("conv2", Params.fanIn(72), 16, 8, 3, 3);
        Value fc = ps.param("fc", Params.fanIn(256), 10, 256);
        Value fcb = ps.param("fc.bias", uniform(-0.1, 0.1), 10);
        Value h = Ops.relu(Ops.conv2d(x, c1, conv(1, 1, 1, 1)));
        h = Ops.maxPool2d(h, new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false)); // [8, 8, 8, 8]
        h = Ops.relu(Ops.conv2d(h, c2, conv(1, 1, 1, 1)));
        h = Ops.avgPool2d(h, new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false)); // [8, 16, 4, 4]
        Value logits = Functional.linear(Functional.flatten(h), fc, fcb);
        return ps.sgd(Functional.crossEntropy(logits, labels), 0.05, 0.9);
    }

    private static Step mobilenetTiny(Builder b) {
        Params ps = new Params(b);
        Value x = b.input("x", F32, uniform(-1, 1), 4, 3, 17, 17);
        Value labels = b.ints("labels", I32, 0, 5, 4);
        Value stem = ps.param("stem", Params.fanIn(27), 16, 3, 3, 3);
        Value dw = ps.param("dw", Params.fanIn(9), 16, 1, 3, 3);
        Value pw = ps.param("pw", Params.fanIn(16), 24, 16, 1, 1);
        Value fc = ps.param("fc", Params.fanIn(24), 5, 24);
        Value h = Ops.relu(Ops.conv2d(x, stem, conv(2, 1, 1, 1))); // [4, 16, 9, 9]
        h = Ops.relu(Ops.conv2d(h, dw, conv(1, 1, 1, 16)));
        h = Ops.minimum(Ops.relu(Ops.conv2d(h, pw, conv(1, 0, 1, 1))), Ops.constant(b.graph, 6, F32)); // relu6
        Value pooled = Ops.mean(h, false, 2, 3); // [4, 24]
        return ps.sgd(Functional.crossEntropy(Functional.linear(pooled, fc, null), labels), 0.1, 0.9);
    }

    private static Step tinyGpt(Builder b) {
        int batch = 2;
        int len = 16;
        int dim = 32;
        int heads = 2;
        int vocab = 50;
        Params ps = new Params(b);
        Value tokens = b.ints("tokens", I32, 0, vocab, batch, len);
        Value targets = b.ints("targets", I32, 0, vocab, batch * len);
        Value offset = b.offset("dropout.offset");
        Value wte = ps.param("wte", uniform(-0.5, 0.5), vocab, dim);
        Value wpe = ps.param("wpe", uniform(-0.5, 0.5), len, dim);
        Value ln1w = ps.param("ln1.weight", uniform(0.9, 1.1), dim);
        Value ln1b = ps.param("ln1.bias", uniform(-0.1, 0.1), dim);
        Value qkv = ps.param("attn.qkv", Params.fanIn(dim), 3 * dim, dim);
        Value proj = ps.param("attn.proj", Params.fanIn(dim), dim, dim);
        Value ln2w = ps.param("ln2.weight", uniform(0.9, 1.1), dim);
        Value ln2b = ps.param("ln2.bias", uniform(-0.1, 0.1), dim);
        Value fc1 = ps.param("mlp.fc1", Params.fanIn(dim), 4 * dim, dim);
        Value fc1b = ps.param("mlp.fc1.bias", uniform(-0.1, 0.1), 4 * dim);
        Value fc2 = ps.param("mlp.fc2", Params.fanIn(4 * dim), dim, 4 * dim);
        Value lnfw = ps.param("lnf.weight", uniform(0.9, 1.1), dim);
        Value head = ps.param("lm_head", Params.fanIn(dim), vocab, dim);

        Value h = Ops.add(Functional.embedding(wte, tokens), wpe); // [B, T, C]
        Value a = Functional.layerNorm(h, Shape.of(dim), ln1w, ln1b, 1e-5);
        Value qkvOut = Functional.linear(a, qkv, null); // [B, T, 3C]
        Value split = Ops.permute(Ops.reshape(qkvOut, batch, len, 3, heads, dim / heads), 2, 0, 3, 1, 4); // [3, B, H, T, D]
        Value[] parts = new Value[3];
        for (int i = 0; i < 3; i++) {
            parts[i] = Ops.reshape(Ops.slice(split, 0, i, i + 1, 1), batch, heads, len, dim / heads);
        }
        Value att = Functional.scaledDotProductAttention(parts[0], parts[1], parts[2], true); // [B, H, T, D]
        Value merged = Ops.reshape(Ops.permute(att, 0, 2, 1, 3), batch, len, dim);
        h = Ops.add(h, Functional.dropout(Functional.linear(merged, proj, null), 0.1, true, offset, 7, 0));
        Value m = Functional.layerNorm(h, Shape.of(dim), ln2w, ln2b, 1e-5);
        m = Functional.linear(Functional.gelu(Functional.linear(m, fc1, fc1b)), fc2, null);
        h = Ops.add(h, m);
        Value logits = Functional.linear(Functional.layerNorm(h, Shape.of(dim), lnfw, null, 1e-5), head, null); // [B, T, V]
        Value loss = Functional.crossEntropy(Ops.reshape(logits, batch * len, vocab), targets, 0.05);
        return ps.sgd(loss, 0.2, 0);
    }
}
