package dev.frugal.runtime.exec;

import dev.frugal.memory.BlockSizes;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.Autocast;
import dev.frugal.runtime.precision.AutocastPolicy;
import dev.frugal.runtime.precision.AutocastResult;
import dev.frugal.runtime.precision.Precision;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Compiles graphs into {@link Program}s for one {@link Backend}.
 *
 * <p>Compilation takes the nodes the requested outputs and the graph's assignments need
 * ({@link Graph#liveNodes}), rewrites them for mixed precision when asked ({@link Autocast}), merges repeated nodes
 * ({@link CommonSubexpressions}), groups elementwise nodes the backend can fuse
 * ({@link ElementwiseFusion}), asks the backend to prepare one kernel per node or fused group,
 * plans where every stored value lives and when, recomputing forward segments when a memory
 * budget demands it ({@link BufferPlan}, {@link MemoryPlan}), and allocates every buffer once.
 * Running the program then only copies the feeds in and invokes the prepared kernels: nothing is
 * allocated per run.
 *
 * <pre>{@code
 * Executor ex = Executor.cpu();
 * try (Program p = ex.compile(g, List.of(loss))) {
 *     p.bind(w, weights);
 *     Tensor l = p.run(Map.of(x, batch)).get(0);
 * }
 * }</pre>
 */
public final class Executor {
    private final Backend backend;
    private final boolean checkNonFinite;
    private final boolean fuse;
    private final boolean fuseReductions;
    private final long memoryBudget;
    private final Precision precision;
    private final boolean replay;

    /**
     * An executor over {@code backend}.
     *
     * @param checkNonFinite whether reductions (sum, max, min) throw {@link NonFiniteException}
     *                       when they produce a NaN or an infinity; on by default, turned off for
     *                       fp16 steps whose overflow the loss scaler handles
     */
    public Executor(Backend backend, boolean checkNonFinite) {
        this(backend, checkNonFinite, true, backend.device().kind() == dev.frugal.runtime.Device.Kind.CUDA, -1, Precision.FP32, true);
    }

    private Executor(Backend backend, boolean checkNonFinite, boolean fuse, boolean fuseReductions, long memoryBudget, Precision precision,
            boolean replay) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.checkNonFinite = checkNonFinite;
        this.fuse = fuse;
        this.fuseReductions = fuseReductions;
        this.memoryBudget = memoryBudget;
        this.precision = Objects.requireNonNull(precision, "precision");
        this.replay = replay;
    }

    /** An executor over {@code backend} with the non-finite check on. */
    public Executor(Backend backend) {
        this(backend, true);
    }

    /** An executor on the CPU backend with the non-finite check on. */
    public static Executor cpu() {
        return new Executor(new CpuBackend());
    }

    /** The backend programs run on. */
    public Backend backend() {
        return backend;
    }

    /** Whether reductions check their results for NaN and infinity. */
    public boolean checksNonFinite() {
        return checkNonFinite;
    }

    /** This executor with the non-finite check switched on or off. */
    public Executor withNonFiniteCheck(boolean check) {
        return new Executor(backend, check, fuse, fuseReductions, memoryBudget, precision, replay);
    }

    /**
     * Whether compiled programs merge repeated nodes ({@link CommonSubexpressions}) and run groups
     * of elementwise nodes as fused kernels ({@link ElementwiseFusion}).
     */
    public boolean fuses() {
        return fuse;
    }

    /**
     * This executor with fusion switched on (the default) or off: repeated nodes merged and
     * elementwise groups fused, or neither. Results are the same either way; off runs one kernel
     * per traced node (constants are made once either way, as an eager framework passes a scalar
     * as a kernel argument), which is useful to compare or to profile per node.
     */
    public Executor withFusion(boolean on) {
        return new Executor(backend, checkNonFinite, on, fuseReductions, memoryBudget, precision, replay);
    }

    /**
     * This executor with groups that end in a reduction ({@link Backend#canFuseReduction}) on or
     * off (the default is on for a CUDA backend, off for the CPU). They save a launch and a round
     * trip through memory per reduction, which is what a GPU step is short of; the CPU backend
     * computes them bit-identically but slower than its separate vector kernels (measured in
     * docs/benchmarks.md), so CPU execution leaves them off, and CUDA execution and planning
     * ({@code frugal kernels}, {@code frugal plan --device cuda}) turn them on. Without fusion
     * ({@link #withFusion}) this has no effect.
     */
    public Executor withReductionFusion(boolean on) {
        return new Executor(backend, checkNonFinite, fuse, on, memoryBudget, precision, replay);
    }

    /** The memory budget programs are planned for, in bytes; -1 when there is none. */
    public long memoryBudget() {
        return memoryBudget;
    }

    /**
     * This executor with a memory budget: the most bytes a compiled program may need in all,
     * parameters, state, data inputs, activations, workspaces and staging together
     * ({@link MemoryPlan#predictedPeakBytes()}). When a program would need more, the planner
     * recomputes forward activations in the backward pass; the first output of a compiled program
     * is taken as its loss, and the calls up to it as the forward pass. A program that cannot fit
     * even so is refused by {@link #compile} with {@link MemoryBudgetExceededException}.
     *
     * @param bytes the budget, or -1 for none
     * @throws IllegalArgumentException when {@code bytes} is below -1
     */
    public Executor withMemoryBudget(long bytes) {
        if (bytes < -1) {
            throw new IllegalArgumentException("memory budget must be a byte count or -1 for none, got " + bytes);
        }
        return new Executor(backend, checkNonFinite, fuse, fuseReductions, bytes, precision, replay);
    }

    /** The precision programs are compiled in. */
    public Precision precision() {
        return precision;
    }

    /**
     * This executor with a precision: under FP16 or BF16 every program is first rewritten by the
     * {@link Autocast} pass with the {@link AutocastPolicy#standard() standard policy} (the
     * caller's values, feeds, bindings and output dtypes stay those of the traced graph); FP32
     * (the default) compiles graphs as traced.
     */
    public Executor withAutocast(Precision precision) {
        return new Executor(backend, checkNonFinite, fuse, fuseReductions, memoryBudget, precision, replay);
    }

    /**
     * This executor with step replay on (the default) or off. On, a program on a backend that
     * records calls ({@link Backend#runCapture()}: CUDA graphs) records its third untimed run and
     * replays the recording from then on, one launch per step; off, every run queues its calls one
     * by one (to compare the two, or to look at a step's calls in a profiler). Results are
     * bit-identical either way; backends that cannot record ignore it.
     */
    public Executor withStepReplay(boolean on) {
        return new Executor(backend, checkNonFinite, fuse, fuseReductions, memoryBudget, precision, on);
    }

    /** Whether programs record and replay their steps where the backend can ({@link #withStepReplay}). */
    public boolean replaysSteps() {
        return replay;
    }

    /**
     * Compiles the part of {@code graph} that computes {@code outputs} and performs its
     * assignments.
     *
     * @throws IllegalArgumentException if an output belongs to another graph, or an input is assigned twice
     * @throws UnsupportedOperationException if the backend cannot run one of the nodes
     * @throws MemoryBudgetExceededException when the program cannot fit the memory budget
     * @throws dev.frugal.memory.FrugalOutOfMemoryException when the memory manager cannot serve
     *     the program's buffers
     */
    public Program compile(Graph graph, List<Value> outputs) {
        checkOutputs(graph, outputs);
        AutocastResult cast = Autocast.apply(graph, outputs, precision, AutocastPolicy.standard());
        CommonSubexpressions.Result merged = merge(cast);
        Lowered lowered = lower(merged.graph(), merged.outputs());
        if (!lowered.memoryPlan.fits()) {
            lowered.closeKernels();
            throw new MemoryBudgetExceededException(graph.name(), lowered.memoryPlan);
        }
        // The program answers to the traced graph's values: its inputs are found by name in the
        // rewritten one, and its outputs were cast back to their traced dtypes.
        return new Program(graph, backend, lowered.plan, lowered.setup, lowered.steps, sourceKeyed(graph, cast, merged, lowered.feeds),
                sourceKeyed(graph, cast, merged, lowered.bound), List.copyOf(outputs), lowered.outputSlots, lowered.memoryPlan, cast.report(),
                replay ? backend.runCapture() : null);
    }

    /** The dtype decisions {@link #compile} would make for {@code outputs} of {@code graph} (a no-op report under FP32). */
    public dev.frugal.runtime.precision.AutocastReport autocastReport(Graph graph, List<Value> outputs) {
        checkOutputs(graph, outputs);
        return Autocast.apply(graph, outputs, precision, AutocastPolicy.standard()).report();
    }

    /** The autocast program with its repeats merged, when fusing; as it is otherwise. */
    private CommonSubexpressions.Result merge(AutocastResult cast) {
        return fuse ? CommonSubexpressions.apply(cast.graph(), cast.outputs()) : new CommonSubexpressions.Result(cast.graph(), cast.outputs(), 0);
    }

    /** Re-keys a map over the rewritten graph's inputs by the traced graph's inputs of the same names. */
    private static Map<Value, Integer> sourceKeyed(Graph source, AutocastResult cast, CommonSubexpressions.Result merged,
                                                   Map<Value, Integer> slots) {
        if (cast.graph() == source && merged.graph() == source) {
            return slots;
        }
        Map<Value, Integer> keyed = new IdentityHashMap<>();
        for (Value in : source.inputs()) {
            Value counterpart = cast.graph() == source ? in : cast.values().get(in);
            if (counterpart != null && merged.graph() != cast.graph()) {
                counterpart = merged.inputFor(counterpart);
            }
            if (counterpart != null && slots.containsKey(counterpart)) {
                keyed.put(in, slots.get(counterpart));
            }
        }
        return keyed;
    }

    private static void checkOutputs(Graph graph, List<Value> outputs) {
        for (Value v : outputs) {
            Objects.requireNonNull(v, "output value");
            if (v.graph() != graph) {
                throw new IllegalArgumentException("output " + v + " belongs to graph '" + v.graph().name() + "', not '" + graph.name() + "'");
            }
        }
    }

    /**
     * Plans the program {@link #compile} would make, without allocating its buffers: what it would
     * need in memory by class, and, under a memory budget, what it would recompute. The kernels
     * are prepared to learn their workspaces and closed again.
     *
     * @throws IllegalArgumentException if an output belongs to another graph, or an input is assigned twice
     * @throws UnsupportedOperationException if the backend cannot run one of the nodes
     */
    public MemoryPlan plan(Graph graph, List<Value> outputs) {
        checkOutputs(graph, outputs);
        AutocastResult cast = Autocast.apply(graph, outputs, precision, AutocastPolicy.standard());
        CommonSubexpressions.Result merged = merge(cast);
        Lowered lowered = lower(merged.graph(), merged.outputs());
        lowered.closeKernels();
        return lowered.memoryPlan;
    }

    /** A program before its buffers exist: the plan, the prepared calls, and how inputs and outputs map to slots. */
    private record Lowered(BufferPlan plan, List<Program.Step> setup, List<Program.Step> steps, Map<Value, Integer> feeds,
                           Map<Value, Integer> bound, int[] outputSlots, MemoryPlan memoryPlan) {
        void closeKernels() {
            Program.closeKernels(setup);
            Program.closeKernels(steps);
        }
    }

    private Lowered lower(Graph graph, List<Value> outputs) {
        for (Value v : outputs) {
            Objects.requireNonNull(v, "output value");
            if (v.graph() != graph) {
                throw new IllegalArgumentException("output " + v + " belongs to graph '" + v.graph().name() + "', not '" + graph.name() + "'");
            }
        }
        List<Node> live = graph.liveNodes(outputs);
        List<Node> assigns = new ArrayList<>();
        List<Value> pinned = new ArrayList<>(outputs);
        Map<Value, Node> assignedTargets = new IdentityHashMap<>();
        for (Node n : live) {
            if (n.op() == Op.ASSIGN) {
                Node previous = assignedTargets.put(n.input(0), n);
                if (previous != null) {
                    throw new IllegalArgumentException("input " + n.input(0).ref() + " is assigned twice in one step:\n  " + previous + "\n  " + n);
                }
                assigns.add(n);
                pinned.add(n.input(1));
            }
        }
        Map<Node, FusedGroup> fused = fuse
                ? ElementwiseFusion.plan(live, identitySet(pinned), backend::canFuse, fuseReductions ? backend::canFuseReduction : n -> false)
                : Map.of();
        BufferPlan plan = BufferPlan.slots(live, outputs, fused);

        Kernel[] kernels = new Kernel[plan.units.size()];
        List<Program.Step> prepared = new ArrayList<>(); // every call made so far, to close on failure
        List<Program.Step> finalSteps = new ArrayList<>(); // assignments run after every kernel
        List<Program.Step> setup = new ArrayList<>(); // constants, computed once when the program is made
        Map<Value, Integer> feeds = new IdentityHashMap<>();
        Map<Value, Integer> bound = new IdentityHashMap<>();
        try {
            for (BufferPlan.Unit u : plan.units) {
                Node n = u.node();
                if (n.op() == Op.INPUT) {
                    int slot = plan.slotOf.get(n.output());
                    if (n.attrs(OpAttrs.Input.class).kind() == InputKind.DATA) {
                        feeds.put(n.output(), slot);
                    } else {
                        bound.put(n.output(), slot);
                    }
                } else if (u.isKernel()) {
                    int[] in = slotsOf(plan, u.inputs());
                    int[] out = slotsOf(plan, u.outputs());
                    kernels[u.index()] = u.group() != null
                            ? backend.prepareFused(u.group(), in, out, checkNonFinite)
                            : backend.prepare(n, in, out[0], checkNonFinite);
                    prepared.add(new Program.Step(kernels[u.index()], n, u.group(), in, out, false, null));
                } else if (u.isSetup()) {
                    int[] out = slotsOf(plan, u.outputs());
                    setup.add(made(prepared, new Program.Step(backend.prepare(n, new int[0], out[0], checkNonFinite), n, null, new int[0], out,
                            false, null)));
                }
            }
            // Outputs that are parameters or state (or reshapes of them) are snapshotted before
            // the assignments overwrite them, so a run returns the values the step read; constants
            // too, so a caller writing into a returned tensor cannot change the next step's.
            int[] outputSlots = new int[outputs.size()];
            List<Program.Step> copies = new ArrayList<>();
            for (int i = 0; i < outputs.size(); i++) {
                Value v = outputs.get(i);
                int slot = plan.slotOf.get(v);
                BufferPlan.SlotKind kind = plan.slots.get(slot).kind();
                if (kind == BufferPlan.SlotKind.BOUND || kind == BufferPlan.SlotKind.CONSTANT) {
                    int copy = plan.addStagingSlot(BufferPlan.bytesOf(v), v.ref() + "@out");
                    copies.add(made(prepared, new Program.Step(backend.prepareCopy(slot, copy, BufferPlan.bytesOf(v)), null, null,
                            new int[] {slot}, new int[] {copy}, false, null)));
                    slot = copy;
                }
                outputSlots[i] = slot;
            }
            // An assigned value that lives in another bound tensor (assign(a, b); assign(b, a))
            // is staged first, so every assignment reads the value from before the step's writes.
            Map<Node, Program.Step> earlyCopies = new IdentityHashMap<>();
            for (Node a : assigns) {
                if (plan.earlyAssignments.contains(a)) {
                    // runs where the plan puts it, as soon as its value exists and its target's reads are done
                    int valueSlot = plan.slotOf.get(a.input(1));
                    int targetSlot = plan.slotOf.get(a.input(0));
                    long bytes = BufferPlan.bytesOf(a.input(1));
                    earlyCopies.put(a, made(prepared, new Program.Step(backend.prepareCopy(valueSlot, targetSlot, bytes), a, null,
                            new int[] {valueSlot}, new int[] {targetSlot}, false, null)));
                    continue;
                }
                Value target = a.input(0);
                Value value = a.input(1);
                int targetSlot = plan.slotOf.get(target);
                int valueSlot = plan.slotOf.get(value);
                if (valueSlot == targetSlot) {
                    continue; // assign(p, p) or assign(p, reshape(p)): nothing changes
                }
                long bytes = BufferPlan.bytesOf(value);
                if (plan.slots.get(valueSlot).kind() == BufferPlan.SlotKind.BOUND) {
                    int staged = plan.addStagingSlot(bytes, value.ref() + "@staged");
                    copies.add(made(prepared, new Program.Step(backend.prepareCopy(valueSlot, staged, bytes), null, null,
                            new int[] {valueSlot}, new int[] {staged}, false, null)));
                    valueSlot = staged;
                }
                finalSteps.add(made(prepared, new Program.Step(backend.prepareCopy(valueSlot, targetSlot, bytes), a, null,
                        new int[] {valueSlot}, new int[] {targetSlot}, false, null)));
            }

            long workspace = 0;
            for (Kernel k : kernels) {
                if (k != null) {
                    workspace += k.workspaceBytes();
                }
            }
            long parameters = plan.bytes(BufferPlan.SlotKind.BOUND, InputKind.PARAMETER);
            long state = plan.bytes(BufferPlan.SlotKind.BOUND, InputKind.STATE);
            // Program buffers as the memory manager counts them: each rounded up to its blocks.
            long inputs = plan.blockBytes(BufferPlan.SlotKind.FEED);
            // the constants block is one allocation, counted with the staging buffers
            long staging = plan.blockBytes(BufferPlan.SlotKind.STAGING) + (plan.constantBytes > 0 ? BufferPlan.blockBytes(plan.constantBytes) : 0);
            long fixed = parameters + state + inputs + staging + workspace;
            // whole blocks, so that the arena rounded up to its block still fits
            long arenaBudget = memoryBudget < 0 ? -1 : Math.max(0, memoryBudget - fixed) / BlockSizes.MIN_BLOCK_SIZE * BlockSizes.MIN_BLOCK_SIZE;
            long smallestArena = plan.schedule(outputs.isEmpty() ? null : outputs.get(0), arenaBudget);

            List<Program.Step> steps = new ArrayList<>();
            for (BufferPlan.Entry e : plan.schedule) {
                if (e.rebind() != null) {
                    steps.add(new Program.Step(null, null, null, new int[0], new int[0], false, e.rebind()));
                } else if (earlyCopies.containsKey(e.unit().node())) {
                    steps.add(earlyCopies.get(e.unit().node()));
                } else if (e.unit().isKernel()) {
                    BufferPlan.Unit u = e.unit();
                    steps.add(new Program.Step(kernels[u.index()], u.node(), u.group(), slotsOf(plan, u.inputs()), slotsOf(plan, u.outputs()),
                            e.recompute(), null));
                }
            }
            steps.addAll(copies);
            steps.addAll(finalSteps);
            MemoryPlan report = new MemoryPlan(parameters, state, inputs, BufferPlan.blockBytes(plan.arenaBytes), plan.forwardBytesAtPeak,
                    plan.backwardBytesAtPeak, BufferPlan.blockBytes(plan.unplannedArenaBytes), workspace, staging, plan.stepFlops(), plan.recomputeFlops(), memoryBudget,
                    plan.budgetMet, plan.budgetMet ? -1 : fixed + BufferPlan.blockBytes(smallestArena), describeRecomputes(plan));
            return new Lowered(plan, setup, steps, feeds, bound, outputSlots, report);
        } catch (RuntimeException e) {
            Program.closeKernels(prepared);
            throw e;
        }
    }

    /** Adds {@code step} to {@code prepared} (what a failed compile closes) and returns it. */
    private static Program.Step made(List<Program.Step> prepared, Program.Step step) {
        prepared.add(step);
        return step;
    }

    /** One line per recomputed segment: what it reruns, and before which call. */
    private static List<String> describeRecomputes(BufferPlan plan) {
        List<String> lines = new ArrayList<>();
        for (BufferPlan.Recompute r : plan.recomputes) {
            BufferPlan.Unit first = r.units().get(0);
            BufferPlan.Unit last = r.units().get(r.units().size() - 1);
            BufferPlan.Unit before = plan.units.get(r.beforeUnit());
            lines.add(String.format(java.util.Locale.ROOT, "reruns %d call(s) %s .. %s (%,d FLOPs, %d value(s) dropped after the forward pass) before %s",
                    r.units().size(), first.outputs().get(0).ref(), last.outputs().get(0).ref(), r.flops(), r.rebind().length,
                    before.outputs().isEmpty() ? before.node().toString() : before.outputs().get(0).ref() + " = " + before.node().op().printName()));
        }
        return lines;
    }

    private static int[] slotsOf(BufferPlan plan, List<Value> values) {
        int[] slots = new int[values.size()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = plan.slotOf.get(values.get(i));
        }
        return slots;
    }

    private static Set<Value> identitySet(List<Value> values) {
        Set<Value> s = Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(values);
        return s;
    }

    /**
     * A function traced and compiled once per input signature and replayed afterwards; see
     * {@link StagedFunction}.
     */
    public StagedFunction stage(String name, StagedFunction.Tracer tracer) {
        return new StagedFunction(this, name, tracer);
    }
}
