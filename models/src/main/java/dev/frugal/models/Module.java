package dev.frugal.models;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A building block of a model, as PyTorch's {@code nn.Module}: it owns named variables
 * (parameters and buffers), named child modules, and a train/eval flag, and it traces its
 * forward pass into a graph.
 *
 * <p>Life cycle: a subclass declares its variables ({@link #addParameter}, {@link #addBuffer}) and
 * children ({@link #addModule}) in its constructor; only shapes are known then, so parameter
 * counts and FLOPs are available before any memory is allocated. {@link #initialize(long)} on the
 * root allocates every value and fills it from a random stream keyed by the seed and the
 * variable's full name ({@link SeedStreams}), so the same seed gives bit-identical weights and
 * adding a module does not shift the others. {@link #forward} records operations into the graph
 * of a {@link ModuleTrace}, which maps each variable to its graph input and binds the values into
 * a compiled program. {@link #close()} frees every value of the tree.
 *
 * <p>Full names join the path from the module {@code initialize} or {@link ModuleTrace#of} was
 * called on with dots, e.g. {@code features.0.weight}. Variables and children are enumerated in
 * declaration order, a module's own variables before its children's, so the order is stable.
 *
 * <p>A module is not thread-safe.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Variable> variables = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** A module with no variables or children yet, in training mode. */
    protected Module() {
    }

    // ---------------------------------------------------------------- declaration

    /**
     * Declares a trainable F32 parameter of this module.
     *
     * @param name        the local name (no dots; unique among this module's variables and children)
     * @param shape       the parameter's shape
     * @param initializer how {@link #initialize(long)} fills it
     * @return the declared variable, to look up with {@link ModuleTrace#value(Variable)} in {@link #forward}
     */
    protected final Variable addParameter(String name, Shape shape, Initializer initializer) {
        return addVariable(name, Variable.Kind.PARAMETER, shape, DType.F32, initializer);
    }

    /**
     * Declares a non-trainable buffer (state carried between steps) of this module.
     *
     * @param name        the local name (no dots; unique among this module's variables and children)
     * @param shape       the buffer's shape
     * @param dtype       the buffer's element type (e.g. I64 for a counter)
     * @param initializer how {@link #initialize(long)} fills it
     * @return the declared variable
     */
    protected final Variable addBuffer(String name, Shape shape, DType dtype, Initializer initializer) {
        return addVariable(name, Variable.Kind.BUFFER, shape, dtype, initializer);
    }

    /**
     * Declares a child module; its variables are named {@code name.<variable>}.
     *
     * @param name   the local name (no dots; unique among this module's variables and children)
     * @param module the child
     * @param <M>    the child's type
     * @return the child, so a field can be assigned in one line
     */
    protected final <M extends Module> M addModule(String name, M module) {
        checkName(name);
        if (module == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": child module '" + name + "' is null");
        }
        if (module == this) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": a module cannot be its own child ('" + name + "')");
        }
        children.put(name, module);
        return module;
    }

    private Variable addVariable(String name, Variable.Kind kind, Shape shape, DType dtype, Initializer initializer) {
        checkName(name);
        if (shape == null || dtype == null || initializer == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": variable '" + name + "' needs a shape, a dtype and an initializer");
        }
        Variable v = new Variable(name, kind, shape, dtype, initializer);
        variables.put(name, v);
        return v;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": names must be non-empty and contain no '.', got '" + name + "'");
        }
        if (variables.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": the name '" + name + "' is already used by a variable or child");
        }
    }

    // ---------------------------------------------------------------- forward

    /**
     * Traces this module's forward pass on {@code input} into {@code trace}'s graph and returns the
     * output. Uses {@link #isTraining()} to choose between training and evaluation behaviour
     * (batch statistics, dropout); the choice is fixed in the traced graph.
     */
    public abstract Value forward(ModuleTrace trace, Value input);

    // ---------------------------------------------------------------- mode

    /** Sets training ({@code true}) or evaluation mode on this module and every descendant; returns this. */
    public final Module train(boolean on) {
        training = on;
        for (Module child : children.values()) {
            child.train(on);
        }
        return this;
    }

    /** Evaluation mode for this module and every descendant ({@code train(false)}); returns this. */
    public final Module eval() {
        return train(false);
    }

    /** True in training mode (the default). */
    public final boolean isTraining() {
        return training;
    }

    // ---------------------------------------------------------------- enumeration

    /** This module's direct children by local name, in declaration order. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** This module's own variables by local name, in declaration order (children's not included). */
    public final Map<String, Variable> localVariables() {
        return Collections.unmodifiableMap(variables);
    }

    /** Every variable of the tree by full name: own variables first, then each child's, depth first. */
    public final Map<String, Variable> namedVariables() {
        Map<String, Variable> out = new LinkedHashMap<>();
        collect("", out, null);
        return Collections.unmodifiableMap(out);
    }

    /** Every trainable parameter of the tree by full name, in {@link #namedVariables()} order. */
    public final Map<String, Variable> namedParameters() {
        Map<String, Variable> out = new LinkedHashMap<>();
        collect("", out, Variable.Kind.PARAMETER);
        return Collections.unmodifiableMap(out);
    }

    /** Every buffer of the tree by full name, in {@link #namedVariables()} order. */
    public final Map<String, Variable> namedBuffers() {
        Map<String, Variable> out = new LinkedHashMap<>();
        collect("", out, Variable.Kind.BUFFER);
        return Collections.unmodifiableMap(out);
    }

    /** Every module of the tree by full name, this one first under the empty name, depth first. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collect(String prefix, Map<String, Variable> out, Variable.Kind kind) {
        for (Map.Entry<String, Variable> e : variables.entrySet()) {
            if (kind == null || e.getValue().kind() == kind) {
                out.put(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collect(prefix + e.getKey() + ".", out, kind);
        }
    }

    private void collectModules(String name, Map<String, Module> out) {
        out.put(name, this);
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collectModules(name.isEmpty() ? e.getKey() : name + "." + e.getKey(), out);
        }
    }

    /** The number of trainable scalars: the sum of every parameter's element count (buffers excluded). */
    public final long parameterCount() {
        long n = 0;
        for (Variable v : namedParameters().values()) {
            n += v.numel();
        }
        return n;
    }

    /**
     * The dtype {@link #forward} expects its input in: F32 (features, images) unless a subclass
     * says otherwise (a language model takes I32 token ids).
     */
    public DType inputDType() {
        return DType.F32;
    }

    /**
     * Forward multiply-add FLOPs for one sample of shape {@code sampleShape} (no batch axis) in
     * {@link #inputDType()}; see {@link FlopCounter#forwardFlops(Module, Shape, DType)} for what is
     * counted.
     */
    public final long forwardFlops(Shape sampleShape) {
        return FlopCounter.forwardFlops(this, sampleShape, inputDType());
    }

    // ---------------------------------------------------------------- values

    /**
     * Allocates and fills every variable of the tree (freeing previous values), each from
     * {@link SeedStreams#stream(long, String) SeedStreams.stream(seed, fullName)} with full names
     * relative to this module. Also tells each module its seed and name through
     * {@link #onInitialize} (dropout derives its mask seed there). Returns this.
     */
    public final Module initialize(long seed) {
        for (Map.Entry<String, Variable> e : namedVariables().entrySet()) {
            Variable v = e.getValue();
            v.setValue(v.initializer().create(v.shape(), v.dtype(), SeedStreams.stream(seed, e.getKey())));
        }
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            e.getValue().onInitialize(seed, e.getKey());
        }
        return this;
    }

    /**
     * Called by {@link #initialize(long)} for every module of the tree after the values are filled,
     * with the seed and this module's full name; the default does nothing.
     */
    protected void onInitialize(long seed, String fullName) {
    }

    /** True when every variable of the tree has an open value. */
    public final boolean isInitialized() {
        for (Variable v : namedVariables().values()) {
            if (!v.hasValue()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Every variable's current value by full name, in {@link #namedVariables()} order: what a
     * checkpoint saves. The tensors are the module's own (live, not copies); do not close them.
     *
     * @throws IllegalStateException when a variable has no value
     */
    public final Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedVariables().forEach((name, v) -> out.put(name, v.value()));
        return Collections.unmodifiableMap(out);
    }

    /**
     * Copies a saved state (full name to tensor, as {@link #state()} gives) into the tree's
     * variables. Strict: the names must be exactly the tree's, and each tensor must match its
     * variable's shape and dtype; nothing is copied unless everything matches. Values are
     * allocated where the module was not initialised, but seeds are not derived here: to train with
     * dropout after loading, {@link #initialize(long)} with the run's seed first, then load.
     *
     * @throws IllegalArgumentException listing the missing and unexpected names, or naming the
     *     first variable whose shape or dtype differs
     */
    public final void loadState(Map<String, Tensor> state) {
        Map<String, Variable> vars = namedVariables();
        List<String> missing = new ArrayList<>();
        for (String name : vars.keySet()) {
            if (!state.containsKey(name)) {
                missing.add(name);
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : state.keySet()) {
            if (!vars.containsKey(name)) {
                unexpected.add(name);
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new IllegalArgumentException("state does not fit " + getClass().getSimpleName() + ": missing " + missing + ", unexpected " + unexpected);
        }
        for (Map.Entry<String, Variable> e : vars.entrySet()) {
            Tensor t = state.get(e.getKey());
            Variable v = e.getValue();
            if (!t.shape().equals(v.shape()) || t.dtype() != v.dtype()) {
                throw new IllegalArgumentException("state entry '" + e.getKey() + "' is " + t.dtype() + t.shape() + ", the model expects " + v.dtype() + v.shape());
            }
        }
        vars.forEach((name, v) -> v.load(state.get(name)));
    }

    /** Frees every variable value of the tree; {@link #initialize(long)} may allocate them again. */
    @Override
    public void close() {
        for (Variable v : namedVariables().values()) {
            v.freeValue();
        }
    }

    /** A one-line summary: the class, parameter count, and children. */
    @Override
    public String toString() {
        return getClass().getSimpleName() + "(parameters=" + parameterCount() + (children.isEmpty() ? "" : ", children=" + children.keySet()) + ")";
    }
}
