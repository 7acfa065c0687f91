package dev.frugal.runtime.exec;

import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.List;
import java.util.StringJoiner;

/**
 * A group of elementwise nodes that one kernel computes in a single pass over memory, chosen by
 * {@link ElementwiseFusion}. Every member's output has the shape of {@link #output()}. The group
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
