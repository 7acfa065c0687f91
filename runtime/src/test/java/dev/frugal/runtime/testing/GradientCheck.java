package dev.frugal.runtime.testing;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * Checks the gradient that {@link Autodiff} traces for an operation against central finite
 * differences, in float64, on fresh random inputs.
 *
 * <p>For an operation {@code y = f(x1, ..., xk)} it traces {@code loss = sum(f(...) * R)} with a
 * random {@code R} (so every output element matters), runs the backward graph once, then
 * perturbs every element of every differentiable input by ±h and compares
 * {@code (loss(x+h) - loss(x-h)) / 2h} with the traced gradient:
 * {@code |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)}.
 *
 * <p>Each check runs twice: once with contiguous inputs, and once with every differentiable
 * input made non-contiguous, either as a strided view fed to the program (a permuted or sliced
 * {@link Tensor}) or by a PERMUTE or SLICE node traced in front of the operation (so those
 * gradient rules are exercised too). The seed comes from {@link System#nanoTime()} unless the
 * system property {@value #SEED_PROPERTY} fixes it, and every failure message prints it, so a
 * failure can be replayed exactly.
 *
 * <pre>{@code
 * GradientCheck.of("mul")
 *         .input("a", Shape.of(3, 1, 4))
 *         .input("b", Shape.of(2, 4), Distribution.awayFromZero(0.5, 2))
 *         .check(in -> Ops.mul(in.get(0), in.get(1)));
 * }</pre>
 *
 * <p>Published in the runtime's test-jar so the GPU tests can reuse it with another executor.
 */
public final class GradientCheck {
    /** The system property that fixes the seed (to replay a failure). */
    public static final String SEED_PROPERTY = "frugal.gradcheck.seed";

    /** How a differentiable input reaches the operation in the non-contiguous pass. */
    public enum Layout {
        /** A plain row-major tensor. */
        CONTIGUOUS,
        /** Fed as a permuted view (axes reversed in memory) of a contiguous tensor. */
        PERMUTED_VIEW,
        /** Fed as a view of every other element (offset 1, step 2) along the last axis of a larger tensor. */
        SLICED_VIEW,
        /** The graph input has its axes reversed and a PERMUTE node restores them before the operation. */
        PERMUTE_IN_GRAPH,
        /** The graph input is larger along its last axis and a strided SLICE node takes every other element. */
        SLICE_IN_GRAPH
    }

    /** The non-contiguous layouts, assigned to inputs in rotation from a seeded start. */
    private static final Layout[] STRIDED = {Layout.PERMUTED_VIEW, Layout.SLICE_IN_GRAPH, Layout.SLICED_VIEW, Layout.PERMUTE_IN_GRAPH};

    /** One input of the checked operation. */
    private record InputSpec(String name, Shape shape, DType dtype, Distribution distribution, boolean differentiable, Layout layout) {
    }

    private final String name;
    private final List<InputSpec> inputs = new ArrayList<>();
    private double step = 1e-6;
    private double rtol = 1e-5;
    private double atol = 1e-6;
    private boolean stridedPass = true;
    private Executor executor;

    private GradientCheck(String name) {
        this.name = name;
    }

    /** A check named after the operation (the name appears in failure messages and the graph). */
    public static GradientCheck of(String name) {
        return new GradientCheck(name);
    }

    /** A differentiable F64 input with standard normal values. */
    public GradientCheck input(String inputName, Shape shape) {
        return input(inputName, shape, Distribution.normal());
    }

    /** A differentiable F64 input with values from {@code distribution}. */
    public GradientCheck input(String inputName, Shape shape, Distribution distribution) {
        inputs.add(new InputSpec(inputName, shape, DType.F64, distribution, true, null));
        return this;
    }

    /** A differentiable F64 input that always uses {@code layout} in the non-contiguous pass. */
    public GradientCheck input(String inputName, Shape shape, Distribution distribution, Layout layout) {
        inputs.add(new InputSpec(inputName, shape, DType.F64, distribution, true, layout));
        return this;
    }

    /**
     * An input that is fed but not differentiated (indices, masks, labels, RNG offsets), with
     * values from {@code distribution} converted to {@code dtype}.
     */
    public GradientCheck constantInput(String inputName, Shape shape, DType dtype, Distribution distribution) {
        inputs.add(new InputSpec(inputName, shape, dtype, distribution, false, Layout.CONTIGUOUS));
        return this;
    }

    /** The finite-difference step h (default 1e-6). */
    public GradientCheck step(double h) {
        this.step = h;
        return this;
    }

    /** Relative and absolute tolerances (defaults 1e-5 and 1e-6). */
    public GradientCheck tolerance(double relative, double absolute) {
        this.rtol = relative;
        this.atol = absolute;
        return this;
    }

    /** Runs only the contiguous pass (for operations whose inputs must keep their exact graph shape). */
    public GradientCheck contiguousOnly() {
        this.stridedPass = false;
        return this;
    }

    /** The executor to run on (default: a fresh CPU executor). */
    public GradientCheck executor(Executor ex) {
        this.executor = ex;
        return this;
    }

    /** The seed this run uses: the {@value #SEED_PROPERTY} property if set, else {@link System#nanoTime()}. */
    public static long freshSeed() {
        String fixed = System.getProperty(SEED_PROPERTY);
        return fixed != null ? Long.parseLong(fixed.trim()) : System.nanoTime();
    }

    /**
     * Traces {@code op} over the inputs (in declaration order), differentiates, and compares
     * with finite differences in both passes.
     *
     * @throws AssertionError naming the op, seed, input, element, both values and the graph
     */
    public void check(Function<List<Value>, Value> op) {
        long seed = freshSeed();
        Random rnd = new Random(seed);
        Executor ex = executor != null ? executor : Executor.cpu();
        checkPass(op, ex, seed, rnd, false);
        if (stridedPass) {
            checkPass(op, ex, seed, rnd, true);
        }
    }

    private void checkPass(Function<List<Value>, Value> op, Executor ex, long seed, Random rnd, boolean strided) {
        Graph graph = new Graph(name);
        int rotation = rnd.nextInt(STRIDED.length);
        List<Value> opInputs = new ArrayList<>();
        List<Value> wrt = new ArrayList<>();
        List<Tensor> wrtTensors = new ArrayList<>();
        List<String> layouts = new ArrayList<>();
        Map<Value, Tensor> feeds = new HashMap<>();
        List<Tensor> owned = new ArrayList<>();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                InputSpec spec = inputs.get(i);
                Layout layout = Layout.CONTIGUOUS;
                if (strided && spec.differentiable()) {
                    layout = spec.layout() != null ? spec.layout() : STRIDED[(i + rotation) % STRIDED.length];
                    layout = applicable(layout, spec.shape());
                }
                layouts.add(spec.name() + "=" + layout);
                Fed fed = feed(graph, spec, layout, rnd, owned);
                opInputs.add(fed.opValue);
                feeds.put(fed.graphInput, fed.tensor);
                if (spec.differentiable()) {
                    wrt.add(fed.graphInput);
                    wrtTensors.add(fed.tensor);
                }
            }
            Value y = op.apply(opInputs);
            if (!y.dtype().isFloating()) {
                throw new IllegalArgumentException("gradient check '" + name + "': the operation returned " + y + ", not a floating value");
            }
            Value r = graph.input("R", y.shape(), y.dtype());
            Tensor rTensor = filled(y.shape(), y.dtype(), Distribution.normal(), rnd, owned);
            feeds.put(r, rTensor);
            Value loss = Ops.sum(Ops.mul(y, r), false);
            List<Value> grads = Autodiff.grad(loss, wrt);

            List<Value> outputs = new ArrayList<>();
            outputs.add(loss);
            outputs.addAll(grads);
            double[][] analytic = new double[wrt.size()][];
            try (Program backward = ex.compile(graph, outputs)) {
                List<Tensor> outs = backward.run(feeds);
                for (int i = 0; i < wrt.size(); i++) {
                    analytic[i] = outs.get(i + 1).toDoubleArray();
                }
            }
            try (Program forward = ex.compile(graph, List.of(loss))) {
                for (int i = 0; i < wrt.size(); i++) {
                    Tensor t = wrtTensors.get(i);
                    for (int k = 0; k < t.numel(); k++) {
                        double original = t.getFlat(k);
                        t.setFlat(k, original + step);
                        double plus = forward.run(feeds).get(0).item();
                        t.setFlat(k, original - step);
                        double minus = forward.run(feeds).get(0).item();
                        t.setFlat(k, original);
                        double numeric = (plus - minus) / (2 * step);
                        double a = analytic[i][k];
                        double allowed = atol + rtol * Math.max(Math.abs(a), Math.abs(numeric));
                        if (!(Math.abs(a - numeric) <= allowed)) {
                            throw new AssertionError("gradient of '" + name + "' w.r.t. " + wrt.get(i).ref() + wrt.get(i).shape()
                                    + " element " + k + ": traced " + a + ", finite difference " + numeric
                                    + " (|diff| " + Math.abs(a - numeric) + " > " + allowed + ")"
                                    + "\n  seed " + seed + " (replay with -D" + SEED_PROPERTY + "=" + seed + "), "
                                    + (strided ? "non-contiguous" : "contiguous") + " pass, layouts " + layouts
                                    + "\n" + graph);
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            throw new AssertionError("gradient check of '" + name + "' failed to run: " + e
                    + "\n  seed " + seed + " (replay with -D" + SEED_PROPERTY + "=" + seed + "), "
                    + (strided ? "non-contiguous" : "contiguous") + " pass, layouts " + layouts + "\n" + graph, e);
        } finally {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    /** A layout that needs axes falls back to contiguous for shapes that have none to permute or slice. */
    private static Layout applicable(Layout layout, Shape shape) {
        return switch (layout) {
            case PERMUTED_VIEW, PERMUTE_IN_GRAPH -> shape.rank() >= 2 ? layout : shape.rank() == 1 ? Layout.SLICED_VIEW : Layout.CONTIGUOUS;
            case SLICED_VIEW, SLICE_IN_GRAPH -> shape.rank() >= 1 ? layout : Layout.CONTIGUOUS;
            case CONTIGUOUS -> layout;
        };
    }

    /** What one input became: the graph input, the value the op sees, and the tensor fed (possibly a view). */
    private record Fed(Value graphInput, Value opValue, Tensor tensor) {
    }

    private static Fed feed(Graph graph, InputSpec spec, Layout layout, Random rnd, List<Tensor> owned) {
        Shape shape = spec.shape();
        int rank = shape.rank();
        switch (layout) {
            case CONTIGUOUS -> {
                Value in = graph.input(spec.name(), shape, spec.dtype());
                return new Fed(in, in, filled(shape, spec.dtype(), spec.distribution(), rnd, owned));
            }
            case PERMUTED_VIEW -> {
                Value in = graph.input(spec.name(), shape, spec.dtype());
                Tensor base = Tensor.zeros(reversed(shape), spec.dtype());
                owned.add(base);
                Tensor view = base.permute(reversal(rank));
                fill(view, spec.distribution(), rnd);
                return new Fed(in, in, view);
            }
            case SLICED_VIEW -> {
                Value in = graph.input(spec.name(), shape, spec.dtype());
                int last = shape.dim(rank - 1);
                Tensor base = Tensor.zeros(shape.withDim(rank - 1, 2 * last + 1), spec.dtype());
                owned.add(base);
                Tensor view = base.slice(rank - 1, 1, 2 * last + 1, 2);
                fill(view, spec.distribution(), rnd);
                return new Fed(in, in, view);
            }
            case PERMUTE_IN_GRAPH -> {
                Value in = graph.input(spec.name(), reversed(shape), spec.dtype());
                Value restored = Ops.permute(in, reversal(rank));
                return new Fed(in, restored, filled(reversed(shape), spec.dtype(), spec.distribution(), rnd, owned));
            }
            case SLICE_IN_GRAPH -> {
                int last = shape.dim(rank - 1);
                Shape wide = shape.withDim(rank - 1, 2 * last + 1);
                Value in = graph.input(spec.name(), wide, spec.dtype());
                Value picked = Ops.slice(in, rank - 1, 1, 2 * last + 1, 2);
                return new Fed(in, picked, filled(wide, spec.dtype(), spec.distribution(), rnd, owned));
            }
            default -> throw new IllegalStateException("unknown layout " + layout);
        }
    }

    private static Tensor filled(Shape shape, DType dtype, Distribution d, Random rnd, List<Tensor> owned) {
        Tensor t = Tensor.zeros(shape, dtype);
        owned.add(t);
        fill(t, d, rnd);
        return t;
    }

    private static void fill(Tensor t, Distribution d, Random rnd) {
        double[] values = d.draw(rnd, Math.toIntExact(t.numel()));
        for (int i = 0; i < values.length; i++) {
            t.setFlat(i, values[i]);
        }
    }

    private static Shape reversed(Shape s) {
        int[] d = s.dims();
        int[] r = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            r[i] = d[d.length - 1 - i];
        }
        return Shape.of(r);
    }

    private static int[] reversal(int rank) {
        int[] p = new int[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = rank - 1 - i;
        }
        return p;
    }
}
