package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Op;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hand-fused SOFTMAX_CROSS_ENTROPY and LAYER_NORM ops (and their gradients) against the
 * primitive compositions they replaced, written out here as the reference: forward and gradients,
 * with label smoothing, odd sizes (N = 1, C not a multiple of the vector length, C = 1000), f16
 * and bf16 inputs against a float64 reference of the same rounded values, and the out-of-range
 * label error. {@link #crossEntropyAndLayerNormMatchPyTorch} compares {@code Functional}'s
 * cross-entropy (with label smoothing) and layer norm, forward and gradients, with PyTorch's on
 * the CPU (skipped without python3 and torch).
 */
class CrossEntropyAndLayerNormKernelTest {
    private final SplittableRandom rnd = new SplittableRandom(2026);

    /** The old traced composition of each row's cross-entropy: log-softmax, a one-hot target, a row sum. */
    static Value oldCrossEntropyPerRow(Value logits, Value labels, double s) {
        Graph g = logits.graph();
        int n = logits.shape().dim(0);
        int c = logits.shape().dim(1);
        Value max = Functional.stopGradient(g, () -> Ops.max(logits, true, 1));
        Value z = Ops.sub(logits, max);
        Value logProb = Ops.sub(z, Ops.log(Ops.sum(Ops.exp(z), true, 1)));
        Value hit = Ops.eq(Ops.iota(g, logits.shape(), 1, labels.dtype()), Ops.reshape(labels, n, 1));
        Value target = Ops.cast(hit, logits.dtype());
        if (s > 0) {
            target = Ops.add(Ops.mul(target, Ops.constant(g, 1 - s, logits.dtype())), Ops.constant(g, s / c, logits.dtype()));
        }
        return Ops.neg(Ops.sum(Ops.mul(target, logProb), false, 1));
    }

    /** The old traced composition of layer norm over the last axis. */
    static Value oldLayerNorm(Value x, Value w, Value b, double eps) {
        int last = x.rank() - 1;
        Value mean = Ops.mean(x, true, last);
        Value d = Ops.sub(x, mean);
        Value var = Ops.mean(Ops.mul(d, d), true, last);
        Value y = Ops.mul(d, Ops.rsqrt(Ops.add(var, Ops.constant(x.graph(), eps, x.dtype()))));
        if (w != null) {
            y = Ops.mul(y, w);
        }
        return b == null ? y : Ops.add(y, b);
    }

    private Tensor randomTensor(Shape shape, DType t, double scale) {
        double[] v = new double[(int) shape.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian() * scale;
        }
        return Tensor.of(v, t, shape.dims());
    }

    private Tensor labels(int n, int c, DType t) {
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = rnd.nextInt(c);
        }
        if (t == DType.I64) {
            return Tensor.ofLongs(l, n);
        }
        int[] li = new int[n];
        for (int i = 0; i < n; i++) {
            li[i] = (int) l[i];
        }
        return Tensor.ofInts(li, n);
    }

    /** Loss rows and dLogits of the fused op and of the composition on the same inputs, in float64 or float32. */
    private void checkCrossEntropy(int n, int c, double s, DType t, DType labelType) {
        Graph g = new Graph("ce");
        Value logits = g.input("logits", Shape.of(n, c), t);
        Value labels = g.input("labels", Shape.of(n), labelType);
        Value weights = g.input("w", Shape.of(n), t == DType.F64 ? DType.F64 : DType.F32);
        Value fused = Ops.softmaxCrossEntropy(logits, labels, s);
        Value fusedGrad = Autodiff.grad(Ops.sum(Ops.mul(fused, weights), false), List.of(logits)).get(0);
        // the reference in float64 on the same (rounded) logits
        Value wide = t == DType.F64 ? logits : Ops.cast(logits, DType.F64);
        Value wideWeights = t == DType.F64 ? weights : Ops.cast(weights, DType.F64);
        Value old = oldCrossEntropyPerRow(wide, labels, s);
        Value oldGrad = Autodiff.grad(Ops.sum(Ops.mul(old, wideWeights), false), List.of(wide)).get(0);
        assertEquals(1, g.nodes().stream().filter(x -> x.op() == Op.SOFTMAX_CROSS_ENTROPY_GRAD).count());
        try (Tensor x = randomTensor(Shape.of(n, c), t, 3); Tensor l = labels(n, c, labelType);
             Tensor w = randomTensor(Shape.of(n), weights.dtype(), 1);
             Program p = Executor.cpu().compile(g, List.of(fused, fusedGrad, old, oldGrad))) {
            List<Tensor> out = p.run(Map.of(logits, x, labels, l, weights, w));
            double lossTol = t == DType.F64 ? 1e-12 : 2e-6;
            double gradTol = t == DType.F64 ? 1e-12 : t == DType.F32 ? 2e-6 : t == DType.F16 ? 1e-3 : 8e-3;
            assertClose(out.get(2).toDoubleArray(), out.get(0).toDoubleArray(), lossTol, "loss " + t + " n=" + n + " c=" + c + " s=" + s);
            assertClose(out.get(3).toDoubleArray(), out.get(1).toDoubleArray(), gradTol, "dLogits " + t + " n=" + n + " c=" + c + " s=" + s);
            assertEquals(t == DType.F64 ? DType.F64 : DType.F32, out.get(0).dtype());
            assertEquals(t, out.get(1).dtype());
        }
    }

    private static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * Math.max(1, Math.abs(expected[i])), what + " element " + i);
        }
    }

    @Test
    void crossEntropyMatchesTheOldCompositionInEveryDtypeAndShape() {
        for (DType t : List.of(DType.F64, DType.F32, DType.F16, DType.BF16)) {
            checkCrossEntropy(7, 10, 0.0, t, DType.I64);
            checkCrossEntropy(1, 1, 0.0, t, DType.I32);
            checkCrossEntropy(1, 37, 0.1, t, DType.I32);
            checkCrossEntropy(5, 19, 0.25, t, DType.I64);
        }
        checkCrossEntropy(33, 1000, 0.0, DType.F32, DType.I32);
        checkCrossEntropy(9, 1000, 0.1, DType.F16, DType.I64);
    }

    @Test
    void crossEntropyTracesOneNodeEachWay() {
        Graph g = new Graph("ce_nodes");
        Value logits = g.input("logits", Shape.of(4, 3), DType.F32);
        Value labels = g.input("labels", Shape.of(4), DType.I32);
        Value loss = Functional.crossEntropy(logits, labels, 0.1);
        Autodiff.grad(loss, List.of(logits));
        assertEquals(1, g.nodes().stream().filter(n -> n.op() == Op.SOFTMAX_CROSS_ENTROPY).count(), g.toString());
        assertEquals(1, g.nodes().stream().filter(n -> n.op() == Op.SOFTMAX_CROSS_ENTROPY_GRAD).count(), g.toString());
        assertTrue(g.nodes().stream().noneMatch(n -> n.op() == Op.EXP || n.op() == Op.IOTA || n.op() == Op.GATHER), g.toString());
        assertTrue(g.toString().contains("label_smoothing=0.1"), g.toString());
    }

    @Test
    void anOutOfRangeLabelNamesTheOpTheRowAndTheLabel() {
        for (long bad : new long[] {3, -1}) {
            Graph g = new Graph("ce_bad");
            Value logits = g.input("logits", Shape.of(2, 3), DType.F32);
            Value labels = g.input("labels", Shape.of(2), DType.I64);
            Value loss = Functional.crossEntropyPerSample(logits, labels);
            try (Tensor x = Tensor.zeros(Shape.of(2, 3), DType.F32); Tensor l = Tensor.ofLongs(new long[] {1, bad}, 2);
                 Program p = Executor.cpu().compile(g, List.of(loss))) {
                RuntimeException e = assertThrows(RuntimeException.class, () -> p.run(Map.of(logits, x, labels, l)));
                String m = String.valueOf(e.getMessage());
                assertTrue(m.contains("softmax_cross_entropy") && m.contains("label " + bad) && m.contains("row 1") && m.contains("[0, 3)"), m);
            }
        }
    }

    /** y, dx, dw, db of the fused op and of the composition, f64 reference on the same rounded values. */
    private void checkLayerNorm(Shape shape, boolean affine, DType t) {
        int d = shape.dim(-1);
        Graph g = new Graph("ln");
        Value x = g.input("x", shape, t);
        Value w = affine ? g.input("w", Shape.of(d), t) : null;
        Value b = affine ? g.input("b", Shape.of(d), t) : null;
        Value dy = g.input("dy", shape, t);
        Value y = Functional.layerNorm(x, Shape.of(d), w, b, 1e-5);
        List<Value> wrt = affine ? List.of(x, w, b) : List.of(x);
        List<Value> grads = Autodiff.vjp(List.of(y), List.of(dy), wrt);
        Value xw = t == DType.F64 ? x : Ops.cast(x, DType.F64);
        Value ww = !affine ? null : t == DType.F64 ? w : Ops.cast(w, DType.F64);
        Value bw = !affine ? null : t == DType.F64 ? b : Ops.cast(b, DType.F64);
        Value dyw = t == DType.F64 ? dy : Ops.cast(dy, DType.F64);
        Value yOld = oldLayerNorm(xw, ww, bw, 1e-5);
        List<Value> oldGrads = Autodiff.vjp(List.of(yOld), List.of(dyw), affine ? List.of(xw, ww, bw) : List.of(xw));
        List<Value> outs = new ArrayList<>(List.of(y, yOld));
        outs.addAll(grads);
        outs.addAll(oldGrads);
        Map<Value, Tensor> feeds = new HashMap<>();
        feeds.put(x, randomTensor(shape, t, 2));
        feeds.put(dy, randomTensor(shape, t, 1));
        if (affine) {
            feeds.put(w, randomTensor(Shape.of(d), t, 1));
            feeds.put(b, randomTensor(Shape.of(d), t, 1));
        }
        assertEquals(0, g.nodes().stream().filter(n -> n.op() == Op.RSQRT && n.scope().contains("layer_norm")).count());
        try (Program p = Executor.cpu().compile(g, outs)) {
            List<Tensor> out = p.run(feeds);
            double tol = t == DType.F64 ? 1e-10 : t == DType.F32 ? 2e-5 : t == DType.F16 ? 4e-3 : 3e-2;
            String what = t + " " + shape + (affine ? " affine" : "");
            assertClose(out.get(1).toDoubleArray(), out.get(0).toDoubleArray(), tol, "y " + what);
            int k = wrt.size();
            for (int i = 0; i < k; i++) {
                // weight and bias gradients are sums over rows: allow for their size
                double scale = i == 0 ? 1 : Math.sqrt(shape.numel() / d);
                assertClose(out.get(2 + k + i).toDoubleArray(), out.get(2 + i).toDoubleArray(), tol * scale, "gradient " + i + " " + what);
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    @Test
    void layerNormMatchesTheOldCompositionInEveryDtypeAndShape() {
        for (DType t : List.of(DType.F64, DType.F32, DType.F16, DType.BF16)) {
            checkLayerNorm(Shape.of(4, 7), true, t);
            checkLayerNorm(Shape.of(1, 33), false, t);
            checkLayerNorm(Shape.of(2, 3, 67), true, t);
        }
        checkLayerNorm(Shape.of(70, 1000), true, DType.F32);
        checkLayerNorm(Shape.of(5, 1), true, DType.F32);
    }

    @Test
    void layerNormTracesOneForwardNodeAndTwoGradientNodes() {
        Graph g = new Graph("ln_nodes");
        Value x = g.input("x", Shape.of(3, 2, 4), DType.F32);
        Value w = g.input("w", Shape.of(2, 4), DType.F32);
        Value b = g.input("b", Shape.of(2, 4), DType.F32);
        Value y = Functional.layerNorm(x, Shape.of(2, 4), w, b, 1e-5);
        Autodiff.grad(Ops.sum(Ops.mul(y, y), false), List.of(x, w, b));
        for (Op op : List.of(Op.LAYER_NORM, Op.LAYER_NORM_GRAD, Op.LAYER_NORM_WEIGHT_GRAD)) {
            assertEquals(1, g.nodes().stream().filter(n -> n.op() == op).count(), op + "\n" + g);
        }
        assertTrue(g.toString().contains("axes=2 eps=1.0E-5 weight bias"), g.toString());
    }

    // ------------------------------------------------------------------ PyTorch parity

    /** The inputs both sides build from the same formulas (computed in double, then rounded to the dtype). */
    private static final String PY_INPUTS = """
            CE_N, CE_C = 6, 11
            def ce_logits(): return [3 * math.sin(0.37 * i + 0.1) for i in range(CE_N * CE_C)]
            def ce_labels(): return [(7 * i + 3) % CE_C for i in range(CE_N)]
            def ln_x(n): return [2 * math.sin(0.23 * i - 0.4) + 0.5 for i in range(n)]
            def ln_w(n): return [1 + 0.1 * math.cos(0.9 * j) for j in range(n)]
            def ln_b(n): return [0.05 * j - 0.3 for j in range(n)]
            def ln_r(n): return [math.cos(0.61 * i) for i in range(n)]
            """;
    private static final int CE_N = 6;
    private static final int CE_C = 11;
    private static final double[] SMOOTHING = {0.0, 0.1, 0.3};
    /** Layer-norm cases: the input's shape and how many trailing axes are normalised. */
    private static final int[][] LN_SHAPES = {{4, 3, 10}, {5, 17}};
    private static final int[] LN_AXES = {2, 1};

    /**
     * {@code Functional.crossEntropy} with label smoothing and {@code Functional.layerNorm} with a
     * weight and bias over one and two trailing axes, forward and gradients (logits; x, weight and
     * bias through {@code sum(y * r)}), against {@code torch.nn.functional} in float64 and float32.
     */
    @Test
    void crossEntropyAndLayerNormMatchPyTorch(@TempDir Path dir) throws IOException, InterruptedException {
        Map<String, double[]> ref = torch(dir);
        Assumptions.assumeTrue(ref != null, "python3 with torch is not available, so there is no PyTorch to compare with");
        for (DType t : List.of(DType.F64, DType.F32)) {
            String dt = t == DType.F64 ? "float64" : "float32";
            double tol = t == DType.F64 ? 1e-10 : 2e-5;
            for (double s : SMOOTHING) {
                Graph g = new Graph("ce_torch");
                Value logits = g.input("logits", Shape.of(CE_N, CE_C), t);
                Value labels = g.input("labels", Shape.of(CE_N), DType.I64);
                Value loss = Functional.crossEntropy(logits, labels, s);
                Value grad = Autodiff.grad(loss, List.of(logits)).get(0);
                long[] l = new long[CE_N];
                for (int i = 0; i < CE_N; i++) {
                    l[i] = (7L * i + 3) % CE_C;
                }
                double[] x = formula(CE_N * CE_C, i -> 3 * Math.sin(0.37 * i + 0.1));
                try (Tensor xt = Tensor.of(x, t, CE_N, CE_C); Tensor lt = Tensor.ofLongs(l, CE_N);
                     Program p = Executor.cpu().compile(g, List.of(loss, grad))) {
                    List<Tensor> out = p.run(Map.of(logits, xt, labels, lt));
                    String key = "ce_" + dt + "_" + s;
                    assertClose(ref.get(key + "_loss"), out.get(0).toDoubleArray(), tol, key + " loss");
                    assertClose(ref.get(key + "_grad"), out.get(1).toDoubleArray(), tol, key + " dLogits");
                }
            }
            for (int c = 0; c < LN_SHAPES.length; c++) {
                Shape shape = Shape.of(LN_SHAPES[c]);
                int[] normDims = java.util.Arrays.copyOfRange(LN_SHAPES[c], LN_SHAPES[c].length - LN_AXES[c], LN_SHAPES[c].length);
                Shape norm = Shape.of(normDims);
                int n = (int) shape.numel();
                int d = (int) norm.numel();
                Graph g = new Graph("ln_torch");
                Value x = g.input("x", shape, t);
                Value w = g.input("w", norm, t);
                Value b = g.input("b", norm, t);
                Value r = g.input("r", shape, t);
                Value y = Functional.layerNorm(x, norm, w, b, 1e-5);
                List<Value> outs = new ArrayList<>(List.of(y));
                outs.addAll(Autodiff.grad(Ops.sum(Ops.mul(y, r), false), List.of(x, w, b)));
                try (Tensor xt = Tensor.of(formula(n, i -> 2 * Math.sin(0.23 * i - 0.4) + 0.5), t, shape.dims());
                     Tensor wt = Tensor.of(formula(d, j -> 1 + 0.1 * Math.cos(0.9 * j)), t, normDims);
                     Tensor bt = Tensor.of(formula(d, j -> 0.05 * j - 0.3), t, normDims);
                     Tensor rt = Tensor.of(formula(n, i -> Math.cos(0.61 * i)), t, shape.dims());
                     Program p = Executor.cpu().compile(g, outs)) {
                    List<Tensor> out = p.run(Map.of(x, xt, w, wt, b, bt, r, rt));
                    String key = "ln_" + dt + "_" + c;
                    String[] names = {"y", "dx", "dw", "db"};
                    for (int k = 0; k < names.length; k++) {
                        // the weight and bias gradients sum over the rows
                        double scale = k < 2 ? 1 : Math.sqrt((double) n / d);
                        assertClose(ref.get(key + "_" + names[k]), out.get(k).toDoubleArray(), tol * scale, key + " " + names[k]);
                    }
                }
            }
        }
    }

    private static double[] formula(int n, java.util.function.IntToDoubleFunction f) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = f.applyAsDouble(i);
        }
        return v;
    }

    /** PyTorch's values, one array per key, or null without python3 or torch. */
    private static Map<String, double[]> torch(Path dir) throws IOException, InterruptedException {
        StringBuilder cases = new StringBuilder();
        for (int c = 0; c < LN_SHAPES.length; c++) {
            cases.append("LN_CASES.append((").append(java.util.Arrays.toString(LN_SHAPES[c]).replace('[', '(').replace(']', ')'))
                    .append(", ").append(LN_AXES[c]).append("))\n");
        }
        String py = """
                import math, sys
                try:
                    import torch
                    import torch.nn.functional as F
                except ImportError:
                    print("missing torch"); sys.exit(0)
                %s
                LN_CASES = []
                %s
                def emit(key, t):
                    print(key + " " + " ".join(repr(v) for v in t.detach().double().flatten().tolist()))
                for dt, name in ((torch.float64, "float64"), (torch.float32, "float32")):
                    for s in %s:
                        x = torch.tensor(ce_logits(), dtype=dt).reshape(CE_N, CE_C).requires_grad_()
                        loss = F.cross_entropy(x, torch.tensor(ce_labels(), dtype=torch.int64), label_smoothing=s)
                        loss.backward()
                        key = "ce_%%s_%%s" %% (name, repr(s))
                        emit(key + "_loss", loss)
                        emit(key + "_grad", x.grad)
                    for c, (shape, axes) in enumerate(LN_CASES):
                        n = math.prod(shape)
                        norm = shape[len(shape) - axes:]
                        d = math.prod(norm)
                        x = torch.tensor(ln_x(n), dtype=dt).reshape(shape).requires_grad_()
                        w = torch.tensor(ln_w(d), dtype=dt).reshape(norm).requires_grad_()
                        b = torch.tensor(ln_b(d), dtype=dt).reshape(norm).requires_grad_()
                        r = torch.tensor(ln_r(n), dtype=dt).reshape(shape)
                        y = F.layer_norm(x, norm, w, b, eps=1e-5)
                        (y * r).sum().backward()
                        key = "ln_%%s_%%d" %% (name, c)
                        for k, v in (("y", y), ("dx", x.grad), ("dw", w.grad), ("db", b.grad)):
                            emit(key + "_" + k, v)
                """.formatted(PY_INPUTS, cases, java.util.Arrays.toString(SMOOTHING));
        Path script = dir.resolve("ce_ln_torch.py");
        Files.writeString(script, py);
        Process p;
        try {
            p = new ProcessBuilder("python3", script.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            return null;
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("python reference failed: " + text);
        }
        if (text.startsWith("missing torch")) {
            return null;
        }
        Map<String, double[]> ref = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.strip().split(" ");
            if (f.length < 2 || !(f[0].startsWith("ce_") || f[0].startsWith("ln_"))) {
                continue; // a warning
            }
            double[] v = new double[f.length - 1];
            for (int i = 1; i < f.length; i++) {
                v[i - 1] = Double.parseDouble(f[i]);
            }
            ref.put(f[0], v);
        }
        return ref;
    }
}
