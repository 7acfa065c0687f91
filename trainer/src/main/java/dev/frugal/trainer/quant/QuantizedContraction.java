package dev.frugal.trainer.quant;

import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One contraction whose operands are fake-quantized: a CONV2D or MATMUL whose second operand is a
 * weight (a parameter, or a state input in a frozen trace), quantized per output channel along
 * {@code channelAxis}, and whose first operand, the activation, is quantized per tensor with the
 * range kept by the observer named {@code key}.
 *
 * @param key the observer's name: the weight's full name with dots replaced by underscores
 *            ({@code block1_0_weight}), suffixed {@code _2}, {@code _3} when a weight feeds several contractions
 * @param op CONV2D or MATMUL
 * @param weightName the weight's full name in the model ({@code block1.0.weight})
 * @param channelAxis the weight's output-channel axis: 0 for a convolution ([cOut, cIn/g, kh, kw])
 *                    and for a linear layer's matmul ([out, in], transposed); 1 for an untransposed [in, out] matmul operand
 */
public record QuantizedContraction(String key, Op op, String weightName, int channelAxis) {

    /**
     * The contractions among {@code nodes} (a model's traced forward pass, inputs named by the
     * model's full names) that {@code spec} quantizes, in trace order, each paired with its node.
     *
     * @throws IllegalArgumentException for a selected op that has no parameter weight operand, or
     *     a matmul weight that is not a matrix, naming the op, where it was traced and the option
     */
    static Map<Node, QuantizedContraction> find(List<Node> nodes, QuantizationSpec spec) {
        Map<Node, QuantizedContraction> out = new java.util.LinkedHashMap<>();
        Map<String, Integer> uses = new HashMap<>();
        for (Node n : nodes) {
            if (!spec.ops().contains(n.op())) {
                continue;
            }
            Value w = n.input(1);
            if (w.node().op() != Op.INPUT || w.node().attrs(OpAttrs.Input.class).kind() == InputKind.DATA) {
                throw new IllegalArgumentException("quantize: " + describe(n) + " has no weight operand: its second operand " + w.ref() + " is "
                        + (w.node().op() == Op.INPUT ? "data" : "computed by " + w.node().op().printName())
                        + ", not a parameter; int8 quantization covers convolutions and matmuls with a parameter weight"
                        + " (leave " + n.op().printName() + " out with --quantize int8:ops=" + other(n.op()) + ")");
            }
            int axis;
            if (n.op() == Op.CONV2D) {
                axis = 0;
            } else {
                if (w.rank() != 2) {
                    throw new IllegalArgumentException("quantize: " + describe(n) + " multiplies by a weight of shape " + w.shape()
                            + "; per-channel quantization takes a matrix weight (leave matmul out with --quantize int8:ops=conv2d)");
                }
                axis = n.attrs(OpAttrs.Matmul.class).transB() ? 0 : 1;
            }
            String name = w.node().attrs(OpAttrs.Input.class).name();
            int use = uses.merge(name, 1, Integer::sum);
            String key = name.replace('.', '_') + (use == 1 ? "" : "_" + use);
            out.put(n, new QuantizedContraction(key, n.op(), name, axis));
        }
        return out;
    }

    /** The keys of {@link #find}'s contractions, in order. */
    static List<String> keys(Map<Node, QuantizedContraction> found) {
        List<String> keys = new ArrayList<>();
        found.values().forEach(c -> keys.add(c.key()));
        return keys;
    }

    private static String describe(Node n) {
        return n.op().printName() + " " + n.output().ref() + (n.scope().isEmpty() ? "" : " (in " + n.scope() + ")") + " traced at " + n.callSite();
    }

    private static String other(Op op) {
        return op == Op.CONV2D ? "matmul" : "conv2d";
    }
}
