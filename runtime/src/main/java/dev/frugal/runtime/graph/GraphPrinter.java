package dev.frugal.runtime.graph;

import java.util.stream.Collectors;

/**
 * Prints graphs in a jaxpr-like listing:
 * <pre>
 * graph mlp {
 *   x = input data : f32[32,784]
 *   w1 = input parameter : f32[784,256]
 *   %2 = matmul(x, w1) : f32[32,256]                      # Mlp.forward(Mlp.java:42)
 *   %3 = relu(%2) : f32[32,256]                           # Mlp.forward(Mlp.java:43)
 *   assign(w1, %9)
 * }
 * </pre>
 */
final class GraphPrinter {
    private static final int CALL_SITE_COLUMN = 64;

    private GraphPrinter() {
    }

    static String print(Graph graph) {
        StringBuilder sb = new StringBuilder("graph ").append(graph.name()).append(" {\n");
        for (Node n : graph.nodes()) {
            sb.append("  ").append(formatNode(n)).append('\n');
        }
        return sb.append("}").toString();
    }

    static String ref(Value v) {
        Node n = v.node();
        if (n.op() == Op.INPUT) {
            return n.attrs(OpAttrs.Input.class).name();
        }
        return "%" + n.id();
    }

    static String formatNode(Node n) {
        StringBuilder line = new StringBuilder();
        if (n.op() == Op.INPUT) {
            OpAttrs.Input in = n.attrs(OpAttrs.Input.class);
            line.append(in.name()).append(" = input ").append(in.kind().name().toLowerCase(java.util.Locale.ROOT))
                    .append(" : ").append(n.output().dtype()).append(n.output().shape());
            return line.toString();
        }
        if (n.output() != null) {
            line.append(ref(n.output())).append(" = ");
        }
        line.append(n.op().printName()).append('(')
                .append(n.inputs().stream().map(GraphPrinter::ref).collect(Collectors.joining(", ")));
        String attrs = n.attrs().toString();
        if (!attrs.isEmpty()) {
            line.append(n.inputs().isEmpty() ? "" : "; ").append(attrs);
        }
        line.append(')');
        if (n.output() != null) {
            line.append(" : ").append(n.output().dtype()).append(n.output().shape());
        }
        StringBuilder comment = new StringBuilder();
        if (!n.scope().isEmpty()) {
            comment.append('[').append(n.scope()).append("] ");
        }
        comment.append(n.callSite());
        while (line.length() < CALL_SITE_COLUMN) {
            line.append(' ');
        }
        return line.append("  # ").append(comment).toString();
    }
}
