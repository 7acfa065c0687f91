package dev.frugal.trainer.quant;

import dev.frugal.runtime.graph.Op;
import dev.frugal.trainer.config.KeyValueSpec;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What {@code --quantize} asks for: {@code int8[:ops=conv2d+matmul,momentum=0.01]}.
 *
 * <p>Int8 is the only scheme: weights per output channel, symmetric, in [-127, 127] (zero point
 * 0); activations (the other operand of each quantized contraction) per tensor, asymmetric, in
 * uint8 [0, 255] with a scale and zero point from their observed range. {@code ops} chooses the
 * contractions quantized ({@code conv2d}, {@code matmul} or both, joined by {@code +});
 * {@code momentum} is the averaging constant of the moving-average range observers during
 * quantization-aware training (PyTorch's MovingAverageMinMaxObserver default, 0.01).
 *
 * @param ops the contractions whose operands are fake-quantized (CONV2D and/or MATMUL)
 * @param momentum the observers' averaging constant, in (0, 1]
 */
public record QuantizationSpec(Set<Op> ops, double momentum) {
    /** The one scheme. */
    public static final String INT8 = "int8";
    /** The ops quantization covers, by the names {@code ops=} takes. */
    public static final List<Op> QUANTIZABLE = List.of(Op.CONV2D, Op.MATMUL);
    /** PyTorch's MovingAverageMinMaxObserver averaging constant. */
    public static final double DEFAULT_MOMENTUM = 0.01;
    private static final String USAGE = "expected int8[:ops=conv2d+matmul,momentum=0.01]";

    public QuantizationSpec {
        if (ops == null || ops.isEmpty()) {
            throw new IllegalArgumentException("quantize: ops must name at least one of conv2d, matmul");
        }
        for (Op op : ops) {
            if (!QUANTIZABLE.contains(op)) {
                throw new IllegalArgumentException("quantize: op " + op.printName() + " cannot be quantized; supported: conv2d, matmul");
            }
        }
        if (!(momentum > 0 && momentum <= 1)) {
            throw new IllegalArgumentException("quantize: momentum must be in (0, 1] (the observers' averaging constant), got " + momentum);
        }
        ops = Set.copyOf(ops);
    }

    /** int8 over convolutions and matmuls with the default momentum. */
    public static QuantizationSpec int8() {
        return new QuantizationSpec(EnumSet.of(Op.CONV2D, Op.MATMUL), DEFAULT_MOMENTUM);
    }

    /**
     * Parses {@code int8[:ops=...,momentum=...]}.
     *
     * @throws IllegalArgumentException naming the scheme, key or op that is wrong and the valid form
     */
    public static QuantizationSpec parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("quantize: empty; " + USAGE);
        }
        String[] parts = KeyValueSpec.nameAndOptions(text);
        if (!parts[0].equals(INT8)) {
            throw new IllegalArgumentException("quantize: unknown scheme '" + parts[0] + "'; " + USAGE);
        }
        KeyValueSpec kv = KeyValueSpec.parse("quantize " + INT8, parts[1], Set.of("ops", "momentum"), USAGE);
        Set<Op> ops = EnumSet.noneOf(Op.class);
        if (kv.has("ops")) {
            for (String name : kv.text("ops").split("\\+", -1)) {
                String n = name.strip().toLowerCase(Locale.ROOT);
                Op op = QUANTIZABLE.stream().filter(o -> o.printName().equals(n)).findFirst().orElseThrow(() ->
                        new IllegalArgumentException("quantize: ops: '" + name.strip() + "' is not supported; quantization covers conv2d and matmul"
                                + " (their weight operands per channel, their inputs per tensor), e.g. ops=conv2d+matmul"));
                ops.add(op);
            }
        } else {
            ops.addAll(QUANTIZABLE);
        }
        return new QuantizationSpec(ops, kv.number("momentum", DEFAULT_MOMENTUM));
    }

    /** The canonical text, which {@link #parse} reads back: what config.json and summary.json record. */
    @Override
    public String toString() {
        String opNames = QUANTIZABLE.stream().filter(ops::contains).map(Op::printName).collect(Collectors.joining("+"));
        return INT8 + ":ops=" + opNames + ",momentum=" + momentum;
    }
}
