package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A function that is traced and compiled once per input signature and replayed afterwards, as
 * {@code jax.jit} does. The signature is the name, shape and dtype of every feed; a call with a
 * signature seen before replays the cached {@link Program} without tracing.
 *
 * <p>On a new signature the {@link Tracer} gets a fresh {@link Graph} holding one data input per
 * feed (named as the feed, in name order) and returns the output values; it may also create
 * parameter and state inputs, which are bound by name from the tensors given to {@link #bind}.
 *
 * <p>Not thread-safe. {@link #close()} closes every cached program.
 */
public final class StagedFunction implements AutoCloseable {
    /** Traces the function for one signature. */
    @FunctionalInterface
    public interface Tracer {
        /**
         * Records the function into {@code graph}.
         *
         * @param inputs the graph's data inputs by feed name; their shapes and dtypes are the signature
         * @return the values a call returns, in order
         */
        List<Value> trace(Graph graph, Map<String, Value> inputs);
    }

    /** The shape and dtype of one feed. */
    private record Spec(Shape shape, DType dtype) {
    }

    private final Executor executor;
    private final String name;
    private final Tracer tracer;
    private final Map<Map<String, Spec>, Program> programs = new HashMap<>();
    private final Map<String, Tensor> bindings = new LinkedHashMap<>();
    private int traceCount;
    private boolean closed;

    StagedFunction(Executor executor, String name, Tracer tracer) {
        this.executor = executor;
        this.name = name;
        this.tracer = tracer;
    }

    /**
     * Binds the parameter or state input called {@code inputName} in every program of this
     * function, present and future (see {@link Program#bind}).
     */
    public void bind(String inputName, Tensor tensor) {
        checkOpen();
        bindings.put(inputName, tensor);
        for (Program p : programs.values()) {
            Value in = p.graph().inputNamed(inputName);
            if (in != null && !in.isInput(InputKind.DATA)) {
                p.bind(in, tensor);
            }
        }
    }

    /**
     * Runs the function on {@code feeds} (by input name), tracing and compiling it first if this
     * signature is new.
     *
     * @return the outputs, owned by the cached program: valid until the next call with the same
     *     signature or {@link #close()}
     */
    public List<Tensor> call(Map<String, Tensor> feeds) {
        checkOpen();
        Map<String, Spec> signature = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
            Tensor t = e.getValue();
            if (t.isClosed()) {
                throw new IllegalArgumentException(name + ": the tensor fed for input '" + e.getKey() + "' is closed");
            }
            signature.put(e.getKey(), new Spec(t.shape(), t.dtype()));
        }
        Program program = programs.get(signature);
        if (program == null) {
            program = traceAndCompile(signature);
            programs.put(signature, program);
        }
        Map<Value, Tensor> byValue = new HashMap<>();
        for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
            byValue.put(program.graph().inputNamed(e.getKey()), e.getValue());
        }
        return program.run(byValue);
    }

    private Program traceAndCompile(Map<String, Spec> signature) {
        traceCount++;
        Graph graph = new Graph(name);
        Map<String, Value> inputs = new LinkedHashMap<>();
        for (Map.Entry<String, Spec> e : signature.entrySet()) {
            inputs.put(e.getKey(), graph.input(e.getKey(), e.getValue().shape(), e.getValue().dtype()));
        }
        List<Value> outputs = new ArrayList<>(tracer.trace(graph, Map.copyOf(inputs)));
        Program program = executor.compile(graph, outputs);
        try {
            for (Map.Entry<String, Tensor> b : bindings.entrySet()) {
                Value in = graph.inputNamed(b.getKey());
                if (in != null && !in.isInput(InputKind.DATA)) {
                    program.bind(in, b.getValue());
                }
            }
        } catch (RuntimeException e) {
            program.close();
            throw e;
        }
        return program;
    }

    /** How many times the function was traced (once per distinct signature). */
    public int traceCount() {
        return traceCount;
    }

    /** Number of cached programs. */
    public int cachedPrograms() {
        return programs.size();
    }

    /** The function's name (also its graphs' name). */
    public String name() {
        return name;
    }

    /** Closes every cached program; bound tensors stay the caller's. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Program p : programs.values()) {
                p.close();
            }
            programs.clear();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("staged function '" + name + "' is closed");
        }
    }
}
