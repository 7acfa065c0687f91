package dev.frugal.runtime.exec;

import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.List;
import java.util.StringJoiner;

/**
 * A group of elementwise nodes that one kernel computes in a single pass over memory, chosen by
 * {@link ElementwiseFusion}. Every member's output has the shape of {@link #output()}; only the
 * last member's value (the output) leaves the group, so the others are never stored. The
 * {@link #inputs()} are the values the members read from outside the group, each broadcast to
 * the output's shape by NumPy's rules (an {@link Op#EXPAND} member is such a broadcast, so it
 * costs nothing inside a group).
 *
 * @param members the nodes, in execution order; the last one computes {@link #output()}
 * @param inputs  the distinct values the members read from outside the group, in first-use order
 */
public record FusedGroup(List<Node> members, List<Value> inputs) {
    public FusedGroup {
        members = List.copyOf(members);
        inputs = List.copyOf(inputs);
        if (members.size() < 2) {
            throw new IllegalArgumentException("a fused group has at least two members, got " + members);
        }
    }

    /** The last member: the node whose value the group produces. */
    public Node root() {
        return members.get(members.size() - 1);
    }

    /** The value the group produces. */
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
