package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Graph#toString()}: the exact listing of a small graph (inputs, attributes, scopes, an
 * assignment, call sites aligned in a column), node and value printing, and graph queries
 * (inputs by kind, live nodes).
 */
class GraphPrinterTest {

    private static int line() {
        return StackWalker.getInstance().walk(s -> s.skip(1).findFirst()).orElseThrow().getLineNumber();
    }

    @Test
    void exactListingOfASmallGraph() {
        Graph g = new Graph("tiny");
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value w = g.parameter("w", Shape.of(3), DType.F32);
        Value steps = g.state("steps", Shape.scalar(), DType.I64);
        int l1 = line(); Value y = Ops.add(x, w);
        int l2 = line(); Value s = Ops.sum(y, true, 1);
        int l3 = line(); Value sm = Functional.softmax(y, -1);
        int l4 = line(); Value sl = Ops.slice(sm, 1, 0, 3, 2);
        int l5 = line(); Ops.assign(w, Ops.mul(w, Ops.constant(g, 0.5, DType.F32)));
        String site = "GraphPrinterTest.exactListingOfASmallGraph(GraphPrinterTest.java:";
        String expected = String.join("\n",
                "graph tiny {",
                "  x = input data : f32[2,3]",
                "  w = input parameter : f32[3]",
                "  steps = input state : i64[]",
                "  %3 = add(x, w) : f32[2,3]                                         # " + site + l1 + ")",
                "  %4 = reduce_sum(%3; axes=[1] keepdims) : f32[2,1]                 # " + site + l2 + ")",
                "  %5 = reduce_max(%3; axes=[1] keepdims) : f32[2,1]                 # [softmax/stop_gradient] " + site + l3 + ")",
                "  %6 = sub(%3, %5) : f32[2,3]                                       # [softmax] " + site + l3 + ")",
                "  %7 = exp(%6) : f32[2,3]                                           # [softmax] " + site + l3 + ")",
                "  %8 = reduce_sum(%7; axes=[1] keepdims) : f32[2,1]                 # [softmax] " + site + l3 + ")",
                "  %9 = div(%7, %8) : f32[2,3]                                       # [softmax] " + site + l3 + ")",
                "  %10 = slice(%9; [0:2,0:3:2]) : f32[2,2]                           # " + site + l4 + ")",
                "  %11 = constant(value=0.5) : f32[]                                 # " + site + l5 + ")",
                "  %12 = mul(w, %11) : f32[3]                                        # " + site + l5 + ")",
                "  assign(w, %12)                                                    # " + site + l5 + ")",
                "}");
        assertEquals(expected, g.toString());
        assertEquals("%3: f32[2,3]", y.toString());
        assertEquals("x: f32[2,3]", x.toString());
        assertEquals("%4", s.ref());
        assertEquals("steps", steps.ref());
        assertTrue(sl.node().toString().startsWith("%10 = slice(%9; [0:2,0:3:2]) : f32[2,2]"), sl.node().toString());
        assertEquals(site + l4 + ")", sl.node().callSite());
        assertEquals("softmax", sm.node().scope());
        assertEquals("", sl.node().scope());
    }

    @Test
    void attributesPrintReadably() {
        Graph g = new Graph("attrs");
        Value x = g.input("x", Shape.of(1, 2, 4, 4), DType.F32);
        Value idx = g.input("idx", Shape.of(3), DType.I32);
        Value off = g.input("off", Shape.scalar(), DType.I64);
        assertLine("permute(x; perm=[0, 2, 3, 1]) : f32[1,4,4,2]", Ops.permute(x, 0, 2, 3, 1));
        assertLine("pad(x; before=[0, 0, 1, 0] after=[0, 0, 1, 2]) : f32[1,2,6,6]", Ops.pad(x, new int[] {0, 0, 1, 0}, new int[] {0, 0, 1, 2}));
        assertLine("max_pool2d(x; kernel=2x2 stride=2x2 pad=0x0) : f32[1,2,2,2]", Ops.maxPool2d(x, new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false)));
        assertLine("avg_pool2d(x; kernel=3x3 stride=1x1 pad=1x1 count_include_pad) : f32[1,2,4,4]",
                Ops.avgPool2d(x, new OpAttrs.Pool2d(3, 3, 1, 1, 1, 1, true)));
        assertLine("gather(x, idx; axis=3) : f32[1,2,4,3]", Ops.gather(x, idx, -1));
        assertLine("cast(x; to=bf16) : bf16[1,2,4,4]", Ops.cast(x, DType.BF16));
        assertLine("random_uniform(off; seed=7 stream=3) : f32[5]", Ops.randomUniform(off, Shape.of(5), 7, 3));
        assertLine("iota(axis=1) : i32[2,3]", Ops.iota(g, Shape.of(2, 3), 1, DType.I32));
        assertLine("argmax(x; axes=[1]) : i64[1,4,4]", Ops.argmax(x, 1, false));
        assertLine("expand(%12) : f32[2,2]", Ops.full(g, Shape.of(2, 2), 1.5, DType.F32));
        Value m = g.input("m", Shape.of(3, 4), DType.F32);
        Value mt = g.input("mt", Shape.of(4, 3), DType.F32);
        assertLine("matmul(m, m; transB) : f32[3,3]", Ops.matmul(m, m, false, true));
        assertLine("matmul(m, m; transA) : f32[4,4]", Ops.matmul(m, m, true, false));
        assertLine("matmul(m, mt; transA transB) : f32[4,4]", Ops.matmul(m, mt, true, true));
        assertLine("matmul(m, mt) : f32[3,3]", Ops.matmul(m, mt));
        assertLine("conv2d(x, k; stride=1x1 pad=1x1 dilation=1x1 groups=2) : f32[1,2,4,4]",
                Ops.conv2d(x, g.parameter("k", Shape.of(2, 1, 3, 3), DType.F32), new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 2)));
    }

    private static void assertLine(String expectedBody, Value v) {
        String printed = v.node().toString();
        String body = printed.substring(printed.indexOf(" = ") + 3, printed.indexOf("  #")).stripTrailing();
        assertEquals(expectedBody, body, printed);
        assertTrue(printed.contains("# GraphPrinterTest.attributesPrintReadably(GraphPrinterTest.java:"), printed);
    }

    @Test
    void queriesAndNoOpShortcuts() {
        Graph g = new Graph();
        assertEquals("graph", g.name());
        Value x = g.input("x", Shape.of(2, 3), DType.F32);
        Value p = g.parameter("p", Shape.of(3), DType.F32);
        Value st = g.state("s", Shape.of(3), DType.F32);
        assertEquals(List.of(x, p, st), g.inputs());
        assertEquals(List.of(p), g.inputs(InputKind.PARAMETER));
        assertEquals(List.of(st), g.inputs(InputKind.STATE));
        assertSame(p, g.inputNamed("p"));
        // shortcuts that change nothing add no node
        assertSame(x, Ops.cast(x, DType.F32));
        assertSame(x, Ops.reshape(x, Shape.of(2, 3)));
        assertSame(x, Ops.permute(x, 0, 1));
        assertSame(x, Ops.expand(x, Shape.of(2, 3)));
        assertSame(x, Ops.concat(0, x));
        assertEquals(3, g.nodes().size());
        Value dead = Ops.exp(x);
        Value live = Ops.add(x, p);
        Ops.assign(st, Ops.neg(st));
        List<Node> nodes = g.liveNodes(List.of(live));
        assertTrue(nodes.contains(live.node()));
        assertTrue(!nodes.contains(dead.node()), "dead code is left out");
        assertEquals(1, g.effects().size());
        assertTrue(nodes.contains(g.effects().get(0)), "assignments are always live");
        assertEquals("graph graph {\n}", new Graph().toString());
    }
}
