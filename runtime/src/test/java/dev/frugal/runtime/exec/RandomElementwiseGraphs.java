package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random programs for property tests of fusion and code generation: a few inputs of shapes that
 * broadcast against a random output shape (rank 1 to 4, sizes 1 to 9), in F32, F16 or BF16, then
 * a random chain of elementwise ops drawn from the whole elementwise op set (unary, binary with
 * broadcasting, comparisons feeding selects, casts between float types, constants), with now
 * and then a sum, maximum or minimum over random axes broadcast back, so groups end (in a fused
 * reduction where the backend fuses it) and restart around it.
 * Operands of ops with a restricted domain are made safe first ({@code log(|x| + 1)},
 * {@code sqrt(|x|)}, division by {@code |x| + 0.5}), so results are finite and comparable.
 * Some intermediate values are outputs too, so groups store more than their last value.
 *
 * @param graph   the program
 * @param inputs  its data inputs
 * @param outputs what to compile
 * @param feeds   random values for the inputs (the caller closes them)
 */
public record RandomElementwiseGraphs(Graph graph, List<Value> inputs, List<Value> outputs, Map<Value, Tensor> feeds) {
    private static final List<DType> FLOATS = List.of(DType.F32, DType.F16, DType.BF16);

    /** The program of {@code seed}: the same seed always gives the same program and inputs. */
    public static RandomElementwiseGraphs of(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Graph g = new Graph("random-" + seed);
        int rank = 1 + r.nextInt(4);
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = 1 + r.nextInt(9);
        }
        Shape shape = Shape.of(dims);
        DType main = FLOATS.get(r.nextInt(FLOATS.size()));
        List<Value> inputs = new ArrayList<>();
        List<Value> pool = new ArrayList<>();
        int inputCount = 2 + r.nextInt(3);
        for (int i = 0; i < inputCount; i++) {
            Value in = g.input("x" + i, broadcastable(shape, r), i == 0 ? main : FLOATS.get(r.nextInt(FLOATS.size())));
            inputs.add(in);
            pool.add(Ops.cast(in, main));
        }
        // the first value must have the full shape, so the chain does
        Value full = g.input("full", shape, main);
        inputs.add(full);
        pool.add(full);
        List<Value> outputs = new ArrayList<>();
        Value last = full;
        int ops = 5 + r.nextInt(12);
        for (int k = 0; k < ops; k++) {
            Value a = last;
            Value b = pool.get(r.nextInt(pool.size()));
            Value v = switch (r.nextInt(27)) {
                case 0 -> Ops.neg(a);
                case 1 -> Ops.abs(a);
                case 2 -> Ops.relu(a);
                case 3 -> Ops.sqrt(Ops.abs(a));
                case 4 -> Ops.exp(Ops.neg(Ops.abs(a)));
                case 5 -> Ops.log(Ops.add(Ops.abs(a), constant(g, 1, main)));
                case 6 -> Ops.tanh(a);
                case 7 -> Ops.sigmoid(a);
                case 8 -> Ops.erf(a);
                case 9 -> Ops.round(Ops.mul(a, constant(g, 4, main)));
                case 10 -> Ops.sign(a);
                case 11 -> Ops.reciprocal(Ops.add(Ops.abs(a), constant(g, 0.5, main)));
                case 12 -> Ops.add(a, b);
                case 13 -> Ops.sub(b, a);
                case 14 -> Ops.mul(a, b);
                case 15 -> Ops.div(a, Ops.add(Ops.abs(b), constant(g, 0.5, main)));
                case 16 -> Ops.maximum(a, b);
                case 17 -> Ops.minimum(b, a);
                case 18 -> Ops.pow(Ops.abs(a), constant(g, 1.5, main));
                case 19 -> Ops.where(Ops.lt(a, b), a, Ops.neg(b));
                case 20 -> Ops.where(Ops.not(Ops.ge(b, a)), Ops.mul(a, b), a);
                case 21 -> Ops.cast(Ops.cast(a, FLOATS.get(r.nextInt(FLOATS.size()))), main);
                case 22 -> Ops.rsqrt(Ops.add(Ops.mul(a, a), constant(g, 1, main)));
                default -> {
                    // a sum, maximum or minimum over random axes, broadcast back: it ends a group
                    // (as that group's trailing reduction where the backend fuses it) and the
                    // chain goes on in a new one
                    int[] axes = axes(rank, r);
                    Value wide = Ops.cast(a, DType.F32);
                    Value reduced = switch (r.nextInt(3)) {
                        case 0 -> Ops.sum(wide, true, axes);
                        case 1 -> Ops.max(wide, true, axes);
                        default -> Ops.min(wide, true, axes);
                    };
                    Value s = Ops.cast(reduced, main);
                    yield Ops.add(a, Ops.mul(s, constant(g, 0.25, main)));
                }
            };
            if (!v.shape().equals(shape)) {
                v = Ops.add(v, Ops.mul(full, constant(g, 0, main)));
            }
            pool.add(v);
            if (r.nextInt(5) == 0) {
                outputs.add(v);
            }
            last = v;
        }
        outputs.add(last);
        Map<Value, Tensor> feeds = new LinkedHashMap<>();
        for (Value in : inputs) {
            double[] d = new double[(int) in.shape().numel()];
            for (int i = 0; i < d.length; i++) {
                d[i] = switch (r.nextInt(16)) {
                    case 0 -> 0.0;
                    case 1 -> -0.0;
                    case 2 -> 1.0;
                    case 3 -> -2.5;
                    default -> r.nextGaussian() * 1.5;
                };
            }
            feeds.put(in, Tensor.of(d, in.dtype(), in.shape().dims()));
        }
        return new RandomElementwiseGraphs(g, List.copyOf(inputs), outputs.stream().distinct().toList(), feeds);
    }

    /** A random non-empty, ascending set of the axes of a rank-{@code rank} value. */
    private static int[] axes(int rank, SplittableRandom r) {
        List<Integer> chosen = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            if (r.nextInt(3) == 0) {
                chosen.add(i);
            }
        }
        if (chosen.isEmpty()) {
            chosen.add(r.nextInt(rank));
        }
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** {@code shape} with a random leading part dropped and random axes set to 1. */
    private static Shape broadcastable(Shape shape, SplittableRandom r) {
        int[] dims = shape.dims();
        int drop = r.nextInt(dims.length + 1) == 0 ? r.nextInt(dims.length) : 0;
        int[] out = new int[dims.length - drop];
        for (int i = 0; i < out.length; i++) {
            out[i] = r.nextInt(3) == 0 ? 1 : dims[i + drop];
        }
        return Shape.of(out);
    }

    private static Value constant(Graph g, double v, DType t) {
        return Ops.constant(g, v, t);
    }
}
