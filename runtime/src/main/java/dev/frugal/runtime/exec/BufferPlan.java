package dev.frugal.runtime.exec;

import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Assigns every value of a program to a buffer slot: the one place that decides memory layout,
 * so the memory planner (planned offsets in one arena) can replace it without touching the
 * executor or the kernels.
 *
 * <p>The rule is simple greedy reuse by liveness. Inputs get their own slots (data inputs are
 * copied in before the first kernel; parameters and state are bound by the caller). A
 * {@link Op#RESHAPE} shares its input's slot (buffers are contiguous, so a reshape is free). Any
 * other node's output takes the smallest free work slot that is large enough, or a new one; a
 * work slot becomes free after the last node that reads any value stored in it, and it is freed
 * only after the reading node's output was placed, so no kernel's output overlaps its inputs.
 * Values the program returns or assigns stay in their slots until the step ends. Members of a
 * {@link FusedGroup} that are not among its outputs are never stored, so they get no slot.
 */
final class BufferPlan {
    /** What a slot holds, which decides who provides its buffer. */
    enum SlotKind {
        /** A parameter or state input: the caller's tensor, bound with {@link Program#bind}. */
        BOUND,
        /** A data input: a program buffer the feeds are copied into. */
        FEED,
        /** An intermediate or output: a program buffer, possibly reused. */
        WORK
    }

    /** One slot: its kind, size in bytes and a label for listings. */
    record Slot(SlotKind kind, long bytes, String label) {
    }

    final List<Slot> slots = new ArrayList<>();
    /** Slot of every live value (reshapes map to their input's slot). */
    final Map<Value, Integer> slotOf = new IdentityHashMap<>();

    private BufferPlan() {
    }

    /** Bytes a value occupies in a contiguous buffer. */
    static long bytesOf(Value v) {
        return v.shape().numel() * v.dtype().byteSize();
    }

    /**
     * Plans slots for {@code live} (in execution order); {@code pinned} values (outputs, assigned
     * values) are never overwritten before the step ends.
     */
    static BufferPlan plan(List<Node> live, List<Value> pinned) {
        return plan(live, pinned, Map.of());
    }

    /**
     * Plans slots for {@code live} (in execution order) where {@code fused} groups (keyed by their
     * last member) run as one kernel: the group reads its inputs and stores its outputs where its
     * last member stands, and members that are not outputs get no slot (their values are never
     * stored).
     */
    static BufferPlan plan(List<Node> live, List<Value> pinned, Map<Node, FusedGroup> fused) {
        BufferPlan plan = new BufferPlan();
        // A group runs where its last member stands; its other members have no place of their own.
        Set<Node> absorbed = ElementwiseFusion.nonLastMembers(fused);
        // Assignments read their values after every kernel (the executor runs them last), which
        // is also where a value a fused group stores for an assignment traced earlier exists.
        List<Node> scheduled = new ArrayList<>();
        List<Node> assignments = new ArrayList<>();
        for (Node n : live) {
            if (n.op() == Op.ASSIGN) {
                assignments.add(n);
            } else if (!absorbed.contains(n)) {
                scheduled.add(n);
            }
        }
        scheduled.addAll(assignments);
        live = scheduled;
        Function<Node, List<Value>> inputsOf = n -> {
            FusedGroup g = fused.get(n);
            return g != null ? g.inputs() : n.inputs();
        };

        // The value whose slot each value shares (itself, or the input of a reshape chain).
        Map<Value, Value> root = new IdentityHashMap<>();
        for (FusedGroup g : fused.values()) {
            for (Value out : g.outputs()) {
                root.put(out, out); // stored members, computed at their group's place
            }
        }
        for (Node n : live) {
            if (n.output() != null) {
                root.put(n.output(), n.op() == Op.RESHAPE ? root.get(n.input(0)) : n.output());
            }
        }
        Map<Value, Integer> lastUse = new IdentityHashMap<>();
        for (int t = 0; t < live.size(); t++) {
            for (Value in : inputsOf.apply(live.get(t))) {
                lastUse.put(root.get(in), t);
            }
        }
        Set<Value> pinnedRoots = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Value v : pinned) {
            pinnedRoots.add(root.get(v));
        }

        List<Integer> free = new ArrayList<>();
        for (int t = 0; t < live.size(); t++) {
            Node n = live.get(t);
            FusedGroup group = fused.get(n);
            List<Value> outs = group != null ? group.outputs() : n.output() == null ? List.of() : List.of(n.output());
            if (n.op() == Op.INPUT) {
                Value out = n.output();
                OpAttrs.Input in = n.attrs(OpAttrs.Input.class);
                SlotKind kind = in.kind() == InputKind.DATA ? SlotKind.FEED : SlotKind.BOUND;
                plan.slotOf.put(out, plan.newSlot(kind, bytesOf(out), in.name()));
            } else if (n.op() == Op.RESHAPE) {
                plan.slotOf.put(n.output(), plan.slotOf.get(n.input(0)));
            } else {
                for (Value out : outs) {
                    plan.slotOf.put(out, plan.takeWorkSlot(free, bytesOf(out), out.ref()));
                }
            }
            // Release work slots whose last reader is this node (after its outputs were placed).
            Set<Integer> released = new HashSet<>();
            for (Value in : inputsOf.apply(n)) {
                Value r = root.get(in);
                int slot = plan.slotOf.get(r);
                if (lastUse.get(r) == t && !pinnedRoots.contains(r) && plan.slots.get(slot).kind() == SlotKind.WORK && released.add(slot)) {
                    free.add(slot);
                }
            }
            // A computed value nobody reads and nobody keeps can go at once.
            if (n.op() != Op.INPUT) {
                for (Value out : outs) {
                    if (root.get(out) == out && !lastUse.containsKey(out) && !pinnedRoots.contains(out)) {
                        free.add(plan.slotOf.get(out));
                    }
                }
            }
        }
        return plan;
    }

    private int newSlot(SlotKind kind, long bytes, String label) {
        slots.add(new Slot(kind, bytes, label));
        return slots.size() - 1;
    }

    /** Best fit among the free work slots, else a new slot. */
    private int takeWorkSlot(List<Integer> free, long bytes, String label) {
        int best = -1;
        for (int i = 0; i < free.size(); i++) {
            long size = slots.get(free.get(i)).bytes();
            if (size >= bytes && (best < 0 || size < slots.get(free.get(best)).bytes())) {
                best = i;
            }
        }
        if (best >= 0) {
            return free.remove(best);
        }
        return newSlot(SlotKind.WORK, bytes, label);
    }

    /** Adds a work slot that is never reused (output snapshots, assignment staging). */
    int addPrivateSlot(long bytes, String label) {
        return newSlot(SlotKind.WORK, bytes, label);
    }
}
