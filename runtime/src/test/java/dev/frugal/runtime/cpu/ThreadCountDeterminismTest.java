package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU kernels' results do not depend on the number of threads. The pool size is fixed per
 * JVM ({@code frugal.cpu.threads}, read once), so the same fixed-seed workload runs in two child
 * JVMs, with 1 and with 3 threads, and their outputs must be bit-identical. The workload covers
 * the paths that split work: long row reductions (split partials), column reductions, full sums,
 * large elementwise ops, scatter-add, gather, pooling, random draws, matmul, and convolution
 * forward and both gradients (im2col, 1x1 and depthwise paths: the weight gradient sums over the
 * batch, which is where a thread-dependent split would show), an F16 weight gradient on a
 * batch large enough to be summed in chunks, the hand-fused cross-entropy and layer norm with
 * their gradients in F32 and BF16 (the layer norm's weight gradient sums over row blocks), and a
 * fused bias + dropout + residual kernel that draws its random numbers tile by tile.
 */
class ThreadCountDeterminismTest {

    /** Runs the workload and prints one line per output: its name and a hash of its raw values. */
    public static void main(String[] args) {
        for (String line : workload()) {
            System.out.println(line);
        }
    }

    static List<String> workload() {
        Random rnd = new Random(1234);
        Graph g = new Graph("determinism");
        Value rows = g.input("rows", Shape.of(2, 150_000), DType.F32);
        Value cols = g.input("cols", Shape.of(70_000, 5), DType.F32);
        Value h = g.input("h", Shape.of(300_000), DType.BF16);
        Value d = g.input("d", Shape.of(3, 90_000), DType.F64);
        Value idx = g.input("idx", Shape.of(5000), DType.I32);
        Value img = g.input("img", Shape.of(4, 8, 33, 33), DType.F32);
        Value off = g.input("off", Shape.scalar(), DType.I64);
        Value a = g.input("a", Shape.of(3, 70, 130), DType.F32);
        Value b = g.input("b", Shape.of(130, 90), DType.F32);
        Value x = g.input("x", Shape.of(7, 8, 12, 12), DType.F32);
        Value w = g.input("w", Shape.of(16, 8, 3, 3), DType.F32);
        Value w1 = g.input("w1", Shape.of(16, 8, 1, 1), DType.F32);
        Value wd = g.input("wd", Shape.of(8, 1, 3, 3), DType.F32);
        Value hx = g.input("hx", Shape.of(37, 8, 64, 64), DType.F16);
        Value hdy = g.input("hdy", Shape.of(37, 8, 64, 64), DType.F16);
        Value conv = Ops.conv2d(x, w, new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 1));
        Value conv1 = Ops.conv2d(x, w1, new OpAttrs.Conv2d(1, 1, 0, 0, 1, 1, 1));
        Value convd = Ops.conv2d(x, wd, new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 8));
        Value loss = Ops.add(Ops.add(Ops.sum(Ops.mul(conv, conv), false), Ops.sum(Ops.mul(conv1, conv1), false)),
                Ops.sum(Ops.mul(convd, convd), false));
        List<Value> convGrads = Autodiff.grad(loss, List.of(x, w, w1, wd));
        // the hand-fused row-wise ops, forward and gradients, in F32 and BF16; and a fused dropout
        List<Value> rowwise = new ArrayList<>();
        Map<Value, Tensor> rowwiseFeeds = new java.util.HashMap<>();
        for (DType t : new DType[] {DType.F32, DType.BF16}) {
            Value logits = g.input("logits" + t, Shape.of(700, 131), t);
            Value labels = g.input("labels" + t, Shape.of(700), DType.I32);
            Value ce = Functional.crossEntropy(logits, labels, 0.1);
            rowwise.add(ce);
            rowwise.add(Autodiff.grad(ce, List.of(logits)).get(0));
            Value lx = g.input("lx" + t, Shape.of(2500, 72), t);
            Value lw = g.input("lw" + t, Shape.of(72), t);
            Value lb = g.input("lb" + t, Shape.of(72), t);
            Value lr = g.input("lr" + t, Shape.of(2500, 72), t);
            Value ln = Functional.layerNorm(lx, Shape.of(72), lw, lb, 1e-5);
            rowwise.add(ln);
            rowwise.addAll(Autodiff.grad(Ops.sum(Ops.cast(Ops.mul(ln, lr), DType.F32), false), List.of(lx, lw, lb)));
            int[] labelValues = new int[700];
            for (int i = 0; i < labelValues.length; i++) {
                labelValues[i] = rnd.nextInt(131);
            }
            rowwiseFeeds.put(logits, CpuReference.random(rnd, t, logits.shape(), -4, 4));
            rowwiseFeeds.put(labels, Tensor.ofInts(labelValues, 700));
            for (Value v : List.of(lx, lw, lb, lr)) {
                rowwiseFeeds.put(v, CpuReference.random(rnd, t, v.shape(), -2, 2));
            }
        }
        Value bias = g.input("bias", Shape.of(150_000), DType.F32);
        rowwiseFeeds.put(bias, CpuReference.random(rnd, DType.F32, bias.shape(), -1, 1));
        rowwise.add(Ops.add(rows, Functional.dropout(Ops.add(rows, bias), 0.3, true, off, 77, 4)));
        List<Value> outs = new ArrayList<>(List.of(
                Ops.sum(rows, false, 1), Ops.max(rows, false, 1), Ops.sum(rows, false), Ops.sum(cols, false, 0),
                Ops.sum(h, false), Ops.sum(d, true, 1), Ops.sum(d, false, 0),
                Ops.exp(Ops.mul(Ops.add(rows, Ops.constant(g, 0.5f, DType.F32)), rows)),
                Ops.gather(cols, idx, 0), Ops.scatterAdd(Ops.gather(cols, idx, 0), idx, 0, cols.shape()),
                Ops.maxPool2d(img, new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false)), Ops.avgPool2d(img, new OpAttrs.Pool2d(2, 2, 1, 1, 0, 0, true)),
                Ops.randomUniform(off, Shape.of(100_003), 7, 1), Ops.argmax(cols, 0, false),
                Ops.matmul(a, b), conv, convGrads.get(0), convGrads.get(1), convGrads.get(2), convGrads.get(3),
                Ops.conv2dGradWeight(hx, hdy, new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 1), Shape.of(8, 8, 3, 3))));
        outs.addAll(rowwise);
        List<String> lines = new ArrayList<>();
        try (Program p = Executor.cpu().compile(g, outs);
             Tensor rt = CpuReference.random(rnd, DType.F32, rows.shape(), -1, 1);
             Tensor ct = CpuReference.random(rnd, DType.F32, cols.shape(), -1, 1);
             Tensor ht = CpuReference.random(rnd, DType.BF16, h.shape(), -1, 1);
             Tensor dt = CpuReference.random(rnd, DType.F64, d.shape(), -1, 1);
             Tensor it = Tensor.zeros(idx.shape(), DType.I32);
             Tensor imt = CpuReference.random(rnd, DType.F32, img.shape(), -1, 1);
             Tensor ot = Tensor.ofLongs(new long[] {12345});
             Tensor at = CpuReference.random(rnd, DType.F32, a.shape(), -1, 1);
             Tensor bt = CpuReference.random(rnd, DType.F32, b.shape(), -1, 1);
             Tensor xt = CpuReference.random(rnd, DType.F32, x.shape(), -1, 1);
             Tensor wt = CpuReference.random(rnd, DType.F32, w.shape(), -1, 1);
             Tensor w1t = CpuReference.random(rnd, DType.F32, w1.shape(), -1, 1);
             Tensor wdt = CpuReference.random(rnd, DType.F32, wd.shape(), -1, 1);
             Tensor hxt = CpuReference.random(rnd, DType.F16, hx.shape(), -1, 1);
             Tensor hdyt = CpuReference.random(rnd, DType.F16, hdy.shape(), -1, 1)) {
            for (int i = 0; i < 5000; i++) {
                it.setFlat(i, rnd.nextInt(70_000));
            }
            Map<Value, Tensor> feeds = new java.util.HashMap<>(Map.of(rows, rt, cols, ct, h, ht, d, dt, idx, it, img, imt, off, ot));
            feeds.putAll(Map.of(a, at, b, bt, x, xt, w, wt, w1, w1t, wd, wdt, hx, hxt, hdy, hdyt));
            feeds.putAll(rowwiseFeeds);
            List<Tensor> res = p.run(feeds);
            for (int i = 0; i < res.size(); i++) {
                Tensor t = res.get(i);
                long n = t.numel() * t.dtype().byteSize();
                byte[] bytes = t.segment().asSlice(t.offset() * t.dtype().byteSize(), n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                lines.add(outs.get(i).node().op().printName() + " " + t.dtype() + t.shape() + " " + java.util.Arrays.hashCode(bytes));
            }
        } finally {
            rowwiseFeeds.values().forEach(Tensor::close);
        }
        return lines;
    }

    private static List<String> runChild(int threads) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector", "-Xmx1g",
                "-Dfrugal.cpu.threads=" + threads, "-cp", System.getProperty("java.class.path"), ThreadCountDeterminismTest.class.getName());
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, proc.exitValue(), "child JVM with " + threads + " threads failed:\n" + output);
        List<String> lines = new ArrayList<>();
        for (String l : output.split("\n")) {
            if (!l.isBlank() && !l.startsWith("WARNING")) {
                lines.add(l.strip());
            }
        }
        return lines;
    }

    @Test
    void oneThreadAndThreeThreadsGiveBitIdenticalResults() throws Exception {
        List<String> one = runChild(1);
        List<String> three = runChild(3);
        assertEquals(21 + 2 * 6 + 1, one.size(), String.join("\n", one));
        for (int i = 0; i < one.size(); i++) {
            assertEquals(one.get(i), three.get(i), "output " + i + " differs between 1 and 3 threads");
        }
    }
}
