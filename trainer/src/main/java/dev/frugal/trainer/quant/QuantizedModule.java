package dev.frugal.trainer.quant;

import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.models.Variable;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model whose forward pass is int8 fake-quantized: the fake-quantization pass as a module
 * wrapper (PyTorch's {@code prepare_qat} swaps modules the same way), so that every caller that
 * traces a module (the training step, the evaluator, the memory planner, a distillation student)
 * gets the quantized graph without knowing about it.
 *
 * <p>The wrapper holds the wrapped model's children under their own names, so every variable
 * keeps its full name (a float32 checkpoint's weights load as they are), plus one child,
 * {@code quant}, holding a {@link RangeObserver} per quantized contraction
 * ({@code quant.<key>.min}, {@code quant.<key>.max}). Its {@link #forward} is a graph-to-graph
 * pass: it traces the wrapped model into a scratch graph, then copies every node into the
 * caller's graph ({@link Graph#addDerived}, keeping scopes and call sites), replacing the operands
 * of each CONV2D and MATMUL the {@link QuantizationSpec} selects by their fake-quantized values
 * ({@link FakeQuant}): the weight per output channel, symmetric, computed from the weight every
 * step; the activation per tensor, asymmetric, from its observer. What the observers do depends on the mode:
 * <ul>
 *   <li>training: the moving-average observer update is assigned by the step itself, the batch is
 *       quantized with the updated range, and gradients pass straight through;</li>
 *   <li>evaluation: the observers are only read;</li>
 *   <li>calibration ({@link #calibrating}, in eval mode): the observers take the running minimum
 *       and maximum and nothing is quantized, as PyTorch calibrates with fake quantization off.</li>
 * </ul>
 */
public final class QuantizedModule extends Module {
    /** The child holding the observers. */
    public static final String OBSERVERS = "quant";
    /** The batch of the trace that finds the quantized contractions (any size works: the structure does not depend on it). */
    private static final int DISCOVERY_BATCH = 2;

    private final Module inner;
    private final QuantizationSpec spec;
    private final List<QuantizedContraction> contractions;
    private final Map<String, RangeObserver> observers = new LinkedHashMap<>();
    private boolean calibrating;

    private QuantizedModule(Module inner, Shape sampleShape, QuantizationSpec spec) {
        this.inner = inner;
        this.spec = spec;
        if (!inner.localVariables().isEmpty()) {
            throw new IllegalArgumentException("quantize: " + inner.getClass().getSimpleName() + " holds variables of its own at its root "
                    + inner.localVariables().keySet() + "; fake quantization wraps models whose variables all live in child modules");
        }
        for (Map.Entry<String, Module> child : inner.children().entrySet()) {
            if (child.getKey().equals(OBSERVERS)) {
                throw new IllegalArgumentException("quantize: " + inner.getClass().getSimpleName() + " has a child named '" + OBSERVERS
                        + "', the name the observers take");
            }
            addModule(child.getKey(), child.getValue());
        }
        this.contractions = List.copyOf(discover(sampleShape).values());
        if (contractions.isEmpty()) {
            throw new IllegalArgumentException("quantize: " + inner.getClass().getSimpleName() + " has no " + opNames()
                    + " with a parameter weight, so there is nothing to quantize");
        }
        Holder holder = addModule(OBSERVERS, new Holder());
        for (QuantizedContraction c : contractions) {
            observers.put(c.key(), holder.add(c.key()));
        }
    }

    /**
     * Wraps {@code model}. When the model is initialised the observers are too (nothing seen yet);
     * otherwise {@link #initialize(long)} the wrapper, which gives the model's variables the values
     * the model's own initialisation would (same full names, same seeds).
     *
     * @param model a model whose root holds no variables of its own (every zoo image classifier)
     * @param sampleShape one input sample's shape, to find the contractions with a trace
     * @param spec what to quantize
     * @throws IllegalArgumentException naming the op and option when a selected contraction cannot be quantized
     */
    public static QuantizedModule wrap(Module model, Shape sampleShape, QuantizationSpec spec) {
        Objects.requireNonNull(spec, "spec");
        QuantizedModule q = new QuantizedModule(model, sampleShape, spec);
        q.train(model.isTraining());
        if (model.isInitialized()) {
            q.children().get(OBSERVERS).initialize(0); // constants (+inf, -inf): the seed does not matter
        }
        return q;
    }

    /** The wrapped model (its root; its children are this module's). */
    public Module inner() {
        return inner;
    }

    /** What is quantized. */
    public QuantizationSpec spec() {
        return spec;
    }

    /** The quantized contractions, in trace order. */
    public List<QuantizedContraction> contractions() {
        return contractions;
    }

    /** The observer of one contraction's activation, by {@link QuantizedContraction#key()}. */
    public RangeObserver observer(String key) {
        RangeObserver o = observers.get(key);
        if (o == null) {
            throw new IllegalArgumentException("quantize: no observer '" + key + "'; the observers are " + observers.keySet());
        }
        return o;
    }

    /** Sets calibration: in eval mode the observers then record the running min/max and nothing is quantized. Returns this. */
    public QuantizedModule calibrating(boolean on) {
        this.calibrating = on;
        return this;
    }

    @Override
    public DType inputDType() {
        return inner.inputDType();
    }

    /** The wrapped model's forward pass, unquantized, over this module's trace (what ONNX QDQ export decorates). */
    public Value forwardUnquantized(ModuleTrace trace, Value input) {
        inner.train(isTraining());
        return inner.forward(trace, input);
    }

    @Override
    public Value forward(ModuleTrace trace, Value input) {
        inner.train(isTraining());
        Graph target = input.graph();
        Graph scratch = new Graph(target.name() + "-unquantized");
        ModuleTrace scratchTrace = ModuleTrace.of(scratch, inner);
        Value scratchInput = scratch.input("input", input.shape(), input.dtype());
        // traced inside the caller's scope, so the copies keep it (inside stop_gradient they stay stopped)
        String scope = target.scope();
        Value scratchOutput = scope.isEmpty() ? scratchTrace.forward(scratchInput) : scratch.inScope(scope, () -> scratchTrace.forward(scratchInput));

        Map<Node, QuantizedContraction> found = QuantizedContraction.find(scratch.nodes(), spec);
        if (!QuantizedContraction.keys(found).equals(contractions.stream().map(QuantizedContraction::key).toList())) {
            throw new IllegalStateException("quantize: the model traced the contractions " + QuantizedContraction.keys(found)
                    + " but was wrapped with " + contractions.stream().map(QuantizedContraction::key).toList());
        }
        Map<Value, Value> map = new IdentityHashMap<>();
        map.put(scratchInput, input);
        for (Variable v : scratchTrace.variables().values()) {
            map.put(scratchTrace.value(v), trace.value(v));
        }
        for (Node n : scratch.nodes()) {
            if (n.op() == Op.INPUT) {
                continue;
            }
            List<Value> inputs = new ArrayList<>(n.inputs().size());
            for (Value in : n.inputs()) {
                inputs.add(map.get(in));
            }
            QuantizedContraction c = found.get(n);
            if (c != null) {
                quantizeOperands(trace, c, inputs);
            }
            if (n.op() == Op.ASSIGN) {
                target.addDerived(n, inputs, n.input(1).shape(), n.input(1).dtype());
            } else {
                map.put(n.output(), target.addDerived(n, inputs, n.output().shape(), n.output().dtype()));
            }
        }
        return map.get(scratchOutput);
    }

    /** Replaces {@code inputs[0]} (the activation) and {@code inputs[1]} (the weight) as the mode says. */
    private void quantizeOperands(ModuleTrace trace, QuantizedContraction c, List<Value> inputs) {
        RangeObserver observer = observers.get(c.key());
        Value x = inputs.get(0);
        Value w = inputs.get(1);
        Graph g = x.graph();
        if (calibrating && !isTraining()) {
            g.inScope(FakeQuant.SCOPE, () -> {
                observer.observeMinMax(trace, x);
                return null;
            });
            return;
        }
        boolean training = isTraining();
        Value[] range = g.inScope(FakeQuant.SCOPE, () -> training ? observer.observeMovingAverage(trace, x, spec.momentum()) : observer.read(trace));
        FakeQuant.Params activation = g.inScope(FakeQuant.SCOPE, () -> FakeQuant.activationParams(range[0], range[1]));
        FakeQuant.Params weight = g.inScope(FakeQuant.SCOPE, () -> FakeQuant.weightParams(w, c.channelAxis()));
        inputs.set(0, FakeQuant.fakeQuantize(x, activation, FakeQuant.ACTIVATION_QMIN, FakeQuant.ACTIVATION_QMAX, training));
        inputs.set(1, FakeQuant.fakeQuantize(w, weight, FakeQuant.WEIGHT_QMIN, FakeQuant.WEIGHT_QMAX, training));
    }

    private String opNames() {
        return String.join(" or ", spec.ops().stream().map(Op::printName).sorted().toList());
    }

    /** The {@code quant} child: one {@link RangeObserver} per quantized contraction. */
    private static final class Holder extends Module {
        RangeObserver add(String key) {
            return addModule(key, new RangeObserver());
        }

        @Override
        public Value forward(ModuleTrace trace, Value input) {
            throw new UnsupportedOperationException("the observers are updated by QuantizedModule's pass, not called as a layer");
        }
    }

    /** Finds the contractions with a trace of the wrapped model in eval mode. */
    private Map<Node, QuantizedContraction> discover(Shape sampleShape) {
        int[] dims = new int[sampleShape.rank() + 1];
        dims[0] = DISCOVERY_BATCH;
        System.arraycopy(sampleShape.dims(), 0, dims, 1, sampleShape.rank());
        boolean wasTraining = inner.isTraining();
        inner.eval();
        try {
            Graph g = new Graph("quantize-discovery");
            ModuleTrace t = ModuleTrace.of(g, inner);
            t.forward(g.input("input", Shape.of(dims), inner.inputDType()));
            return QuantizedContraction.find(g.nodes(), spec);
        } finally {
            inner.train(wasTraining);
        }
    }
}
