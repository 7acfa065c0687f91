package dev.frugal.models;

import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The link between a module tree and one graph: every variable of the tree declared as a graph
 * input (parameters as {@link Graph#parameter}, buffers as {@link Graph#state}) under its full
 * name, in the tree's stable order. Modules look up their inputs with {@link #value(Variable)}
 * while tracing, the caller differentiates with respect to {@link #parameterValues()}, and
 * {@link #bind(Program)} attaches the module's tensors to the compiled program.
 *
 * <pre>{@code
 * Graph g = new Graph("step");
 * ModuleTrace trace = ModuleTrace.of(g, model);
 * Value x = g.input("x", Shape.of(32, 1, 28, 28), DType.F32);
 * Value loss = Functional.crossEntropy(trace.forward(x), labels);
 * List<Value> grads = Autodiff.grad(loss, trace.parameterValues());
 * try (Program p = Executor.cpu().compile(g, ...)) { trace.bind(p); p.run(feeds); }
 * }</pre>
 */
public final class ModuleTrace {
    private final Graph graph;
    private final Module root;
    private final Map<Variable, Value> values = new IdentityHashMap<>();
    private final Map<String, Variable> variables;
    private final boolean frozen;

    private ModuleTrace(Graph graph, Module root, String prefix, boolean frozen) {
        this.graph = graph;
        this.root = root;
        this.frozen = frozen;
        this.variables = root.namedVariables();
        for (Map.Entry<String, Variable> e : variables.entrySet()) {
            Variable v = e.getValue();
            if (values.containsKey(v)) {
                throw new IllegalArgumentException("variable '" + e.getKey() + "' appears twice in the module tree (a module added under two names)");
            }
            String name = prefix + e.getKey();
            Value in = v.kind() == Variable.Kind.PARAMETER && !frozen
                    ? graph.parameter(name, v.shape(), v.dtype())
                    : graph.state(name, v.shape(), v.dtype());
            values.put(v, in);
        }
    }

    /**
     * Declares every variable of {@code root}'s tree as an input of {@code graph}, named by its full name.
     *
     * @param graph the graph to trace into; it must not already have inputs with those names
     * @param root  the module tree
     * @return the trace, to pass to {@link Module#forward}
     */
    public static ModuleTrace of(Graph graph, Module root) {
        return new ModuleTrace(graph, root, "", false);
    }

    /**
     * Declares every variable of {@code root}'s tree, parameters included, as a state input of
     * {@code graph} named {@code prefix} + its full name: a module the graph reads but does not
     * train (a distillation teacher), traced next to another module whose names it shares. Such a
     * trace has no {@link #parameterValues()}, so nothing differentiates with respect to it.
     *
     * @param graph the graph to trace into
     * @param root the module tree
     * @param prefix what the input names start with, e.g. {@code "teacher."}
     * @return the trace
     */
    public static ModuleTrace frozen(Graph graph, Module root, String prefix) {
        return new ModuleTrace(graph, root, prefix, true);
    }

    /** The graph being traced into. */
    public Graph graph() {
        return graph;
    }

    /** The root module. */
    public Module root() {
        return root;
    }

    /** {@code root().forward(this, input)}. */
    public Value forward(Value input) {
        return root.forward(this, input);
    }

    /**
     * The graph input of a variable of the tree.
     *
     * @throws IllegalArgumentException when the variable does not belong to the traced tree
     */
    public Value value(Variable variable) {
        Value v = values.get(variable);
        if (v == null) {
            throw new IllegalArgumentException("variable '" + variable.localName() + "' is not part of the module tree traced into graph '"
                    + graph.name() + "'");
        }
        return v;
    }

    /** Every variable by full name, in the tree's stable order. */
    public Map<String, Variable> variables() {
        return variables;
    }

    /** The graph inputs of the trainable parameters, in the tree's stable order (for {@code Autodiff.grad}); none for a {@link #frozen} trace. */
    public List<Value> parameterValues() {
        List<Value> out = new ArrayList<>();
        if (frozen) {
            return List.of();
        }
        for (Variable v : variables.values()) {
            if (v.kind() == Variable.Kind.PARAMETER) {
                out.add(values.get(v));
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** The trainable parameters by full name, in the same order as {@link #parameterValues()}; none for a {@link #frozen} trace. */
    public Map<String, Variable> parameters() {
        Map<String, Variable> out = new LinkedHashMap<>();
        if (frozen) {
            return Map.of();
        }
        variables.forEach((name, v) -> {
            if (v.kind() == Variable.Kind.PARAMETER) {
                out.put(name, v);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /**
     * Binds every variable's current tensor to its input in {@code program} (compiled from this
     * trace's graph). The program reads the tensors in place and its assignments (running
     * statistics, dropout counters) write into them, so the module sees every update.
     *
     * @throws IllegalStateException when a variable has no value (the module was not initialised or was closed)
     */
    public void bind(Program program) {
        if (program.graph() != graph) {
            throw new IllegalArgumentException("bind: the program was compiled from graph '" + program.graph().name()
                    + "', not from this trace's graph '" + graph.name() + "'");
        }
        for (Map.Entry<String, Variable> e : variables.entrySet()) {
            Variable v = e.getValue();
            if (!v.hasValue()) {
                throw new IllegalStateException("bind: variable '" + e.getKey() + "' has no value; call initialize(seed) on the module first");
            }
            program.bind(values.get(v), v.value());
        }
    }
}
