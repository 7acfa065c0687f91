package dev.frugal.runtime.exec;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which nodes {@link ElementwiseFusion} groups, and what it must leave stored. */
class ElementwiseFusionTest {
    /** The executor's call: outputs and assigned values are pinned. */
    private static Map<Node, FusedGroup> plan(Graph g, List<Value> outputs) {
        List<Node> live = g.liveNodes(outputs);
        Set<Value> pinned = new java.util.HashSet<>(outputs);
        live.stream().filter(n -> n.op() == dev.frugal.runtime.graph.Op.ASSIGN).forEach(n -> pinned.add(n.input(1)));
        return ElementwiseFusion.plan(live, pinned, n -> true);
    }

    private static List<Value> outputsOf(FusedGroup group) {
        return group.members().stream().map(Node::output).toList();
    }

    @Test
    void aChainOfOneShapeIsOneGroupWhoseInputsAreTheOutsideValues() {
        Graph g = new Graph("chain");
        Value x = g.input("x", Shape.of(4, 8), DType.F32);
        Value b = g.input("b", Shape.of(8), DType.F32);
        Value a = Ops.mul(x, x);
        Value c = Ops.add(a, b);
        Value y = Ops.relu(c);
        Map<Node, FusedGroup> groups = plan(g, List.of(y));
        assertEquals(1, groups.size());
        FusedGroup group = groups.get(y.node());
        assertEquals(List.of(a, c, y), outputsOf(group));
        assertEquals(List.of(x, b), group.inputs());
        assertEquals("fused(mul,add,relu)", group.name());
    }

    @Test
    void aValueReadByTwoGroupsJoinsTheFirstToRunAndIsStoredByIt() {
        Graph g = new Graph("shared");
        Value x = g.input("x", Shape.of(16), DType.F32);
        Value shared = Ops.exp(Ops.neg(x));             // read by two later groups
        Value left = Ops.mul(Ops.add(shared, x), x);
        Value right = Ops.sum(Ops.sqrt(Ops.abs(shared)), false);  // a reduction reads sqrt(abs(shared))
        Map<Node, FusedGroup> groups = plan(g, List.of(left, right));
        FusedGroup leftGroup = groups.get(left.node());
        assertEquals("fused(neg,exp,add,mul)", leftGroup.name(), groups.toString());
        assertEquals(List.of(left, shared), leftGroup.outputs(), "exp's value is stored by the group that runs first");
        assertEquals(List.of(x), leftGroup.inputs());
        FusedGroup sqrtGroup = groups.get(right.node().input(0).node());
        assertEquals(List.of(shared), sqrtGroup.inputs(), "the later group reads the stored value: " + groups);
        assertEquals(2, sqrtGroup.members().size(), "abs and sqrt fuse before the reduction: " + groups);
        assertTrue(groups.values().stream().noneMatch(gr -> outputsOf(gr).contains(right)),
                "a reduction the backend does not fuse is never a member");
    }

    @Test
    void aReductionTheBackendFusesEndsTheGroupOfItsInput() {
        Graph g = new Graph("softmax");
        Value x = g.input("x", Shape.of(8, 10), DType.F32);
        Value max = Ops.max(x, true, 1);
        Value e = Ops.exp(Ops.sub(x, max));
        Value sum = Ops.sum(e, true, 1);
        Value y = Ops.div(e, sum);
        List<Node> live = g.liveNodes(List.of(y));
        Map<Node, FusedGroup> groups = ElementwiseFusion.plan(live, new java.util.HashSet<>(List.of(y)), n -> true,
                n -> n.op() == dev.frugal.runtime.graph.Op.REDUCE_SUM);
        FusedGroup sumGroup = groups.get(sum.node());
        assertTrue(sumGroup.reduction(), groups.toString());
        assertEquals("fused(sub,exp,reduce_sum)", sumGroup.name());
        assertEquals(List.of(sum, e), sumGroup.outputs(), "the exponentials are stored by the sum's pass, for the division");
        assertEquals(List.of(x, max), sumGroup.inputs());
        assertEquals(Shape.of(8, 10), sumGroup.domain());
        assertEquals(List.of(e.node().input(0).node(), e.node()), sumGroup.elementwise());
        assertEquals(null, groups.get(max.node()), "a reduction of a stored value has nothing to fuse");
        assertEquals(null, groups.get(y.node()), "the division alone is no group");
        // without the backend's consent the sum is not a member
        Map<Node, FusedGroup> plain = ElementwiseFusion.plan(live, new java.util.HashSet<>(List.of(y)), n -> true);
        assertTrue(plain.values().stream().noneMatch(FusedGroup::reduction), plain.toString());
    }

    @Test
    void aValueAlsoNeededAfterTheGroupJoinsItAsAStoredOutput() {
        Graph g = new Graph("outputs");
        Value x = g.input("x", Shape.of(16), DType.F32);
        Value m = g.state("m", Shape.of(16), DType.F32);
        Value newM = Ops.add(Ops.mul(m, x), x);          // assigned, and read by the update below
        Ops.assign(m, newM);                             // traced before the update: assignments still run last
        Value returned = Ops.add(x, x);                  // returned, and read by the update
        Value update = Ops.mul(Ops.sqrt(newM), returned);
        Map<Node, FusedGroup> groups = plan(g, List.of(update, returned));
        FusedGroup group = groups.get(update.node());
        assertEquals(1, groups.size(), groups.toString());
        assertEquals(List.of(update, newM, returned), group.outputs());
        assertTrue(outputsOf(group).containsAll(List.of(newM, returned)), group.toString());
        assertEquals(List.of(m, x), group.inputs());
    }

    @Test
    void aValueReadBeforeTheGroupEndsIsNotAMember() {
        Graph g = new Graph("early reader");
        Value x = g.input("x", Shape.of(4, 8), DType.F32);
        Value a = Ops.mul(x, x);
        Value total = Ops.sum(a, true, 1);              // reads a before the group below ends
        Value y = Ops.relu(Ops.sub(a, total));
        Map<Node, FusedGroup> groups = plan(g, List.of(y));
        FusedGroup group = groups.get(y.node());
        assertEquals(List.of(y.node().input(0), y), outputsOf(group));
        assertEquals(List.of(a, total), group.inputs());
    }

    @Test
    void differentShapesAreDifferentGroupsAndExpandJoinsOnlyWhenAllItsReadersAreInOneGroup() {
        Graph g = new Graph("shapes");
        Value x = g.input("x", Shape.of(2, 3, 5), DType.F32);
        Value s = g.input("s", Shape.of(1, 3, 1), DType.F32);
        Value absS = Ops.abs(s);
        Value small = Ops.sqrt(absS);                               // [1,3,1]: a group of its own
        Value e = Ops.expand(small, Shape.of(2, 3, 5));             // read by one group: joins it
        Value y = Ops.add(Ops.mul(e, x), e);
        Value e2 = Ops.expand(s, Shape.of(2, 3, 5));                // read by a group and returned: stays
        Value z = Ops.mul(Ops.neg(e2), x);
        Map<Node, FusedGroup> groups = plan(g, List.of(y, z, e2));
        assertEquals(List.of(absS, small), outputsOf(groups.get(small.node())));
        assertTrue(outputsOf(groups.get(y.node())).contains(e), "expand joins its readers' group: " + groups.get(y.node()));
        assertEquals(List.of(small, x), groups.get(y.node()).inputs());
        assertTrue(!outputsOf(groups.get(z.node())).contains(e2), "a returned expand is stored");
    }

    @Test
    void withoutFusionEveryNodeIsItsOwnCall() {
        Graph g = new Graph("off");
        Value x = g.input("x", Shape.of(32), DType.F32);
        Value y = Ops.relu(Ops.add(Ops.mul(x, x), x));
        try (Program on = Executor.cpu().compile(g, List.of(y));
             Program off = Executor.cpu().withFusion(false).compile(g, List.of(y))) {
            assertEquals(1, on.stepCount());
            assertEquals(3, off.stepCount());
            assertEquals(0, off.fusedCount());
        }
    }
}
