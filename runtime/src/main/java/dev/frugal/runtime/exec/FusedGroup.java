package dev.frugal.runtime.exec;

import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.List;
import java.util.StringJoiner;

/**
 * A group of elementwise nodes that one kernel computes in a single pass over memory, chosen by
 * {@link ElementwiseFusion}, possibly ending in a reduction of the last elementwise value (a
 * {@link #reduction()}). Every elementwise member's output has the group's {@link #domain()}: the
 * shape of {@link #output()}, or of the reduction's input. The group
 * stores only its {@link #outputs()}: the last member's value and the values of members that are
 * needed after the group has run (read later outside it, returned or assigned); the others live
 * in registers only. The {@link #inputs()} are the values the members read from outside the
 * group, each broadcast to the output's shape by NumPy's rules (an {@link Op#EXPAND} member is
 * such a broadcast, so it costs nothing inside a group).
 *
 * @param members the nodes, in execution order; the last one computes {@link #output()}
 * @param inputs  the distinct values the members read from outside the group, in first-use order
 * @param outputs the values the group stores: the last member's first, then the others in member order
 */
public record FusedGroup(List<Node> members, List<Value> inputs, List<Value> outputs) {
    public FusedGroup {
        members = List.copyOf(members);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (members.size() < 2) {
            throw new IllegalArgumentException("a fused group has at least two members, got " + members);
        }
        if (outputs.isEmpty() || outputs.getFirst() != members.getLast().output()) {
            throw new IllegalArgumentException("a fused group's first output is its last member's value, got " + outputs);
        }
    }

    /** Whether {@code n} is a reduction a group may end in: a sum, maximum or minimum. */
    public static boolean isReduction(Node n) {
        return n.op() == Op.REDUCE_SUM || n.op() == Op.REDUCE_MAX || n.op() == Op.REDUCE_MIN;
    }

    /** The shape a group rooted at {@code root} computes its elementwise members over. */
    static Shape domainOf(Node root) {
        return isReduction(root) ? root.input(0).shape() : root.output().shape();
    }

    /** Whether the group ends in a reduction of its elementwise values (its root). */
    public boolean reduction() {
        return isReduction(root());
    }

    /** The shape of the elementwise members' values: the output's, or the reduction's input's. */
    public Shape domain() {
        return domainOf(root());
    }

    /** The members before the reduction, or all of them: the elementwise part. */
    public List<Node> elementwise() {
        return reduction() ? members.subList(0, members.size() - 1) : members;
    }

    /** The values the group stores besides its first output (elementwise values, all of the domain's shape). */
    public List<Value> storedMembers() {
        return outputs.subList(1, outputs.size());
    }

    /** A group that stores only its last member's value. */
    public FusedGroup(List<Node> members, List<Value> inputs) {
        this(members, inputs, List.of(members.getLast().output()));
    }

    /** The last member: the node whose value the group produces. */
    public Node root() {
        return members.get(members.size() - 1);
    }

    /** The last member's value: the group's first output. */
    public Value output() {
        return root().output();
    }

    /** The members' operation names in order, e.g. {@code fused(sub,mul,add)}: the group's name in listings. */
    public String name() {
        StringJoiner j = new StringJoiner(",", "fused(", ")");
        for (Node n : members) {
            j.add(n.op().printName());
        }
        return j.toString();
    }

    /** The members' value references in order, e.g. {@code %20 %21 %22}. */
    public String memberRefs() {
        StringJoiner j = new StringJoiner(" ");
        for (Node n : members) {
            j.add(n.output().ref());
        }
        return j.toString();
    }
}
