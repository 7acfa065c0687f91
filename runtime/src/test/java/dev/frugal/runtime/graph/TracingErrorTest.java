package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Trace-time errors: each wrong shape, dtype, axis or argument throws a {@link TraceException}
 * whose message names the operation, the offending shapes or values, and the user's call site
 * (this file and the exact line of the call), and nothing is added to the graph.
 */
class TracingErrorTest {
    private final Graph g = new Graph("errors");
    private final Value a23 = g.input("a", Shape.of(2, 3), DType.F32);
    private final Value b4 = g.input("b", Shape.of(4), DType.F32);
    private final Value h23 = g.input("h", Shape.of(2, 3), DType.F16);
    private final Value i23 = g.input("i", Shape.of(2, 3), DType.I32);
    private final Value bool23 = g.input("m", Shape.of(2, 3), DType.BOOL);
    private final Value x4 = g.input("x", Shape.of(1, 2, 5, 5), DType.F32);

    /** Where the caller is: its method name and line. */
    private record Site(String method, int line) {
    }

    private static Site here() {
        StackWalker.StackFrame f = StackWalker.getInstance().walk(s -> s.skip(1).findFirst()).orElseThrow();
        return new Site(f.getMethodName(), f.getLineNumber());
    }

    /**
     * Runs {@code call} (written on the same line as {@code site}), expects a TraceException for
     * {@code operation} whose message holds every fragment and whose call site is that line.
     */
    private TraceException expect(Site site, String operation, Executable call, String... fragments) {
        int before = g.nodes().size();
        TraceException e = assertThrows(TraceException.class, call);
        String msg = e.getMessage();
        assertEquals(operation, e.operation(), msg);
        assertTrue(msg.startsWith(operation + ": "), "message starts with the op name: " + msg);
        for (String f : fragments) {
            assertTrue(msg.contains(f), "message should contain '" + f + "': " + msg);
        }
        // lambda frames are named lambda$<method>$<n>; the line is the call's line
        Pattern p = Pattern.compile("TracingErrorTest\\.(lambda\\$)?" + Pattern.quote(site.method()) + "(\\$\\d+)?\\(TracingErrorTest\\.java:" + site.line() + "\\)");
        assertTrue(p.matcher(e.callSite()).matches(), "call site " + e.callSite() + " should be " + site);
        assertTrue(msg.endsWith("(at " + e.callSite() + ")"), msg);
        assertEquals(before, g.nodes().size(), "a failed trace adds no node");
        return e;
    }

    @Test
    void callSiteOfADirectCallIsTheTestMethodLine() {
        int line = 0;
        try {
            line = here().line() + 1;
            Ops.add(a23, b4);
            fail("add of [2,3] and [4] must not trace");
        } catch (TraceException e) {
            assertEquals("TracingErrorTest.callSiteOfADirectCallIsTheTestMethodLine(TracingErrorTest.java:" + line + ")", e.callSite());
            assertSame(Op.ADD, e.op());
            assertEquals("add: shapes a:f32[2,3] and b:f32[4] do not broadcast (at " + e.callSite() + ")", e.getMessage());
        }
    }

    @Test
    void binaryShapesAndDtypes() {
        expect(here(), "sub", () -> Ops.sub(a23, b4), "a:f32[2,3]", "b:f32[4]", "broadcast");
        expect(here(), "mul", () -> a23.mul(b4), "[2,3]", "[4]");
        expect(here(), "add", () -> Ops.add(a23, h23), "dtypes differ", "a:f32[2,3]", "h:f16[2,3]", "cast");
        expect(here(), "maximum", () -> Ops.maximum(bool23, bool23), "bool", "m:bool[2,3]");
        expect(here(), "lt", () -> Ops.lt(a23, i23), "f32", "i32");
        expect(here(), "eq", () -> Ops.eq(a23, b4), "[2,3]", "[4]");
        expect(here(), "where", () -> Ops.where(a23, a23, a23), "condition must be bool", "a:f32[2,3]");
        expect(here(), "where", () -> Ops.where(bool23, a23, h23), "f32", "f16");
        Value c4 = g.input("c", Shape.of(4), DType.BOOL);
        expect(here(), "where", () -> Ops.where(c4, a23, a23), "[4]", "[2,3]");
    }

    @Test
    void unaryDtypes() {
        expect(here(), "exp", () -> Ops.exp(i23), "floating-point", "i:i32[2,3]");
        expect(here(), "sqrt", () -> Ops.sqrt(bool23), "bool[2,3]");
        expect(here(), "neg", () -> Ops.neg(bool23), "bool", "m:bool[2,3]");
        expect(here(), "not", () -> Ops.not(a23), "expects bool", "a:f32[2,3]");
        expect(here(), "random_uniform", () -> Ops.randomUniform(a23, Shape.of(3), 1, 2), "i64 scalar", "f32[2,3]");
    }

    @Test
    void reductionsAndAxes() {
        expect(here(), "reduce_sum", () -> Ops.sum(a23, false, 2), "axis 2", "[2,3]", "-2..1");
        expect(here(), "reduce_max", () -> Ops.max(a23, true, -3), "axis -3", "[2,3]");
        expect(here(), "reduce_min", () -> Ops.min(a23, false, 1, -1), "axis 1 is listed twice", "[1, -1]");
        expect(here(), "argmax", () -> Ops.argmax(a23, 5, false), "axis 5");
        expect(here(), "reduce_sum", () -> Ops.sum(bool23, false), "bool", "cast");
        Value empty = g.input("e", Shape.of(2, 0), DType.F32);
        expect(here(), "reduce_max", () -> Ops.max(empty, false, 1), "empty axis 1", "[2,0]");
        expect(here(), "mean", () -> Ops.mean(i23, false, 1), "floating-point", "i:i32[2,3]");
        expect(here(), "mean", () -> i23.mean(), "floating-point");
    }

    @Test
    void movement() {
        expect(here(), "reshape", () -> Ops.reshape(a23, Shape.of(4, 2)), "a:f32[2,3]", "6 elements", "[4,2]", "8 elements");
        expect(here(), "reshape", () -> a23.reshape(-1, -1), "only one dimension can be -1");
        expect(here(), "reshape", () -> Ops.reshape(a23, 4, -1), "cannot reshape a:f32[2,3] to [4, -1]");
        expect(here(), "reshape", () -> Ops.reshape(a23, 3, -2), "invalid size -2");
        expect(here(), "permute", () -> Ops.permute(a23, 0), "[0]", "rank 2", "a:f32[2,3]");
        expect(here(), "permute", () -> Ops.permute(a23, 1, 1), "repeats axis 1");
        expect(here(), "permute", () -> Ops.permute(a23, 0, 2), "axis 2");
        expect(here(), "permute", () -> Ops.transpose(b4), "rank >= 2", "b:f32[4]");
        expect(here(), "expand", () -> Ops.expand(a23, Shape.of(3, 3)), "a:f32[2,3]", "[3,3]");
        expect(here(), "slice", () -> Ops.slice(a23, 1, 1, 4, 1), "1:4:1", "axis 1", "a:f32[2,3]", "<= 3");
        expect(here(), "slice", () -> Ops.slice(a23, 0, 0, 2, 0), "0:2:0", "step >= 1");
        expect(here(), "slice", () -> Ops.slice(a23, 2, 0, 1, 1), "axis 2");
        expect(here(), "slice", () -> Ops.slice(a23, new int[] {0}, new int[] {1}, new int[] {1}), "one start, end and step per axis");
        expect(here(), "pad", () -> Ops.pad(a23, new int[] {0, -1}, new int[] {0, 0}), "negative padding", "axis 1");
        expect(here(), "pad", () -> Ops.pad(a23, new int[] {0}, new int[] {0}), "per axis");
        Value c24 = g.input("c3", Shape.of(2, 4), DType.F32);
        expect(here(), "concat", () -> Ops.concat(0, a23, c24), "[2,3]", "[2,4]", "axis 1");
        expect(here(), "concat", () -> Ops.concat(0, a23, h23), "dtypes differ");
        expect(here(), "concat", () -> Ops.concat(0, a23, b4), "ranks differ");
        expect(here(), "concat", () -> Ops.concat(2, a23, a23), "axis 2");
        expect(here(), "concat", () -> Ops.concat(0), "at least one input");
    }

    @Test
    void indexing() {
        expect(here(), "gather", () -> Ops.gather(a23, h23, 0), "indices must be i32 or i64", "h:f16[2,3]");
        expect(here(), "gather", () -> Ops.gather(a23, i23, 2), "axis 2", "[2,3]");
        Value idx = g.input("idx", Shape.of(5), DType.I64);
        expect(here(), "scatter_add", () -> Ops.scatterAdd(a23, idx, 0, Shape.of(4, 3)), "a:f32[2,3]", "[5,3]", "idx:i64[5]", "[4,3]");
        expect(here(), "scatter_add", () -> Ops.scatterAdd(a23, a23, 0, Shape.of(4, 3)), "indices must be i32 or i64");
    }

    @Test
    void contractionsAndPooling() {
        Value w = g.input("w", Shape.of(4, 2, 3, 3), DType.F32);
        OpAttrs.Conv2d unit = new OpAttrs.Conv2d(1, 1, 0, 0, 1, 1, 1);
        expect(here(), "matmul", () -> Ops.matmul(a23, a23), "inner dimensions differ", "a:f32[2,3]");
        expect(here(), "matmul", () -> Ops.matmul(a23, b4), "rank >= 2", "b:f32[4]");
        Value it = Ops.transpose(i23);
        expect(here(), "matmul", () -> Ops.matmul(i23, it), "floating-point");
        Value w5 = g.input("w5", Shape.of(4, 3, 3, 3), DType.F32);
        Value w9 = g.input("w9", Shape.of(4, 2, 9, 9), DType.F32);
        Value wi = g.input("wi", Shape.of(4, 2, 3, 3), DType.I32);
        Value dy = g.input("dy", Shape.of(1, 2, 3, 3), DType.F32);
        expect(here(), "conv2d", () -> Ops.conv2d(x4, w5, unit), "2 input channels per group", "[4,3,3,3]", "[1,2,5,5]");
        expect(here(), "conv2d", () -> Ops.conv2d(x4, w, new OpAttrs.Conv2d(0, 1, 0, 0, 1, 1, 1)), "invalid geometry");
        expect(here(), "conv2d", () -> Ops.conv2d(a23, w, unit), "rank 4", "[2,3]");
        expect(here(), "conv2d", () -> Ops.conv2d(x4, w9, unit), "does not fit");
        Value xi = g.input("xi", Shape.of(1, 2, 5, 5), DType.I32);
        expect(here(), "conv2d", () -> Ops.conv2d(xi, wi, unit), "floating-point", "xi:i32[1,2,5,5]");
        OpAttrs.Pool2d pool = new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false);
        expect(here(), "max_pool2d", () -> Ops.maxPool2d(a23, pool), "rank 4", "[2,3]");
        expect(here(), "max_pool2d", () -> Ops.maxPool2d(xi, pool), "floating-point", "xi:i32");
        expect(here(), "avg_pool2d", () -> Ops.avgPool2d(xi, pool), "floating-point");
        expect(here(), "avg_pool2d", () -> Ops.avgPool2d(x4, new OpAttrs.Pool2d(2, 2, 1, 1, 2, 0, false)), "invalid window", "kernel/2");
        expect(here(), "max_pool2d", () -> Ops.maxPool2d(x4, new OpAttrs.Pool2d(7, 7, 1, 1, 0, 0, false)), "does not fit", "[1,2,5,5]");
        Value x2 = g.input("x2", Shape.of(1, 1, 2, 2), DType.F32);
        Value x0 = g.input("x0", Shape.of(1, 1, 0, 4), DType.F32);
        Value w4 = g.input("w4", Shape.of(1, 1, 4, 4), DType.F32);
        // a 4x4 window or kernel with stride 3 does not fit a 2x2 input (no partial window at the edge)
        expect(here(), "max_pool2d", () -> Ops.maxPool2d(x2, new OpAttrs.Pool2d(4, 4, 3, 3, 0, 0, false)), "does not fit", "[1,1,2,2]");
        expect(here(), "conv2d", () -> Ops.conv2d(x2, w4, new OpAttrs.Conv2d(3, 3, 0, 0, 1, 1, 1)), "does not fit", "[1,1,2,2]");
        expect(here(), "avg_pool2d", () -> Ops.avgPool2d(x0, new OpAttrs.Pool2d(2, 2, 1, 1, 1, 1, false)), "does not fit", "[1,1,0,4]");
        expect(here(), "max_pool2d_grad", () -> Ops.maxPool2dGrad(x4, dy, pool), "should have shape [1,2,2,2]");
    }

    @Test
    void attentionNamesTheOpAndEveryShape() {
        Value q = g.input("q", Shape.of(2, 3, 5, 8), DType.F32);
        Value k6 = g.input("k6", Shape.of(2, 3, 6, 8), DType.F32);
        Value kh = g.input("kh", Shape.of(2, 3, 5, 8), DType.F16);
        Value qi = g.input("qi", Shape.of(2, 3, 5, 8), DType.I32);
        Value t0 = g.input("t0", Shape.of(2, 3, 0, 8), DType.F32);
        expect(here(), "attention", () -> Ops.attention(q, k6, q, true, 0.5), "shapes differ", "q q:f32[2,3,5,8]", "k k6:f32[2,3,6,8]",
                "[B, H, T, D]");
        expect(here(), "attention", () -> Ops.attention(q, kh, q, false, 0.5), "dtypes differ", "q:f32[2,3,5,8]", "kh:f16[2,3,5,8]");
        expect(here(), "attention", () -> Ops.attention(a23, q, q, false, 0.5), "q must be [B, H, T, D] (rank 4)", "a:f32[2,3]");
        expect(here(), "attention", () -> Ops.attention(qi, qi, qi, false, 0.5), "floating-point", "qi:i32[2,3,5,8]");
        expect(here(), "attention", () -> Ops.attention(q, q, q, false, Double.NaN), "scale must be a finite number");
        expect(here(), "attention", () -> Ops.attention(t0, t0, t0, false, 1), "at least one position", "[2,3,0,8]");
        expect(here(), "attention", () -> Functional.scaledDotProductAttention(q, q, k6, true), "v k6:f32[2,3,6,8]");
        expect(here(), "scaled_dot_product_attention", () -> Functional.scaledDotProductAttention(a23, a23, a23, true),
                "rank 4", "a:f32[2,3]");
        OpAttrs.Attention p = new OpAttrs.Attention(true, 0.5);
        expect(here(), "attention_grad", () -> Ops.attentionGrad(q, q, q, q, k6, p), "dOut k6:f32[2,3,6,8]");
    }

    @Test
    void assignAndGraphMembership() {
        Value p = g.parameter("p", Shape.of(2, 3), DType.F32);
        expect(here(), "assign", () -> Ops.assign(a23, a23), "must be a parameter or state input");
        expect(here(), "assign", () -> Ops.assign(p, h23), "h:f16[2,3]", "p:f32[2,3]");
        Value four = Ops.reshape(Ops.slice(a23, 1, 0, 2, 1), Shape.of(4));
        expect(here(), "assign", () -> Ops.assign(p, four), "f32[4]");
        Graph other = new Graph("other");
        Value o = other.input("o", Shape.of(2, 3), DType.F32);
        expect(here(), "add", () -> Ops.add(a23, o), "belongs to graph 'other'", "not 'errors'");
    }

    @Test
    void compositesNameThemselvesAndTheCaller() {
        TraceException e = expect(here(), "softmax", () -> Functional.softmax(a23, 4), "axis 4");
        assertNull(e.op(), "a composite has no primitive op");
        Value lw = g.input("lw", Shape.of(5, 4), DType.F32);
        Value lab = g.input("lab", Shape.of(3), DType.I64);
        expect(here(), "linear", () -> Functional.linear(a23, lw, null), "in=4", "a:f32[2,3]");
        expect(here(), "cross_entropy", () -> Functional.crossEntropy(a23, lab), "[2]", "lab:i64[3]");
    }

    @Test
    void graphInputsAreChecked() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.input("a", Shape.of(1), DType.F32));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("errors"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.input(" ", Shape.of(1), DType.F32));
        assertThrows(IllegalArgumentException.class, () -> g.state(null, Shape.of(1), DType.F32));
    }
}
