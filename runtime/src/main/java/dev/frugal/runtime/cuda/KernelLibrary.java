package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The op library: one generated kernel per elementwise op and type on a broadcasting shape (and
 * the integer comparisons and casts a step has), the
 * sums, maxima and minima over typical axes, the copies, fills, gathers and scatter-adds of every
 * dtype, pooling and its gradients, argmax, fused attention and its gradient, and the Philox
 * random-uniform kernel. A compile check ({@code frugal kernels --check}) covers it besides the
 * kernels of real programs.
 */
public final class KernelLibrary {
    private static final List<DType> FLOATS = List.of(DType.F32, DType.F16, DType.BF16);

    private KernelLibrary() {
    }

    /**
     * Every unary, binary, comparison and select op over F32, F16 and BF16, NOT over BOOL, every
     * cast among the four types, reductions, data movement and indexing, pooling, argmax, attention
     * and RANDOM_UNIFORM; distinct by name.
     */
    public static List<GeneratedKernel> all() {
        List<GeneratedKernel> kernels = new ArrayList<>();
        for (DType t : FLOATS) {
            Graph g = new Graph("library-" + t);
            // [4, 64] against [64]: the second operand broadcast, so the index arithmetic is generated too
            Value a = g.input("a", Shape.of(4, 64), t);
            Value b = g.input("b", Shape.of(64), t);
            Value m = g.input("m", Shape.of(4, 64), DType.BOOL);
            for (Op op : Op.values()) {
                Value wide = Ops.expand(b, a.shape());
                Value v = switch (op) {
                    case NEG -> Ops.neg(a);
                    case EXP -> Ops.exp(a);
                    case LOG -> Ops.log(a);
                    case SQRT -> Ops.sqrt(a);
                    case RSQRT -> Ops.rsqrt(a);
                    case RECIPROCAL -> Ops.reciprocal(a);
                    case ABS -> Ops.abs(a);
                    case SIGN -> Ops.sign(a);
                    case RELU -> Ops.relu(a);
                    case SIGMOID -> Ops.sigmoid(a);
                    case TANH -> Ops.tanh(a);
                    case ERF -> Ops.erf(a);
                    case ROUND -> Ops.round(a);
                    case ADD -> Ops.add(a, wide);
                    case SUB -> Ops.sub(a, wide);
                    case MUL -> Ops.mul(a, wide);
                    case DIV -> Ops.div(a, wide);
                    case POW -> Ops.pow(a, wide);
                    case MAXIMUM -> Ops.maximum(a, wide);
                    case MINIMUM -> Ops.minimum(a, wide);
                    case LT -> Ops.lt(a, wide);
                    case LE -> Ops.le(a, wide);
                    case GT -> Ops.gt(a, wide);
                    case GE -> Ops.ge(a, wide);
                    case EQ -> Ops.eq(a, wide);
                    case NE -> Ops.ne(a, wide);
                    case WHERE -> Ops.where(m, a, wide);
                    default -> null; // NOT and CAST below; the rest are not elementwise
                };
                Node n = v == null ? null : v.node();
                if (n != null) {
                    kernels.add(ElementwiseCodegen.generate(n));
                }
            }
            for (DType to : List.of(DType.F32, DType.F16, DType.BF16, DType.BOOL)) {
                if (to != t) {
                    kernels.add(ElementwiseCodegen.generate(Ops.cast(a, to).node()));
                    kernels.add(ElementwiseCodegen.generate(Ops.cast(Ops.cast(m, t), to).node()));
                }
            }
            kernels.add(ElementwiseCodegen.generate(Ops.not(m).node()));
        }
        for (DType t : FLOATS) {
            // reductions: a row, a channel statistic of an NCHW batch, a full sum; half inputs also into float32
            Graph g = new Graph("library-reduce-" + t);
            Value x = g.input("x", Shape.of(8, 4, 5, 5), t);
            for (Op op : List.of(Op.REDUCE_SUM, Op.REDUCE_MAX, Op.REDUCE_MIN)) {
                for (int[] axes : new int[][] {{3}, {0, 2, 3}, {}}) {
                    Value r = switch (op) {
                        case REDUCE_SUM -> Ops.sum(x, false, axes);
                        case REDUCE_MAX -> Ops.max(x, false, axes);
                        default -> Ops.min(x, false, axes);
                    };
                    kernels.add(ReductionCodegen.generate(r.node()));
                    if (t != DType.F32) {
                        kernels.add(ReductionCodegen.generate(g.add(op, List.of(x), r.node().attrs(), r.shape(), DType.F32).node()));
                    }
                }
            }
        }
        for (DType t : List.of(DType.F32, DType.F16, DType.BF16, DType.I64, DType.I32, DType.BOOL)) {
            // data movement and indexing: every dtype is copied as itself
            Graph g = new Graph("library-move-" + t);
            Value x = g.input("x", Shape.of(4, 6, 8), t);
            Value y = g.input("y", Shape.of(4, 2, 8), t);
            kernels.add(MovementCodegen.generate(Ops.permute(x, 0, 2, 1).node()));
            kernels.add(MovementCodegen.generate(Ops.slice(x, new int[] {0, 1, 0}, new int[] {4, 5, 8}, new int[] {1, 2, 1}).node()));
            kernels.add(MovementCodegen.generate(Ops.pad(x, new int[] {0, 1, 1}, new int[] {0, 1, 1}).node()));
            kernels.add(MovementCodegen.generate(Ops.concat(1, x, y).node()));
            kernels.add(MovementCodegen.generate(Ops.expand(g.input("b", Shape.of(6, 1), t), Shape.of(4, 6, 8)).node()));
            kernels.add(MovementCodegen.generate(g.add(Op.CONSTANT, List.of(), new OpAttrs.Constant(1), Shape.of(4, 6), t).node()));
            if (t != DType.BOOL) {
                kernels.add(MovementCodegen.generate(Ops.iota(g, Shape.of(4, 6), 1, t).node()));
            }
            if (FLOATS.contains(t)) {
                // an embedding lookup and its gradient
                Value table = g.input("table", Shape.of(50, 8), t);
                Value ids = g.input("ids", Shape.of(4, 6), DType.I32);
                kernels.add(MovementCodegen.generate(Ops.gather(table, ids, 0).node()));
                kernels.add(MovementCodegen.generate(Ops.scatterAdd(g.input("dy", Shape.of(4, 6, 8), t), ids, 0, Shape.of(50, 8)).node()));
            }
        }
        for (DType t : FLOATS) {
            // pooling as the zoo uses it (2x2 stride 2) and a padded 3x3 stride 2, forward and backward
            Graph g = new Graph("library-pool-" + t);
            Value x = g.input("x", Shape.of(8, 16, 14, 14), t);
            List<OpAttrs.Pool2d> pools = List.of(new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, true), new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false));
            for (int k = 0; k < pools.size(); k++) {
                OpAttrs.Pool2d p = pools.get(k);
                Value y = Ops.maxPool2d(x, p);
                Value dy = g.input("dy" + k, y.shape(), t);
                kernels.add(PoolingCodegen.generate(y.node()));
                kernels.add(PoolingCodegen.generate(Ops.maxPool2dGrad(x, dy, p).node()));
                kernels.add(PoolingCodegen.generate(Ops.avgPool2d(x, p).node()));
                kernels.add(PoolingCodegen.generate(Ops.avgPool2dGrad(dy, p, x.shape()).node()));
            }
        }
        for (DType t : FLOATS) {
            Graph g = new Graph("library-argmax-" + t);
            kernels.add(ArgmaxCodegen.generate(Ops.argmax(g.input("logits", Shape.of(128, 10), t), 1, false).node()));
        }
        for (DType t : FLOATS) {
            // tiny-gpt's attention: causal, head size 64
            Graph g = new Graph("library-attention-" + t);
            Shape s = Shape.of(2, 6, 256, 64);
            Value q = g.input("q", s, t);
            Value k = g.input("k", s, t);
            Value v = g.input("v", s, t);
            Value out = Ops.attention(q, k, v, true, 0.125);
            kernels.add(AttentionCodegen.generate(out.node()));
            kernels.add(AttentionCodegen.generate(Ops.attentionGrad(q, k, v, out, g.input("dOut", s, t), new OpAttrs.Attention(true, 0.125)).node()));
        }
        for (DType t : List.of(DType.I32, DType.I64)) {
            // one-hot targets: labels against an iota, and integer casts
            Graph g = new Graph("library-int-" + t);
            Value labels = g.input("labels", Shape.of(128, 1), t);
            kernels.add(WideElementwiseCodegen.generate(Ops.eq(labels, Ops.iota(g, Shape.of(10), 0, t)).node()));
            for (DType to : List.of(DType.F32, DType.F16, DType.BF16, DType.BOOL)) {
                kernels.add(WideElementwiseCodegen.generate(Ops.cast(labels, to).node()));
            }
        }
        Graph g = new Graph("library-random");
        // the shared RNG: dropout masks and random inputs draw from it
        kernels.add(RandomUniformCodegen.generate(Ops.randomUniform(g.input("offset", Shape.scalar(), DType.I64), Shape.of(4, 64), 1, 0).node()));
        Set<String> seen = new HashSet<>();
        return kernels.stream().filter(k -> seen.add(k.name())).toList();
    }
}
