package dev.frugal.runtime.exec;

import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

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
 * ({@link Graph#liveNodes}), groups elementwise nodes the backend can fuse
 * ({@link ElementwiseFusion}), plans a buffer slot for every stored value ({@link BufferPlan}),
 * allocates every buffer once, and asks the backend to prepare one kernel per node or fused group. Running the program
 * then only copies the feeds in and invokes the prepared kernels: nothing is allocated per run.
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

    /**
     * An executor over {@code backend}.
     *
     * @param checkNonFinite whether reductions (sum, max, min) throw {@link NonFiniteException}
     *                       when they produce a NaN or an infinity; on by default, turned off for
     *                       fp16 steps whose overflow the loss scaler handles
     */
    public Executor(Backend backend, boolean checkNonFinite) {
        this(backend, checkNonFinite, true);
    }

    private Executor(Backend backend, boolean checkNonFinite, boolean fuse) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.checkNonFinite = checkNonFinite;
        this.fuse = fuse;
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
        return new Executor(backend, check, fuse);
    }

    /** Whether compiled programs run groups of elementwise nodes as fused kernels ({@link ElementwiseFusion}). */
    public boolean fuses() {
        return fuse;
    }

    /**
     * This executor with elementwise fusion switched on (the default) or off. Results are the same
     * either way; off runs one kernel per node, which is useful to compare or to profile per node.
     */
    public Executor withFusion(boolean on) {
        return new Executor(backend, checkNonFinite, on);
    }

    /**
     * Compiles the part of {@code graph} that computes {@code outputs} and performs its
     * assignments.
     *
     * @throws IllegalArgumentException if an output belongs to another graph, or an input is assigned twice
     * @throws UnsupportedOperationException if the backend cannot run one of the nodes
     */
    public Program compile(Graph graph, List<Value> outputs) {
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
                ? ElementwiseFusion.plan(live, identitySet(pinned), backend::canFuse)
                : Map.of();
        Set<Node> absorbed = ElementwiseFusion.nonLastMembers(fused);
        BufferPlan plan = BufferPlan.plan(live, pinned, fused);

        List<Program.Step> steps = new ArrayList<>();
        List<Program.Step> finalSteps = new ArrayList<>();
        Map<Value, Integer> feeds = new IdentityHashMap<>();
        Map<Value, Integer> bound = new IdentityHashMap<>();
        try {
            for (Node n : live) {
                if (absorbed.contains(n)) {
                    continue; // computed inside its group's kernel, at the group's last member
                }
                FusedGroup group = fused.get(n);
                if (group != null) {
                    int[] in = slotsOf(plan, group.inputs());
                    int[] out = slotsOf(plan, group.outputs());
                    steps.add(new Program.Step(backend.prepareFused(group, in, out), n, group, in, out));
                    continue;
                }
                switch (n.op()) {
                    case INPUT -> {
                        int slot = plan.slotOf.get(n.output());
                        if (n.attrs(OpAttrs.Input.class).kind() == InputKind.DATA) {
                            feeds.put(n.output(), slot);
                        } else {
                            bound.put(n.output(), slot);
                        }
                    }
                    case RESHAPE, ASSIGN -> {
                        // a reshape shares its input's buffer; assignments run after every read, below
                    }
                    default -> {
                        int[] in = slotsOf(plan, n.inputs());
                        int out = plan.slotOf.get(n.output());
                        steps.add(new Program.Step(backend.prepare(n, in, out, checkNonFinite), n, null, in, new int[] {out}));
                    }
                }
            }
            // Outputs that are parameters or state (or reshapes of them) are snapshotted before
            // the assignments overwrite them, so a run returns the values the step read.
            int[] outputSlots = new int[outputs.size()];
            for (int i = 0; i < outputs.size(); i++) {
                Value v = outputs.get(i);
                int slot = plan.slotOf.get(v);
                if (plan.slots.get(slot).kind() == BufferPlan.SlotKind.BOUND) {
                    int copy = plan.addPrivateSlot(BufferPlan.bytesOf(v), v.ref() + "@out");
                    steps.add(new Program.Step(backend.prepareCopy(slot, copy, BufferPlan.bytesOf(v)), null, null, new int[] {slot}, new int[] {copy}));
                    slot = copy;
                }
                outputSlots[i] = slot;
            }
            // An assigned value that lives in another bound tensor (assign(a, b); assign(b, a))
            // is staged first, so every assignment reads the value from before the step's writes.
            for (Node a : assigns) {
                Value target = a.input(0);
                Value value = a.input(1);
                int targetSlot = plan.slotOf.get(target);
                int valueSlot = plan.slotOf.get(value);
                if (valueSlot == targetSlot) {
                    continue; // assign(p, p) or assign(p, reshape(p)): nothing changes
                }
                long bytes = BufferPlan.bytesOf(value);
                if (plan.slots.get(valueSlot).kind() == BufferPlan.SlotKind.BOUND) {
                    int staged = plan.addPrivateSlot(bytes, value.ref() + "@staged");
                    steps.add(new Program.Step(backend.prepareCopy(valueSlot, staged, bytes), null, null, new int[] {valueSlot}, new int[] {staged}));
                    valueSlot = staged;
                }
                finalSteps.add(new Program.Step(backend.prepareCopy(valueSlot, targetSlot, bytes), a, null, new int[] {valueSlot}, new int[] {targetSlot}));
            }
            steps.addAll(finalSteps);
            finalSteps.clear();
            return new Program(graph, backend, plan, steps, feeds, bound, List.copyOf(outputs), outputSlots);
        } catch (RuntimeException e) {
            for (Program.Step s : steps) {
                s.kernel().close();
            }
            for (Program.Step s : finalSteps) {
                s.kernel().close();
            }
            throw e;
        }
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
