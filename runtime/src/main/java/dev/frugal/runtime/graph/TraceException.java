package dev.frugal.runtime.graph;

/**
 * A shape, dtype or argument error found while tracing an operation. The message names the
 * operation, the offending shapes or values, what was expected, and the user's call site.
 */
public final class TraceException extends IllegalArgumentException {
    private final Op op;
    private final String callSite;

    /** An error for {@code op}, traced at {@code callSite}. */
    public TraceException(Op op, String problem, String callSite) {
        super(op.printName() + ": " + problem + " (at " + callSite + ")");
        this.op = op;
        this.callSite = callSite;
    }

    /** The operation that was being traced. */
    public Op op() {
        return op;
    }

    /** Where the user called it, as {@code Class.method(File.java:line)}. */
    public String callSite() {
        return callSite;
    }
}
