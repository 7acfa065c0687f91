package dev.frugal.runtime.exec;

import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The fusion pass over a compiled program's nodes: maximal groups of elementwise nodes of one
 * shape become one {@link FusedGroup}, which the backend runs as a single pass over memory
 * instead of one pass (and one stored intermediate) per node. In a training step this is most of
 * the work between the contractions: batch norm's normalisation and its gradient, ReLU and its
 * mask, the optimizer's update arithmetic.
 *
 * <p>Walking the program backwards, a fusible node joins the group its readers are in (the first
 * of them to run, when they are in several) when it has the group's shape and either all its
 * readers are in that group (then its value is never stored) or its other readers all run after
 * the group (later nodes, the step's outputs and assignments): then it becomes one of the
 * group's {@link FusedGroup#outputs() outputs}, stored by the same pass. So an optimizer's new moments and new weights come out of one pass, and a
 * batch norm's output and its ReLU too. Otherwise the node starts a group of its own. An
 * {@link Op#EXPAND} joins only when all its readers are in the group (a free broadcast there).
 * So does an {@link Op#RANDOM_UNIFORM} of the group's domain shape: each element's draw is a pure
 * function of its flat index and the I64 counter offset (which becomes a group input), so the
 * fused kernel computes it in registers, and dropout's draw, mask, scaling and the bias and
 * residual additions around it are one pass that never stores the [N, ...] random values. It
 * never starts a group nor is stored by one: a draw that is pinned or read outside the group stays
 * a kernel of its own.
 * The group runs where its last member stood: every input of the group is computed before that
 * (members precede the last one), and every reader of a stored member comes after it, so the
 * order of the program is respected.
 *
 * <p>A group may end in a reduction (sum, maximum or minimum) of its last elementwise value,
 * when the backend says it can run that reduction over values it computes instead of loads
 * ({@code reducible}): a softmax's {@code sum(exp(x - max))}, a norm's {@code sum(d * d)}, a bias
 * gradient's {@code sum(dy * mask)}, a loss's {@code sum(target * logp)}. The reduction is the
 * group's root and its value the group's first output; the members have the shape of the
 * reduction's input (the group's {@link FusedGroup#domain() domain}) and are computed once each,
 * inside the reduction's loop, so the reduced value is never stored. A reduction is only ever a
 * root: the elementwise nodes after it start a group of their own.
 *
 * <p>Fusion does not change results: each member computes exactly what its own kernel would, in
 * the same precision; only the stores of unneeded intermediates disappear. A fused reduction
 * combines the values in the same order as the backend's unfused reduction of the stored value.
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
        return plan(live, pinned, fusible, n -> false);
    }

    /**
     * As {@link #plan(List, Set, Predicate)}, with groups that end in a reduction where
     * {@code reducible} accepts it.
     *
     * @param reducible which reductions the backend can run over an elementwise group's values
     */
    public static Map<Node, FusedGroup> plan(List<Node> live, Set<Value> pinned, Predicate<Node> fusible, Predicate<Node> reducible) {
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
        Set<Value> stored = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = live.size() - 1; i >= 0; i--) {
            Node n = live.get(i);
            if (FusedGroup.isReduction(n) && reducible.test(n)) {
                rootOf.put(n, n);
                membersOf.put(n, new ArrayList<>(List.of(n)));
                continue;
            }
            // EXPAND and RANDOM_UNIFORM only ever join a group whose members read all of them
            boolean expand = n.op() == Op.EXPAND || n.op() == Op.RANDOM_UNIFORM;
            if (!(expand || n.op().isElementwise()) || !fusible.test(n)) {
                continue;
            }
            List<Node> readers = users.getOrDefault(n.output(), List.of());
            Node target = expand && pinned.contains(n.output()) ? null : readersGroup(n, readers, rootOf, position, expand);
            if (target != null) {
                rootOf.put(n, target);
                membersOf.get(target).add(n);
                if (pinned.contains(n.output()) || !allIn(readers, target, rootOf)) {
                    stored.add(n.output());
                }
            } else if (!expand) {
                rootOf.put(n, n);
                membersOf.put(n, new ArrayList<>(List.of(n)));
            }
        }
        Map<Node, FusedGroup> groups = new LinkedHashMap<>();
        for (Node n : live) {
            List<Node> members = membersOf.get(n);
            if (members == null || members.size() < 2) {
                continue;
            }
            members.sort((a, b) -> Integer.compare(position.get(a), position.get(b)));
            Set<Node> inside = Collections.newSetFromMap(new IdentityHashMap<>());
            inside.addAll(members);
            Set<Value> inputs = new LinkedHashSet<>();
            List<Value> outputs = new ArrayList<>(List.of(n.output()));
            for (Node m : members) {
                for (Value in : m.inputs()) {
                    if (!inside.contains(in.node())) {
                        inputs.add(in);
                    }
                }
                if (m != n && stored.contains(m.output())) {
                    outputs.add(m.output());
                }
            }
            groups.put(n, new FusedGroup(members, new ArrayList<>(inputs), outputs));
        }
        return groups;
    }

    /** Every member of {@code groups} except each group's last: the nodes that run inside another node's kernel. */
    static Set<Node> nonLastMembers(Map<Node, FusedGroup> groups) {
        Set<Node> members = Collections.newSetFromMap(new IdentityHashMap<>());
        for (FusedGroup g : groups.values()) {
            members.addAll(g.members().subList(0, g.members().size() - 1));
        }
        return members;
    }

    private static boolean allIn(List<Node> readers, Node root, Map<Node, Node> rootOf) {
        for (Node u : readers) {
            if (rootOf.get(u) != root) {
                return false;
            }
        }
        return true;
    }

    /**
     * The root of the group {@code n} may join, or null: the first to run of its readers' groups.
     * Some reader must be in a group, {@code n} must have the group's domain, and every
     * reader outside it must run after the group's root ({@link Op#ASSIGN}s always do: the
     * executor performs them after every kernel). With {@code allInside} every reader must be in
     * the group.
     */
    private static Node readersGroup(Node n, List<Node> readers, Map<Node, Node> rootOf, Map<Node, Integer> position, boolean allInside) {
        // the readers' group that runs first: with readers in several groups (a softmax's
        // exponentials, read by its sum and by its division), n can only join that one
        Node root = null;
        for (Node u : readers) {
            Node r = rootOf.get(u);
            if (r != null && r != root) {
                if (root != null && allInside) {
                    return null;
                }
                if (root == null || position.get(r) < position.get(root)) {
                    root = r;
                }
            }
        }
        if (root == null || !n.output().shape().equals(FusedGroup.domainOf(root))) {
            return null;
        }
        if (allInside) {
            return allIn(readers, root, rootOf) ? root : null;
        }
        int at = position.get(root);
        for (Node u : readers) {
            if (rootOf.get(u) != root && u.op() != Op.ASSIGN && position.get(u) <= at) {
                return null;
            }
        }
        return root;
    }
}
