package dev.frugal.runtime.exec;

import dev.frugal.memory.BlockSizes;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The memory plan of one program: where every value lives, when, and in which order the kernels
 * run. It is the one place that decides memory layout; the executor and the kernels only follow it.
 *
 * <p><b>Slots.</b> Every stored value gets a slot (a {@link Op#RESHAPE} shares its input's slot;
 * members of a {@link FusedGroup} that are not among its outputs are never stored and get none).
 * Parameter and state inputs are the caller's tensors ({@link SlotKind#BOUND}); data inputs get
 * buffers of their own ({@link SlotKind#FEED}); every computed value is a region of one
 * activation arena ({@link SlotKind#WORK}); output snapshots and assignment staging are small
 * buffers of their own ({@link SlotKind#STAGING}).
 *
 * <p><b>Liveness and offsets.</b> The run order is fixed ({@link #schedule}), so each computed
 * value's lifetime is the closed interval from the call that writes it to the last call that
 * reads it (to the end of the step for outputs and assigned values), and {@link ArenaPlanner}
 * gives each one an offset by size-ordered best fit. The arena's size, and so the activation
 * peak, is known before the first step, and nothing is allocated inside a step.
 *
 * <p><b>Checkpointing.</b> Given an arena budget that the plain schedule exceeds,
 * {@link CheckpointPlanner} picks forward segments to recompute. A recomputed segment's values
 * are freed after their last forward use; just before the backward pass first reads one of them,
 * a rebind entry points their slots at second regions of the arena and the segment's calls run
 * again (the same prepared kernels, on the same inputs, so the values are bit-identical). Each
 * run starts by pointing those slots back at their first regions.
 */
final class BufferPlan {
    /** What a slot holds, which decides who provides its buffer. */
    enum SlotKind {
        /** A parameter or state input: the caller's tensor, bound with {@link Program#bind}. */
        BOUND,
        /** A data input: a program buffer the feeds are copied into. */
        FEED,
        /** A computed value: a planned region of the activation arena (two when it is recomputed). */
        WORK,
        /** An output snapshot or assignment staging buffer, alive the whole step. */
        STAGING,
        /**
         * A value that is the same in every step (a constant or an iota): computed once when the
         * program is made, in the program's constants block at {@link Slot#offset}.
         */
        CONSTANT
    }

    /** One slot. Offsets are into the arena (into the constants block for a CONSTANT slot), -1 when the slot has no such region. */
    static final class Slot {
        final SlotKind kind;
        final long bytes;
        final String label;
        final InputKind inputKind; // for BOUND slots
        long offset = -1;
        long recomputeOffset = -1;

        Slot(SlotKind kind, long bytes, String label, InputKind inputKind) {
            this.kind = kind;
            this.bytes = bytes;
            this.label = label;
            this.inputKind = inputKind;
        }

        SlotKind kind() {
            return kind;
        }

        long bytes() {
            return bytes;
        }

        String label() {
            return label;
        }
    }

    /**
     * One scheduled call: a node, or a fused group at its last member ({@code node}), with the
     * values it reads and stores.
     */
    record Unit(int index, Node node, FusedGroup group, List<Value> inputs, List<Value> outputs) {
        /** A call every step makes. */
        boolean isKernel() {
            return node.op() != Op.INPUT && node.op() != Op.RESHAPE && node.op() != Op.ASSIGN && !isSetup();
        }

        /** A call made once, when the program is made ({@link #madeOnce}). */
        boolean isSetup() {
            return group == null && madeOnce(node);
        }
    }

    /** A source whose value never changes (a constant, an iota): made when the program is made, not in each step. */
    static boolean madeOnce(Node n) {
        return n.op() == Op.CONSTANT || n.op() == Op.IOTA;
    }

    /** Alignment of each constant in the constants block. */
    private static final long CONSTANT_ALIGNMENT = 64;

    /**
     * One entry of the run order: {@code unit} runs (again, when {@code recompute}), or, when
     * {@code rebind} is not null, those slots switch to their recompute regions.
     */
    record Entry(Unit unit, boolean recompute, int[] rebind) {
    }

    /** A recomputed segment as scheduled: where it runs, what it runs, which slots it rebinds. */
    record Recompute(int beforeUnit, List<Unit> units, int[] rebind, long flops) {
    }

    final List<Slot> slots = new ArrayList<>();
    /** Slot of every live value (reshapes map to their input's slot). */
    final Map<Value, Integer> slotOf = new IdentityHashMap<>();
    /** Every call in first-run order, assignments last. */
    final List<Unit> units = new ArrayList<>();
    /** The run order, after {@link #schedule}. */
    List<Entry> schedule = List.of();
    /** Recomputed segments of the schedule (empty without checkpointing). */
    List<Recompute> recomputes = List.of();
    /** Bytes of the constants block: every {@link SlotKind#CONSTANT} slot, aligned. */
    long constantBytes;
    /** Bytes of the activation arena of the schedule. */
    long arenaBytes;
    /** Bytes of the activation arena without checkpointing. */
    long unplannedArenaBytes;
    /** Of the arena at its fullest moment: bytes made by forward calls (first runs or recomputes). */
    long forwardBytesAtPeak;
    /** Of the arena at its fullest moment: bytes made by backward and update calls. */
    long backwardBytesAtPeak;
    /** Whether the arena budget given to {@link #schedule} was met (true without a budget). */
    boolean budgetMet = true;

    private final Set<Value> pinnedRoots = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Per unit: the WORK slots it reads (distinct), every slot it reads, the WORK slots it writes. */
    private int[][] reads;
    private int[][] readsAny;
    private int[][] writes;
    /**
     * Assignments that run as soon as their value exists and their target's last read is done,
     * instead of at the end of the step.
     */
    final Set<Node> earlyAssignments = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Index of the unit that computes the loss (the first output), -1 when none. */
    private int lossUnit = -1;

    private BufferPlan() {
    }

    /** Bytes a value occupies in a contiguous buffer. */
    static long bytesOf(Value v) {
        return v.shape().numel() * v.dtype().byteSize();
    }

    /**
     * Orders the calls and gives every stored value a slot. {@code outputs} stay alive to the end
     * of the step; {@code fused} groups (keyed by their last member) run as one call where their
     * last member stands.
     *
     * <p>An assignment whose value is computed by the program runs as soon as its value exists
     * and every read of its target is done ({@link #earlyAssignments}), so an updated weight or
     * optimizer moment does not wait in the arena for the end of the step. The others (values
     * that are bound tensors, which are staged, and targets the step also returns, which are
     * snapshotted) run at the end, after every kernel.
     */
    static BufferPlan slots(List<Node> live, List<Value> outputs, Map<Node, FusedGroup> fused) {
        BufferPlan plan = new BufferPlan();
        Set<Node> absorbed = ElementwiseFusion.nonLastMembers(fused);
        List<Node> order = new ArrayList<>();
        List<Node> assignments = new ArrayList<>();
        for (Node n : live) {
            if (n.op() == Op.ASSIGN) {
                assignments.add(n);
            } else if (madeOnce(n)) {
                // made once, before any step: first, so no call waits for one (a constant shared by
                // every update must not hold the updates back to the end of the step)
                order.add(0, n);
            } else if (!absorbed.contains(n)) {
                order.add(n);
            }
        }
        order = updatesAsSoonAsReady(order, assignments, fused, outputs);
        order.addAll(assignments);
        for (Node n : order) {
            FusedGroup g = fused.get(n);
            List<Value> outs = g != null ? g.outputs() : n.output() == null ? List.of() : List.of(n.output());
            plan.units.add(new Unit(plan.units.size(), n, g, g != null ? g.inputs() : n.inputs(), outs));
        }
        for (Unit u : plan.units) {
            Node n = u.node();
            if (n.op() == Op.INPUT) {
                Value out = n.output();
                OpAttrs.Input in = n.attrs(OpAttrs.Input.class);
                SlotKind kind = in.kind() == InputKind.DATA ? SlotKind.FEED : SlotKind.BOUND;
                plan.slotOf.put(out, plan.newSlot(kind, bytesOf(out), in.name(), in.kind()));
            } else if (n.op() == Op.RESHAPE) {
                plan.slotOf.put(n.output(), plan.slotOf.get(n.input(0)));
            } else if (u.isSetup()) {
                Value out = n.output();
                int slot = plan.newSlot(SlotKind.CONSTANT, bytesOf(out), out.ref(), null);
                plan.slots.get(slot).offset = plan.constantBytes;
                plan.constantBytes += (bytesOf(out) + CONSTANT_ALIGNMENT - 1) / CONSTANT_ALIGNMENT * CONSTANT_ALIGNMENT;
                plan.slotOf.put(out, slot);
            } else {
                for (Value out : u.outputs()) {
                    plan.slotOf.put(out, plan.newSlot(SlotKind.WORK, bytesOf(out), out.ref(), null));
                }
            }
        }
        plan.reads = new int[plan.units.size()][];
        plan.readsAny = new int[plan.units.size()][];
        plan.writes = new int[plan.units.size()][];
        for (Unit u : plan.units) {
            plan.reads[u.index()] = plan.workSlots(u.inputs());
            plan.readsAny[u.index()] = plan.anySlots(u.inputs());
            plan.writes[u.index()] = u.isKernel() ? plan.workSlots(u.outputs()) : new int[0];
        }
        // Bound slots the end of the step reads: returned bound values (snapshotted) and bound
        // values assigned elsewhere (staged). Their own assignments must wait for the end.
        Set<Integer> readAtEnd = new java.util.HashSet<>();
        for (Value v : outputs) {
            plan.pinnedRoots.add(v);
            readAtEnd.add(plan.slotOf.get(v));
        }
        for (Node a : assignments) {
            int value = plan.slotOf.get(a.input(1));
            if (plan.slots.get(value).kind == SlotKind.BOUND) {
                readAtEnd.add(value);
            }
        }
        for (Unit u : plan.units) {
            Node a = u.node();
            if (a.op() != Op.ASSIGN) {
                continue;
            }
            boolean computed = plan.slots.get(plan.slotOf.get(a.input(1))).kind == SlotKind.WORK;
            if (computed && !readAtEnd.contains(plan.slotOf.get(a.input(0)))) {
                plan.earlyAssignments.add(a);
            } else {
                plan.pinnedRoots.add(a.input(1));
            }
        }
        return plan;
    }

    /**
     * Moves the update calls of a training step up to where their inputs exist. Traced programs
     * compute every gradient first and then every optimizer update, which would keep all the
     * gradients (and the updated weights and moments) in memory together; a call after the loss
     * whose results end up in a few assignments only (a parameter's weight gradient and its
     * optimizer arithmetic, updating the weight and its moments) runs instead right after the last
     * call it depends on, so each gradient is consumed, and its weight updated, as soon as it
     * exists. Calls that feed many assignments (the backward trunk, a global gradient norm for
     * clipping) or an output stay where they are. Calls of such a chain that depend on nothing computed
     * after the loss (constants, terms of a weight alone) are pulled in just before the first
     * call that needs them, never hoisted to the start of the step. Without a loss nothing moves.
     */
    private static List<Node> updatesAsSoonAsReady(List<Node> order, List<Node> assignments, Map<Node, FusedGroup> fused,
                                                   List<Value> outputs) {
        Value loss = outputs.isEmpty() ? null : outputs.get(0);
        if (loss == null || assignments.isEmpty()) {
            return order;
        }
        // Inputs first: they cost no arena memory, and an optimizer's state and learning-rate
        // inputs are traced after the backward pass, where they would hold every update back.
        List<Node> inputsFirst = new ArrayList<>(order.size());
        for (Node n : order) {
            if (n.op() == Op.INPUT) {
                inputsFirst.add(n);
            }
        }
        for (Node n : order) {
            if (n.op() != Op.INPUT) {
                inputsFirst.add(n);
            }
        }
        order = inputsFirst;
        Map<Value, Node> producer = new IdentityHashMap<>();
        for (Node n : order) {
            FusedGroup g = fused.get(n);
            for (Value v : g != null ? g.outputs() : n.output() == null ? List.<Value>of() : List.of(n.output())) {
                producer.put(v, n);
            }
        }
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            position.put(order.get(i), i);
        }
        Node lossNode = producer.get(loss);
        int lossAt = lossNode == null ? -1 : position.get(lossNode);
        if (lossAt < 0) {
            return order;
        }
        Map<Node, List<Value>> inputs = new IdentityHashMap<>();
        Map<Node, List<Node>> readers = new IdentityHashMap<>();
        for (Node n : order) {
            FusedGroup g = fused.get(n);
            List<Value> in = g != null ? g.inputs() : n.inputs();
            inputs.put(n, in);
            for (Value v : in) {
                Node p = producer.get(v);
                if (p != null) {
                    readers.computeIfAbsent(p, k -> new ArrayList<>()).add(n);
                }
            }
        }
        // Which assignments each call after the loss ends up in: a few (one parameter's update
        // chain: its weight gradient and optimizer arithmetic, which may update a moment or two
        // alongside the weight), many or an output (the backward trunk, a global gradient norm:
        // shared), found from the end. Only calls that reach a few assignments move.
        Map<Node, int[]> sink = new IdentityHashMap<>();
        Map<Value, int[]> assignedValue = new IdentityHashMap<>();
        for (int i = 0; i < assignments.size(); i++) {
            assignedValue.merge(assignments.get(i).input(1), new int[] {i}, BufferPlan::union);
        }
        Set<Value> outputSet = Collections.newSetFromMap(new IdentityHashMap<>());
        outputSet.addAll(outputs);
        Set<Node> update = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = order.size() - 1; i > lossAt; i--) {
            Node n = order.get(i);
            int[] s = NO_SINK;
            FusedGroup g = fused.get(n);
            for (Value v : g != null ? g.outputs() : n.output() == null ? List.<Value>of() : List.of(n.output())) {
                s = outputSet.contains(v) ? null : union(s, assignedValue.getOrDefault(v, NO_SINK));
            }
            for (Node r : readers.getOrDefault(n, List.of())) {
                s = union(s, sink.getOrDefault(r, NO_SINK));
            }
            sink.put(n, s);
            if (s != null && s.length > 0 && n.op() != Op.INPUT) {
                update.add(n);
            }
        }
        // Anchored: depends, directly or through other update calls, on a call after the loss.
        Set<Node> anchored = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = lossAt + 1; i < order.size(); i++) {
            Node n = order.get(i);
            if (!update.contains(n)) {
                continue;
            }
            for (Value v : inputs.get(n)) {
                Node p = producer.get(v);
                int at = p == null ? -1 : position.get(p);
                if (p != null && (anchored.contains(p) || (!update.contains(p) && at > lossAt && p.op() != Op.INPUT))) {
                    anchored.add(n);
                    break;
                }
            }
        }
        List<Node> out = new ArrayList<>(order.size());
        Set<Node> emitted = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Node> pending = new ArrayList<>();
        for (Node n : order) {
            if (update.contains(n)) {
                pending.add(n);
            }
        }
        for (Node n : order) {
            if (update.contains(n)) {
                continue;
            }
            out.add(n);
            emitted.add(n);
            boolean progress = true;
            while (progress) {
                progress = false;
                for (int i = 0; i < pending.size(); i++) {
                    Node p = pending.get(i);
                    if (!emitted.contains(p) && anchored.contains(p) && ready(p, inputs, producer, emitted, update)) {
                        emitWithPending(p, inputs, producer, emitted, update, out);
                        progress = true;
                    }
                }
                pending.removeIf(emitted::contains);
            }
        }
        for (Node p : pending) { // not anchored and not pulled in: where they were, at the end
            if (!emitted.contains(p)) {
                emitWithPending(p, inputs, producer, emitted, update, out);
            }
        }
        return out;
    }

    /** No assignment reached (yet). */
    private static final int[] NO_SINK = new int[0];
    /** More assignments than this reached: the call is shared, not one parameter's update. */
    private static final int MAX_UPDATE_SINKS = 4;

    /**
     * The assignments two calls reach together, sorted; null (shared) when either is shared or
     * together they reach more than {@link #MAX_UPDATE_SINKS}.
     */
    private static int[] union(int[] a, int[] b) {
        if (a == null || b == null) {
            return null;
        }
        if (b.length == 0) {
            return a;
        }
        if (a.length == 0) {
            return b;
        }
        java.util.TreeSet<Integer> all = new java.util.TreeSet<>();
        for (int x : a) {
            all.add(x);
        }
        for (int x : b) {
            all.add(x);
        }
        if (all.size() > MAX_UPDATE_SINKS) {
            return null;
        }
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Whether every input of {@code n} is computed already, or by an update call that is itself ready. */
    private static boolean ready(Node n, Map<Node, List<Value>> inputs, Map<Value, Node> producer, Set<Node> emitted, Set<Node> update) {
        for (Value v : inputs.get(n)) {
            Node p = producer.get(v);
            if (p != null && !emitted.contains(p) && !(update.contains(p) && ready(p, inputs, producer, emitted, update))) {
                return false;
            }
        }
        return true;
    }

    private static void emitWithPending(Node n, Map<Node, List<Value>> inputs, Map<Value, Node> producer, Set<Node> emitted,
                                        Set<Node> update, List<Node> out) {
        for (Value v : inputs.get(n)) {
            Node p = producer.get(v);
            if (p != null && !emitted.contains(p) && update.contains(p)) {
                emitWithPending(p, inputs, producer, emitted, update, out);
            }
        }
        if (emitted.add(n)) {
            out.add(n);
        }
    }

    /** Every slot {@code values} live in, distinct (bound and fed ones too). */
    private int[] anySlots(List<Value> values) {
        int[] out = new int[values.size()];
        int n = 0;
        for (Value v : values) {
            int s = slotOf.get(v);
            if (indexOf(out, n, s) < 0) {
                out[n++] = s;
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** The distinct WORK slots of {@code values}. */
    private int[] workSlots(List<Value> values) {
        int[] out = new int[values.size()];
        int n = 0;
        for (Value v : values) {
            int s = slotOf.get(v);
            if (slots.get(s).kind == SlotKind.WORK && indexOf(out, n, s) < 0) {
                out[n++] = s;
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static int indexOf(int[] a, int n, int x) {
        for (int i = 0; i < n; i++) {
            if (a[i] == x) {
                return i;
            }
        }
        return -1;
    }

    private int newSlot(SlotKind kind, long bytes, String label, InputKind inputKind) {
        slots.add(new Slot(kind, bytes, label, inputKind));
        return slots.size() - 1;
    }

    /** Adds a staging slot, alive the whole step (output snapshots, assignment staging). */
    int addStagingSlot(long bytes, String label) {
        return newSlot(SlotKind.STAGING, bytes, label, null);
    }

    private BitSet pinnedSlots() {
        BitSet b = new BitSet(slots.size());
        for (Value v : pinnedRoots) {
            Integer s = slotOf.get(v);
            if (s != null && slots.get(s).kind == SlotKind.WORK) {
                b.set(s);
            }
        }
        return b;
    }

    // ------------------------------------------------------------------ scheduling

    /**
     * Fixes the run order and the arena offsets. Without a budget ({@code arenaBudget < 0}), or
     * when the plain order fits it, every value is computed once. Otherwise the forward calls up
     * to the one computing {@code loss} may be recomputed ({@link CheckpointPlanner}); when no
     * choice fits, the plan with the smallest arena the planner found is kept and
     * {@link #budgetMet} is false.
     *
     * @param loss        the value whose calls end the forward pass (the loss), or null when
     *                    nothing may be recomputed
     * @param arenaBudget the most bytes the activation arena may take, or -1 for no limit
     * @return the smallest arena the planner reached when the budget was not met, else -1
     */
    long schedule(Value loss, long arenaBudget) {
        Layout plain = layout(List.of());
        unplannedArenaBytes = plain.placement.arenaBytes();
        lossUnit = -1;
        if (loss != null) {
            Integer s = slotOf.get(loss);
            for (Unit u : units) {
                if (u.isKernel() && s != null && contains(writes[u.index()], s)) {
                    lossUnit = u.index();
                }
            }
        }
        if (arenaBudget < 0 || unplannedArenaBytes <= arenaBudget || lossUnit < 0) {
            apply(plain, List.of());
            budgetMet = arenaBudget < 0 || unplannedArenaBytes <= arenaBudget;
            return budgetMet ? -1 : unplannedArenaBytes;
        }
        Forward fwd = new Forward();
        CheckpointPlanner planner = new CheckpointPlanner(fwd.chain(), choice -> layout(fwd.recomputes(choice)).placement.arenaBytes());
        CheckpointPlanner.Result result = planner.choose(arenaBudget, unplannedArenaBytes);
        if (result != null) {
            List<Recompute> r = fwd.recomputes(result.choice());
            apply(layout(r), r);
            budgetMet = true;
            return -1;
        }
        CheckpointPlanner.Result smallest = planner.smallest();
        if (smallest == null || smallest.arenaBytes() >= unplannedArenaBytes) {
            apply(plain, List.of());
            budgetMet = false;
            return unplannedArenaBytes;
        }
        List<Recompute> r = fwd.recomputes(smallest.choice());
        apply(layout(r), r);
        budgetMet = false;
        return arenaBytes;
    }

    private static boolean contains(int[] a, int x) {
        return indexOf(a, a.length, x) >= 0;
    }

    /** A run order with its placed regions. */
    private record Layout(List<Entry> entries, int[] regionSlot, boolean[] regionRecompute, boolean[] regionForward,
                          List<ArenaPlanner.Request> requests, ArenaPlanner.Placement placement) {
    }

    /** The run order with {@code recomputes} inserted, every region's lifetime, and their placement. */
    private Layout layout(List<Recompute> recomputes) {
        List<Entry> entries = new ArrayList<>(units.size() + 16);
        Map<Integer, List<Recompute>> before = new java.util.HashMap<>();
        for (Recompute r : recomputes) {
            before.computeIfAbsent(r.beforeUnit(), k -> new ArrayList<>()).add(r);
        }
        for (Unit u : units) {
            for (Recompute r : before.getOrDefault(u.index(), List.of())) {
                entries.add(new Entry(null, false, r.rebind()));
                for (Unit ru : r.units()) {
                    entries.add(new Entry(ru, true, null));
                }
            }
            if (!earlyAssignments.contains(u.node())) {
                entries.add(new Entry(u, false, null));
            }
        }
        entries = withEarlyAssignments(entries);
        int n = slots.size();
        int[] first = new int[2 * n];
        int[] last = new int[2 * n];
        Arrays.fill(first, -1);
        Arrays.fill(last, -1);
        boolean[] current = new boolean[n]; // slot points at its recompute region
        boolean[] forwardMade = new boolean[2 * n];
        for (int t = 0; t < entries.size(); t++) {
            Entry e = entries.get(t);
            if (e.rebind() != null) {
                for (int s : e.rebind()) {
                    current[s] = true;
                }
                continue;
            }
            for (int s : reads[e.unit().index()]) {
                touch(first, last, region(s, current), t);
            }
            for (int s : writes[e.unit().index()]) {
                int r = region(s, current);
                touch(first, last, r, t);
                forwardMade[r] = lossUnit < 0 || e.unit().index() <= lossUnit;
            }
        }
        BitSet pinned = pinnedSlots();
        int end = entries.size();
        for (int s = pinned.nextSetBit(0); s >= 0; s = pinned.nextSetBit(s + 1)) {
            touch(first, last, region(s, current), end);
        }
        List<ArenaPlanner.Request> requests = new ArrayList<>();
        List<Integer> regionIds = new ArrayList<>();
        for (int r = 0; r < 2 * n; r++) {
            if (first[r] >= 0) {
                requests.add(new ArenaPlanner.Request(slots.get(r / 2).bytes, first[r], last[r]));
                regionIds.add(r);
            }
        }
        int[] regionSlot = new int[requests.size()];
        boolean[] regionRecompute = new boolean[requests.size()];
        boolean[] regionForward = new boolean[requests.size()];
        for (int i = 0; i < regionSlot.length; i++) {
            int r = regionIds.get(i);
            regionSlot[i] = r / 2;
            regionRecompute[i] = (r & 1) == 1;
            regionForward[i] = forwardMade[r];
        }
        return new Layout(entries, regionSlot, regionRecompute, regionForward, requests, ArenaPlanner.place(requests));
    }

    /**
     * Inserts each early assignment right after the later of the last write of its value and the
     * last read of its target (recomputed calls included), so no call ever reads an overwritten
     * weight.
     */
    private List<Entry> withEarlyAssignments(List<Entry> entries) {
        if (earlyAssignments.isEmpty()) {
            return entries;
        }
        int[] lastRead = new int[slots.size()];
        int[] lastWrite = new int[slots.size()];
        Arrays.fill(lastRead, -1);
        Arrays.fill(lastWrite, -1);
        for (int t = 0; t < entries.size(); t++) {
            Entry e = entries.get(t);
            if (e.unit() == null) {
                continue;
            }
            for (int s : readsAny[e.unit().index()]) {
                lastRead[s] = t;
            }
            for (int s : writes[e.unit().index()]) {
                lastWrite[s] = t;
            }
        }
        List<List<Entry>> after = new ArrayList<>(Collections.nCopies(entries.size() + 1, null));
        for (Unit u : units) {
            if (earlyAssignments.contains(u.node())) {
                int at = Math.max(lastRead[slotOf.get(u.node().input(0))], lastWrite[slotOf.get(u.node().input(1))]) + 1;
                if (after.get(at) == null) {
                    after.set(at, new ArrayList<>());
                }
                after.get(at).add(new Entry(u, false, null));
            }
        }
        List<Entry> out = new ArrayList<>(entries.size() + earlyAssignments.size());
        for (int t = 0; t <= entries.size(); t++) {
            if (after.get(t) != null) {
                out.addAll(after.get(t));
            }
            if (t < entries.size()) {
                out.add(entries.get(t));
            }
        }
        return out;
    }

    private static int region(int slot, boolean[] current) {
        return 2 * slot + (current[slot] ? 1 : 0);
    }

    private static void touch(int[] first, int[] last, int region, int t) {
        if (first[region] < 0) {
            first[region] = t;
        }
        last[region] = Math.max(last[region], t);
    }

    /** Adopts a layout: the run order, the offsets, and the split of the arena's fullest moment. */
    private void apply(Layout layout, List<Recompute> recomputes) {
        schedule = layout.entries();
        this.recomputes = recomputes;
        arenaBytes = layout.placement().arenaBytes();
        for (Slot s : slots) {
            if (s.kind != SlotKind.CONSTANT) { // constants keep their place in the constants block
                s.offset = -1;
            }
            s.recomputeOffset = -1;
        }
        long[] offsets = layout.placement().offsets();
        for (int i = 0; i < offsets.length; i++) {
            Slot s = slots.get(layout.regionSlot()[i]);
            if (layout.regionRecompute()[i]) {
                s.recomputeOffset = offsets[i];
            } else {
                s.offset = offsets[i];
            }
        }
        // The fullest moment, and what is alive then.
        int at = layout.placement().liveBytesPeakAt();
        forwardBytesAtPeak = 0;
        backwardBytesAtPeak = 0;
        for (int i = 0; i < layout.requests().size(); i++) {
            ArenaPlanner.Request r = layout.requests().get(i);
            if (r.first() <= at && at <= r.last()) {
                if (layout.regionForward()[i]) {
                    forwardBytesAtPeak += ArenaPlanner.aligned(r.bytes());
                } else {
                    backwardBytesAtPeak += ArenaPlanner.aligned(r.bytes());
                }
            }
        }
    }

    // ------------------------------------------------------------------ the forward pass as a chain

    /** The forward calls (up to the loss) as {@link CheckpointPlanner} sees them, and the way back. */
    private final class Forward {
        /** Unit index of each forward position. */
        final int[] unitAt;
        /** Forward position of each unit, -1 for units that are not forward calls. */
        final int[] positionOf;
        /** Per WORK slot made by a forward call: the last forward position that reads it (-1: none). */
        final int[] lastForwardRead;
        /** Per WORK slot: whether a backward call reads it. */
        final boolean[] readByBackward;
        /** Per WORK slot: the first backward unit that reads it. */
        final int[] firstBackwardRead;
        /** Per WORK slot: the forward position that writes it (-1: none). */
        final int[] madeAt;
        final BitSet pinned = pinnedSlots();

        Forward() {
            List<Integer> fwd = new ArrayList<>();
            positionOf = new int[units.size()];
            Arrays.fill(positionOf, -1);
            for (Unit u : units) {
                if (u.isKernel() && u.index() <= lossUnit) {
                    positionOf[u.index()] = fwd.size();
                    fwd.add(u.index());
                }
            }
            unitAt = fwd.stream().mapToInt(Integer::intValue).toArray();
            int n = slots.size();
            lastForwardRead = new int[n];
            madeAt = new int[n];
            firstBackwardRead = new int[n];
            readByBackward = new boolean[n];
            Arrays.fill(lastForwardRead, -1);
            Arrays.fill(madeAt, -1);
            Arrays.fill(firstBackwardRead, Integer.MAX_VALUE);
            for (Unit u : units) {
                int p = positionOf[u.index()];
                for (int s : reads[u.index()]) {
                    if (p >= 0) {
                        lastForwardRead[s] = Math.max(lastForwardRead[s], p);
                    } else if (u.index() > lossUnit && u.isKernel()) {
                        readByBackward[s] = true;
                        firstBackwardRead[s] = Math.min(firstBackwardRead[s], u.index());
                    }
                }
                if (p >= 0) {
                    for (int s : writes[u.index()]) {
                        madeAt[s] = p;
                    }
                }
            }
        }

        /** Whether slot {@code s} is an activation the backward pass reads (a candidate to drop). */
        private boolean saved(int s) {
            return madeAt[s] >= 0 && readByBackward[s] && !pinned.get(s);
        }

        CheckpointPlanner.Chain chain() {
            int n = unitAt.length;
            long[] saved = new long[n];
            long[] flops = new long[n];
            long[] crossingDelta = new long[n + 1];
            for (int p = 0; p < n; p++) {
                Unit u = units.get(unitAt[p]);
                flops[p] = flopsOf(u);
                for (int s : writes[u.index()]) {
                    long bytes = ArenaPlanner.aligned(slots.get(s).bytes);
                    if (saved(s)) {
                        saved[p] += bytes;
                    }
                    int r = lastForwardRead[s];
                    if (r > p) {
                        crossingDelta[p] += bytes; // alive across the cuts after p .. r-1
                        crossingDelta[r] -= bytes;
                    }
                }
            }
            long[] crossing = new long[Math.max(0, n - 1)];
            long running = 0;
            for (int p = 0; p < n - 1; p++) {
                running += crossingDelta[p];
                crossing[p] = running;
            }
            return new CheckpointPlanner.Chain(saved, flops, crossing);
        }

        /**
         * The recompute segments a choice implies: for each recomputed segment, the values made in
         * it that no later forward call reads are dropped; those the backward pass reads are
         * recomputed (with the calls they depend on inside the segment) before the first backward
         * call that reads one of them.
         */
        List<Recompute> recomputes(CheckpointPlanner.Choice choice) {
            List<Recompute> out = new ArrayList<>();
            int start = 0;
            for (int seg = 0; seg < choice.segments(); seg++) {
                int end = choice.segmentEnds()[seg];
                while (choice.segmentOf()[start] != seg) {
                    start++;
                }
                BitSet dropped = new BitSet(slots.size());
                BitSet needed = new BitSet(slots.size());
                int insertAt = Integer.MAX_VALUE;
                for (int p = start; p <= end; p++) {
                    for (int s : writes[unitAt[p]]) {
                        if (!pinned.get(s) && lastForwardRead[s] <= end) {
                            dropped.set(s);
                            if (readByBackward[s]) {
                                needed.set(s);
                                insertAt = Math.min(insertAt, firstBackwardRead[s]);
                            }
                        }
                    }
                }
                if (needed.isEmpty()) {
                    start = end + 1;
                    continue;
                }
                // The calls that remake the needed values, from the segment's checkpoint.
                BitSet rerun = new BitSet(end + 1);
                BitSet want = (BitSet) needed.clone();
                for (int p = end; p >= start; p--) {
                    boolean makes = false;
                    for (int s : writes[unitAt[p]]) {
                        makes |= want.get(s);
                    }
                    if (makes) {
                        rerun.set(p);
                        for (int s : reads[unitAt[p]]) {
                            if (dropped.get(s)) {
                                want.set(s);
                            }
                        }
                    }
                }
                List<Unit> calls = new ArrayList<>();
                List<Integer> rebind = new ArrayList<>();
                long flops = 0;
                for (int p = rerun.nextSetBit(0); p >= 0; p = rerun.nextSetBit(p + 1)) {
                    Unit u = units.get(unitAt[p]);
                    calls.add(u);
                    flops += flopsOf(u);
                    for (int s : writes[u.index()]) {
                        rebind.add(s);
                    }
                }
                out.add(new Recompute(insertAt, calls, rebind.stream().mapToInt(Integer::intValue).toArray(), flops));
                start = end + 1;
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ costs

    /** FLOPs of one call (a fused group's members summed). */
    static long flopsOf(Unit u) {
        if (!u.isKernel()) {
            return 0;
        }
        if (u.group() == null) {
            return NodeCost.flops(u.node());
        }
        long f = 0;
        for (Node m : u.group().members()) {
            f += NodeCost.flops(m);
        }
        return f;
    }

    /** FLOPs of one step's first runs (every call once). */
    long stepFlops() {
        long f = 0;
        for (Unit u : units) {
            f += flopsOf(u);
        }
        return f;
    }

    /** FLOPs the recomputed segments add to a step. */
    long recomputeFlops() {
        long f = 0;
        for (Recompute r : recomputes) {
            f += r.flops();
        }
        return f;
    }

    /** Bytes the memory manager holds for one allocation of {@code bytes}: its 512-byte blocks (at least one). */
    static long blockBytes(long bytes) {
        return BlockSizes.roundRequest(Math.max(1, bytes));
    }

    /** Bytes the memory manager holds for the slots of one kind, each its own allocation. */
    long blockBytes(SlotKind kind) {
        long total = 0;
        for (Slot s : slots) {
            if (s.kind == kind) {
                total += blockBytes(s.bytes);
            }
        }
        return total;
    }

    /** Bytes of the slots of one kind (BOUND split by input kind with {@code inputKind}). */
    long bytes(SlotKind kind, InputKind inputKind) {
        long total = 0;
        for (Slot s : slots) {
            if (s.kind == kind && (inputKind == null || s.inputKind == inputKind)) {
                total += s.bytes;
            }
        }
        return total;
    }
}
