package dev.frugal.runtime.graph;

/**
 * Finds the user's line that traced an operation: the first stack frame outside the runtime's
 * own tracing code, so an error or a printed graph points at the model code, not at {@link Ops}.
 */
public final class CallSite {
    private static final StackWalker WALKER = StackWalker.getInstance();
    private static final String GRAPH_PACKAGE = CallSite.class.getPackageName() + ".";
    private static final String RUNTIME_PACKAGE = "dev.frugal.runtime.";

    private CallSite() {
    }

    /** {@code Class.method(File.java:line)} of the nearest caller outside the tracing API, or "?" if none. */
    public static String capture() {
        return WALKER.walk(frames -> frames
                .filter(f -> !isTracingFrame(f.getClassName()))
                .findFirst()
                .map(f -> simpleName(f.getClassName()) + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")")
                .orElse("?"));
    }

    private static boolean isTracingFrame(String className) {
        // Test classes live in the same packages; they are user code from the tracer's point of view.
        if (className.endsWith("Test") || className.contains("Test$")) {
            return false;
        }
        return className.startsWith(GRAPH_PACKAGE) || className.startsWith(RUNTIME_PACKAGE + "autodiff.")
                || className.equals(RUNTIME_PACKAGE + "Tensor");
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }
}
