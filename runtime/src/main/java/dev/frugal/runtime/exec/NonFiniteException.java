package dev.frugal.runtime.exec;

import dev.frugal.runtime.graph.Op;

/**
 * A reduction produced a NaN or an infinity. Thrown at the first step that sees the bad value
 * (when the executor's non-finite check is on, the default), so a diverging run fails loudly
 * instead of training on garbage. The message names the operation, the node as printed (with
 * its call site), the first non-finite output index and, where one exists, the first non-finite
 * input index.
 */
public final class NonFiniteException extends ArithmeticException {
    private static final long serialVersionUID = 1L;

    private final Op op;
    private final String node;
    private final long outputIndex;
    private final long inputIndex;

    /**
     * @param op          the reduction
     * @param node        the node's printed line
     * @param outputIndex row-major index of the first non-finite output element
     * @param outputValue that element's value
     * @param inputIndex  row-major index of the first non-finite input element, or -1 if the input was finite (overflow)
     */
    public NonFiniteException(Op op, String node, long outputIndex, double outputValue, long inputIndex) {
        super(op.printName() + " produced " + outputValue + " at output index " + outputIndex
                + (inputIndex >= 0 ? " (first non-finite input element at index " + inputIndex + ")" : " (the input is finite: the reduction overflowed)")
                + " in node: " + node.strip());
        this.op = op;
        this.node = node;
        this.outputIndex = outputIndex;
        this.inputIndex = inputIndex;
    }

    /** The reduction that produced the value. */
    public Op op() {
        return op;
    }

    /** The node's printed line, including its call site. */
    public String node() {
        return node;
    }

    /** Row-major index of the first non-finite output element. */
    public long outputIndex() {
        return outputIndex;
    }

    /** Row-major index of the first non-finite input element, or -1 when the input was finite. */
    public long inputIndex() {
        return inputIndex;
    }
}
