package dev.frugal.runtime.exec;

import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The fusion pass over a compiled program's nodes: maximal groups of elementwise nodes of one
 * shape become one {@link FusedGroup}, which the backend runs as a single pass over memory
 * instead of one pass (and one stored intermediate) per node. In a training step this is most of
 * the work between the contractions: batch norm's normalisation and its gradient, ReLU masks,
 * the optimizer's update arithmetic.
 *
 * <p>The rule keeps groups single-output, so fusion never changes what is stored or when: a node
 * joins the group of its users only when its value is not needed anywhere else (all its users
 * are in that one group, it is not a program output or an assigned value) and it has the group's
 * shape. Walking the program backwards, each fusible node either joins its users' group that
 * way or starts a group of its own. An {@link Op#EXPAND} that only feeds one group joins it as a
 * free broadcast. Because no value of a non-last member is read outside the group, running the
 * whole group where its last member stood respects every dependency.
 *
 * <p>Fusion does not change results: each member computes exactly what its own kernel would, in
 * the same precision; only the intermediate stores disappear.
 */
public final class ElementwiseFusion {
    private ElementwiseFusion() {
    }

    /**
     * Groups {@code live} (nodes in execution order).
     *
     * @param live     the program's nodes in execution order
     * @param pinned   values that must be stored (program outputs, assigned values)
     * @param fusible  which elementwise nodes the backend can run inside a fused kernel
     * @return the groups of at least two members, keyed by their last member (the node at whose
     *     position the group runs), in execution order
     */
    public static Map<Node, FusedGroup> plan(List<Node> live, Set<Value> pinned, Predicate<Node> fusible) {
        Map<Value, List<Node>> users = new IdentityHashMap<>();
        for (Node n : live) {
            for (Value in : n.inputs()) {
                users.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < live.size(); i++) {
            position.put(live.get(i), i);
        }
        // Group of each node, identified by its root (last member); built walking backwards.
        Map<Node, Node> rootOf = new IdentityHashMap<>();
        Map<Node, List<Node>> membersOf = new IdentityHashMap<>();
        for (int i = live.size() - 1; i >= 0; i--) {
            Node n = live.get(i);
            boolean expand = n.op() == Op.EXPAND;
            if (!(expand || n.op().isElementwise()) || !fusible.test(n)) {
                continue;
            }
            Node target = usersGroup(n, users.getOrDefault(n.output(), List.of()), pinned, rootOf);
            if (target != null) {
                rootOf.put(n, target);
                membersOf.get(target).add(n);
            } else if (!expand) {
                rootOf.put(n, n);
                membersOf.put(n, new ArrayList<>(List.of(n)));
            }
        }
        Map<Node, FusedGroup> groups = new java.util.LinkedHashMap<>();
        for (Node n : live) {
            List<Node> members = membersOf.get(n);
            if (members == null || members.size() < 2) {
                continue;
            }
            members.sort((a, b) -> Integer.compare(position.get(a), position.get(b)));
            Set<Node> inside = Collections.newSetFromMap(new IdentityHashMap<>());
            inside.addAll(members);
            Set<Value> inputs = new LinkedHashSet<>();
            for (Node m : members) {
                for (Value in : m.inputs()) {
                    if (!inside.contains(in.node())) {
                        inputs.add(in);
                    }
                }
            }
            groups.put(n, new FusedGroup(members, new ArrayList<>(inputs)));
        }
        return groups;
    }

    /**
     * The root of the one group all of {@code n}'s users belong to, when {@code n} may join it:
     * its value is not pinned, it has users, they all sit in one group, and it has that group's
     * shape. Null otherwise.
     */
    private static Node usersGroup(Node n, List<Node> users, Set<Value> pinned, Map<Node, Node> rootOf) {
        if (users.isEmpty() || pinned.contains(n.output())) {
            return null;
        }
        Node root = rootOf.get(users.get(0));
        if (root == null) {
            return null;
        }
        for (Node u : users) {
            if (rootOf.get(u) != root) {
                return null;
            }
        }
        return n.output().shape().equals(root.output().shape()) ? root : null;
    }
}
