package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.frugal.memory.Allocation;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.cpu.CpuBackend;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.precision.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Whole programs on {@link CudaBackend} over an emulated GPU ({@link HostDeviceApi}: device
 * memory in host memory, the generated kernels compiled by nvcc for the host, cuBLAS and cuDNN
 * emulated exactly in their own conventions) against the CPU backend: so the backend's planning
 * (slots, offsets, argument order, grids, GEMM and convolution parameters, bound tensors, copies
 * and staging) is checked without a GPU. Skipped without nvcc.
 */
class CudaBackendHostTest {
    private static Path nvcc;

    /** How the CUDA executor fuses: nothing, elementwise groups, or also groups that end in a reduction. */
    enum Mode {
        UNFUSED, FUSED, FUSED_REDUCTIONS;

        Executor executor(CudaBackend backend) {
            Executor e = new Executor(backend);
            return switch (this) {
                case UNFUSED -> e.withFusion(false);
                case FUSED -> e.withReductionFusion(false);
                case FUSED_REDUCTIONS -> e.withReductionFusion(true);
            };
        }
    }

    @BeforeAll
    static void findNvcc() {
        nvcc = HostHarness.nvccOrSkip();
    }

    // ================================================================== harness

    /** A fresh emulated device and a CUDA backend on it. */
    private static final class Gpu implements AutoCloseable {
        final HostDeviceApi device = new HostDeviceApi(nvcc);
        final CudaBackend backend = new CudaBackend(device);

        @Override
        public void close() {
            backend.close();
            assertEquals(List.of(), device.leaksAtClose(), "device allocations live when the backend closed");
        }
    }

    /** Runs a program once and copies its outputs. */
    private static List<double[]> runOnce(Executor executor, Graph g, List<Value> outputs, Map<Value, Tensor> feeds) {
        try (Program p = executor.compile(g, outputs)) {
            return copies(p.run(feeds));
        }
    }

    private static List<double[]> copies(List<Tensor> tensors) {
        List<double[]> out = new ArrayList<>();
        for (Tensor t : tensors) {
            out.add(t.toDoubleArray());
        }
        return out;
    }

    /**
     * Runs {@code outputs} of {@code g} on the CPU and on the emulated GPU in {@code mode} and
     * compares them output by output, each within {@code rel} of its dtype's scale.
     *
     * @return the emulated device's counters after the run (the backend is closed)
     */
    private static HostDeviceApi compare(String what, Mode mode, Graph g, List<Value> outputs, Map<Value, Tensor> feeds, double rel) {
        List<double[]> expected = runOnce(new Executor(new CpuBackend()), g, outputs, feeds);
        List<double[]> actual;
        HostDeviceApi device;
        try (Gpu gpu = new Gpu()) {
            device = gpu.device;
            actual = runOnce(mode.executor(gpu.backend), g, outputs, feeds);
        }
        for (int i = 0; i < outputs.size(); i++) {
            Value v = outputs.get(i);
            assertClose(what + " [" + mode + "] output " + i + " " + v.dtype() + v.shape() + " (" + v.node().op().printName() + ")",
                    expected.get(i), actual.get(i), v.dtype(), rel);
        }
        return device;
    }

    /**
     * Element by element: equal, both NaN, or within {@code rel * (|e| + max|expected|)} widened to
     * a few ulps of the dtype (a half result may round to a neighbour after float32 sums in
     * another order).
     */
    static void assertClose(String what, double[] expected, double[] actual, DType t, double rel) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (double e : expected) {
            if (Double.isFinite(e)) {
                scale = Math.max(scale, Math.abs(e));
            }
        }
        double ulps = switch (t) {
            case F16 -> 2 * 0x1p-10;
            case BF16 -> 2 * 0x1p-7;
            default -> 0;
        };
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            if (Double.isNaN(e) || Double.isNaN(a)) {
                if (!(Double.isNaN(e) && Double.isNaN(a))) {
                    fail(what + ": element " + i + " expected " + e + " but was " + a);
                }
                continue;
            }
            if (e == a) {
                continue;
            }
            double tol = rel * (Math.abs(e) + scale) + ulps * Math.abs(e);
            if (!(Math.abs(e - a) <= tol)) {
                fail(what + ": element " + i + " of " + expected.length + " expected " + e + " but was " + a + " (tolerance " + tol + ")");
            }
        }
    }

    /** That the device launched a generated kernel of each op (named {@code op_HASH}). */
    private static void assertLaunched(HostDeviceApi d, String... ops) {
        for (String op : ops) {
            assertTrue(d.launchesByKernel().keySet().stream().anyMatch(k -> k.matches(op + "_[0-9a-f]{12}")),
                    () -> "no " + op + " kernel launched: " + d.launchesByKernel().keySet());
        }
    }

    private static void assertBits(String what, double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Double.doubleToLongBits(expected[i]) != Double.doubleToLongBits(actual[i])) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i] + " (bit for bit)");
            }
        }
    }

    private static Tensor random(SplittableRandom r, DType t, int... dims) {
        double[] v = new double[(int) Shape.of(dims).numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Tensor.of(v, t, dims);
    }

    private static Tensor ids(SplittableRandom r, int bound, DType t, int... dims) {
        double[] v = new double[(int) Shape.of(dims).numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextInt(bound);
        }
        return Tensor.of(v, t, dims);
    }

    /** Feeds a random tensor for every data input of {@code g} that {@code special} does not give. */
    private static Map<Value, Tensor> feeds(Graph g, SplittableRandom r, Map<Value, Tensor> special) {
        Map<Value, Tensor> feeds = new LinkedHashMap<>(special);
        for (Value in : g.inputs()) {
            if (!feeds.containsKey(in)) {
                feeds.put(in, random(r, in.dtype(), in.shape().dims()));
            }
        }
        return feeds;
    }

    /** {@code sum(y * r)} with a fresh random input r: a loss whose gradient with respect to y is r. */
    private static Value weightedSum(Value y, String name) {
        Value r = y.graph().input(name, y.shape(), y.dtype());
        return Ops.sum(Ops.mul(y, r), false);
    }

    private static List<Value> concat(List<Value> a, List<Value> b) {
        List<Value> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    // ================================================================== ops

    @ParameterizedTest
    @EnumSource(Mode.class)
    void elementwiseWithBroadcasting(Mode mode) {
        for (DType t : List.of(DType.F32, DType.F16, DType.BF16)) {
            Graph g = new Graph("elementwise-" + t);
            Value a = g.input("a", Shape.of(4, 1, 5), t);
            Value b = g.input("b", Shape.of(3, 1), t);
            Value c = g.input("c", Shape.of(5), t);
            Value y = Ops.add(a, Ops.mul(b, c)); // [4, 3, 5]
            Value z = Ops.where(Ops.gt(y, Ops.constant(g, 0.25, t)), Ops.exp(Ops.neg(y)), Ops.mul(Ops.sigmoid(b), Ops.tanh(c)));
            Value w = Ops.sub(Ops.relu(y), Ops.sqrt(Ops.abs(c)));
            Value q = Ops.div(Ops.maximum(a, c), Ops.add(Ops.abs(b), Ops.constant(g, 1, t)));
            Value cmp = Ops.le(a, b); // bool [4, 3, 5]
            Value cast = Ops.cast(y, t == DType.F32 ? DType.F16 : DType.F32);
            Value e = Ops.erf(Ops.mul(y, Ops.rsqrt(Ops.add(Ops.mul(c, c), Ops.constant(g, 1, t)))));
            Value expanded = Ops.expand(c, Shape.of(2, 3, 5));
            List<Value> outs = List.of(y, z, w, q, cmp, cast, e, expanded);
            compare("elementwise " + t, mode, g, outs, feeds(g, new SplittableRandom(1), Map.of()), t == DType.F32 ? 1e-6 : 1e-3);
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void reductionsOverAxesAndOddSizes(Mode mode) {
        for (DType t : List.of(DType.F32, DType.BF16)) {
            Graph g = new Graph("reductions-" + t);
            Value x = g.input("x", Shape.of(33, 257), t);
            Value rows = g.input("rows", Shape.of(1000, 7), t);
            Value cube = g.input("cube", Shape.of(3, 5, 17, 4), t);
            List<Value> outs = List.of(
                    Ops.sum(x, false, 0), Ops.sum(x, false, 1), Ops.max(x, true, 1), Ops.min(x, false, 0), Ops.mean(x, false),
                    Ops.sum(rows, false, 1), Ops.sum(rows, false, 0), Ops.max(rows, false, 0, 1),
                    Ops.sum(cube, false, 0, 2), Ops.max(cube, true, 1, 3), Ops.mean(cube, false, 3),
                    // reductions fusion can swallow: the sum of a computed value, softmax
                    Ops.sum(Ops.mul(Ops.exp(x), Ops.constant(g, 0.5, t)), false, 1),
                    Functional.softmax(rows, 1), Functional.logSoftmax(x, 0),
                    Ops.argmax(cube, 2, false));
            HostDeviceApi d = compare("reductions " + t, mode, g, outs, feeds(g, new SplittableRandom(2), Map.of()),
                    t == DType.F32 ? 1e-5 : 1e-2);
            assertLaunched(d, "argmax");
            assertTrue(d.launchLog().stream().allMatch(l -> l.blocks() <= 2 * GeneratedKernelCall.BLOCKS_PER_MULTIPROCESSOR),
                    () -> "grids not capped: " + d.launchLog());
        }
    }

    @Test
    void gridsAreCappedAndStillCoverEveryItem() {
        Graph g = new Graph("big");
        Value x = g.input("x", Shape.of(300, 411), DType.F32);
        Value y = Ops.mul(Ops.exp(x), Ops.constant(g, 3, DType.F32));
        Value s = Ops.sum(x, false, 1);
        HostDeviceApi d = compare("big", Mode.FUSED, g, List.of(y, s), feeds(g, new SplittableRandom(3), Map.of()), 1e-5);
        int cap = 2 * GeneratedKernelCall.BLOCKS_PER_MULTIPROCESSOR;
        assertTrue(d.launchLog().stream().anyMatch(l -> l.blocks() == cap && l.threads() == GeneratedKernelCall.ITEM_THREADS),
                () -> d.launchLog().toString());
        assertTrue(d.launchLog().stream().anyMatch(l -> l.blocks() == cap && l.threads() == ReductionCodegen.THREADS),
                () -> d.launchLog().toString());
    }

    private record MatmulCase(int[] a, int[] b, boolean ta, boolean tb) {
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "F64"})
    void matmulWithTransposesBatchesAndBroadcasts(DType t) {
        List<MatmulCase> cases = List.of(
                new MatmulCase(new int[] {7, 5}, new int[] {5, 9}, false, false),
                new MatmulCase(new int[] {5, 7}, new int[] {5, 9}, true, false),
                new MatmulCase(new int[] {7, 5}, new int[] {9, 5}, false, true),
                new MatmulCase(new int[] {5, 7}, new int[] {9, 5}, true, true),
                new MatmulCase(new int[] {4, 7, 5}, new int[] {4, 5, 9}, false, false),
                new MatmulCase(new int[] {4, 5, 7}, new int[] {4, 9, 5}, true, true),
                new MatmulCase(new int[] {4, 7, 5}, new int[] {5, 9}, false, false), // b broadcast: stride 0
                new MatmulCase(new int[] {7, 5}, new int[] {3, 9, 5}, false, true), // a broadcast
                new MatmulCase(new int[] {1, 7, 5}, new int[] {2, 3, 5, 9}, false, false), // a broadcast over two batch axes
                new MatmulCase(new int[] {2, 3, 4, 5}, new int[] {3, 5, 6}, false, false), // per-matrix offsets
                new MatmulCase(new int[] {2, 1, 5, 4}, new int[] {1, 3, 6, 5}, true, true), // per-matrix, both broadcast
                new MatmulCase(new int[] {3, 1, 4, 5}, new int[] {2, 5, 6}, false, false),
                new MatmulCase(new int[] {1, 1}, new int[] {1, 1}, false, false),
                new MatmulCase(new int[] {6, 1}, new int[] {1, 8}, false, false)); // k = 1
        Graph g = new Graph("matmul-" + t);
        List<Value> outs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            MatmulCase c = cases.get(i);
            Value a = g.input("a" + i, Shape.of(c.a()), t);
            Value b = g.input("b" + i, Shape.of(c.b()), t);
            outs.add(Ops.matmul(a, b, c.ta(), c.tb()));
        }
        double rel = switch (t) {
            case F64 -> 1e-13;
            case F32 -> 1e-5;
            default -> 2e-3;
        };
        HostDeviceApi d = compare("matmul " + t, Mode.FUSED, g, outs, feeds(g, new SplittableRandom(4), Map.of()), rel);
        // the per-matrix path made single GEMMs; the uniform ones strided batches with a broadcast stride 0
        assertTrue(d.gemmLog().stream().anyMatch(c -> c.batch() == 4 && (c.strideA() == 0 || c.strideB() == 0)), () -> d.gemmLog().toString());
        assertTrue(d.gemms() > cases.size(), "per-matrix GEMMs: " + d.gemms());
    }

    @Test
    void matmulGradientsThroughAutodiff() {
        Graph g = new Graph("matmul-grad");
        Value a = g.input("a", Shape.of(2, 3, 4, 5), DType.F32);
        Value b = g.input("b", Shape.of(3, 5, 6), DType.F32);
        Value c = g.input("c", Shape.of(5, 6), DType.F32);
        Value y = Ops.matmul(Ops.matmul(a, b), c, false, true);
        Value loss = weightedSum(y, "r");
        List<Value> grads = Autodiff.grad(loss, List.of(a, b, c));
        for (Mode mode : Mode.values()) {
            compare("matmul grads", mode, g, concat(List.of(loss, y), grads), feeds(g, new SplittableRandom(5), Map.of()), 1e-5);
        }
    }

    private record ConvCase(int[] x, int[] w, OpAttrs.Conv2d geometry) {
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void convolutionAndBothGradientsThroughAutodiff(DType t) {
        List<ConvCase> cases = List.of(
                new ConvCase(new int[] {2, 4, 9, 11}, new int[] {6, 2, 3, 3}, new OpAttrs.Conv2d(2, 1, 1, 2, 2, 1, 2)),
                new ConvCase(new int[] {2, 4, 8, 7}, new int[] {4, 1, 3, 3}, new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 4)), // depthwise
                new ConvCase(new int[] {3, 5, 6, 6}, new int[] {7, 5, 1, 1}, new OpAttrs.Conv2d(1, 1, 0, 0, 1, 1, 1)), // pointwise
                new ConvCase(new int[] {1, 3, 10, 9}, new int[] {4, 3, 4, 2}, new OpAttrs.Conv2d(3, 2, 0, 1, 1, 3, 1)));
        for (int i = 0; i < cases.size(); i++) {
            ConvCase c = cases.get(i);
            Graph g = new Graph("conv" + i + "-" + t);
            Value x = g.input("x", Shape.of(c.x()), t);
            Value w = g.input("w", Shape.of(c.w()), t);
            Value y = Ops.conv2d(x, w, c.geometry());
            Value loss = weightedSum(y, "r");
            List<Value> grads = Autodiff.grad(loss, List.of(x, w));
            HostDeviceApi d = compare("conv " + i + " " + c.geometry() + " " + t, Mode.FUSED_REDUCTIONS, g, concat(List.of(y), grads),
                    feeds(g, new SplittableRandom(6 + i), Map.of()), t == DType.F32 ? 1e-5 : 1e-2);
            assertEquals(3, d.convolutionRuns(), "forward, backward data and backward filter");
            assertEquals(3, d.convolutionChoices());
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void softmaxCrossEntropyAndItsGradient(Mode mode) {
        for (DType t : List.of(DType.F32, DType.F16)) {
            for (double smoothing : new double[] {0, 0.1}) {
                Graph g = new Graph("ce");
                Value logits = g.input("logits", Shape.of(13, 37), t);
                Value labels = g.input("labels", Shape.of(13), DType.I32);
                Value loss = Functional.crossEntropy(logits, labels, smoothing);
                List<Value> grads = Autodiff.grad(loss, List.of(logits));
                SplittableRandom r = new SplittableRandom(7);
                HostDeviceApi d = compare("cross-entropy " + t + " smoothing " + smoothing, mode, g, concat(List.of(loss), grads),
                        feeds(g, r, Map.of(labels, ids(r, 37, DType.I32, 13))), t == DType.F32 ? 1e-5 : 2e-3);
                assertLaunched(d, "softmax_cross_entropy", "softmax_cross_entropy_grad");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void layerNormAndItsGradients(Mode mode) {
        for (DType t : List.of(DType.F32, DType.BF16)) {
            for (Shape normalized : List.of(Shape.of(48), Shape.of(5, 48))) {
                Graph g = new Graph("layer-norm");
                Value x = g.input("x", Shape.of(6, 5, 48), t);
                Value w = g.input("w", normalized, t);
                Value b = g.input("b", normalized, t);
                Value y = Functional.layerNorm(x, normalized, w, b, 1e-5);
                Value loss = weightedSum(y, "r");
                List<Value> grads = Autodiff.grad(loss, List.of(x, w, b));
                HostDeviceApi d = compare("layer norm " + t + " over " + normalized, mode, g, concat(List.of(y), grads),
                        feeds(g, new SplittableRandom(8), Map.of()), t == DType.F32 ? 1e-5 : 1e-2);
                assertLaunched(d, "layer_norm", "layer_norm_grad", "layer_norm_weight_grad");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void attentionForwardAndBackward(Mode mode) {
        for (DType t : List.of(DType.F32, DType.BF16)) {
            for (boolean causal : new boolean[] {true, false}) {
                Graph g = new Graph("attention");
                Shape s = Shape.of(2, 3, 17, 8);
                Value q = g.input("q", s, t);
                Value k = g.input("k", s, t);
                Value v = g.input("v", s, t);
                Value out = Functional.scaledDotProductAttention(q, k, v, causal);
                Value loss = weightedSum(out, "r");
                List<Value> grads = Autodiff.grad(loss, List.of(q, k, v));
                HostDeviceApi d = compare("attention " + t + (causal ? " causal" : ""), mode, g, concat(List.of(out), grads),
                        feeds(g, new SplittableRandom(9), Map.of()), t == DType.F32 ? 2e-5 : 2e-2);
                assertLaunched(d, "attention", "attention_grad");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void poolingAndItsGradients(Mode mode) {
        Graph g = new Graph("pooling");
        Value x = g.input("x", Shape.of(2, 3, 11, 10), DType.F32);
        Value max = Ops.maxPool2d(x, new OpAttrs.Pool2d(3, 3, 2, 2, 1, 1, false));
        Value avg = Ops.avgPool2d(x, new OpAttrs.Pool2d(2, 3, 2, 1, 1, 1, true));
        Value avgExcl = Ops.avgPool2d(x, new OpAttrs.Pool2d(3, 2, 1, 2, 1, 0, false));
        Value loss = Ops.add(Ops.add(weightedSum(max, "r1"), weightedSum(avg, "r2")), weightedSum(avgExcl, "r3"));
        List<Value> grads = Autodiff.grad(loss, List.of(x));
        HostDeviceApi d = compare("pooling", mode, g, concat(List.of(max, avg, avgExcl), grads), feeds(g, new SplittableRandom(10), Map.of()),
                1e-5);
        assertLaunched(d, "max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad");
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void gatherScatterAddAndEmbedding(Mode mode) {
        Graph g = new Graph("indexing");
        Value table = g.input("table", Shape.of(11, 6), DType.F32);
        Value tokens = g.input("tokens", Shape.of(3, 4), DType.I32);
        Value x = g.input("x", Shape.of(5, 7, 3), DType.F32);
        Value idx = g.input("idx", Shape.of(4), DType.I64);
        Value src = g.input("src", Shape.of(5, 4, 3), DType.F32);
        Value emb = Functional.embedding(table, tokens);
        Value gathered = Ops.gather(x, idx, 1);
        Value scattered = Ops.scatterAdd(src, idx, 1, Shape.of(5, 7, 3));
        Value loss = Ops.add(weightedSum(emb, "r1"), weightedSum(gathered, "r2"));
        List<Value> grads = Autodiff.grad(loss, List.of(table, x));
        SplittableRandom r = new SplittableRandom(11);
        Map<Value, Tensor> special = new LinkedHashMap<>();
        special.put(tokens, ids(r, 11, DType.I32, 3, 4));
        special.put(idx, Tensor.of(new double[] {6, 1, 6, 0}, DType.I64, 4)); // a repeated index: scatter-add sums
        HostDeviceApi d = compare("indexing", mode, g, concat(List.of(emb, gathered, scattered), grads), feeds(g, r, special), 1e-6);
        assertLaunched(d, "gather", "scatter_add");
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void movementOps(Mode mode) {
        Graph g = new Graph("movement");
        Value x = g.input("x", Shape.of(3, 4, 5), DType.F32);
        Value y = g.input("y", Shape.of(3, 2, 5), DType.BF16);
        Value perm = Ops.permute(x, 2, 0, 1);
        Value sliced = Ops.slice(x, 1, 1, 4, 2);
        Value padded = Ops.pad(x, new int[] {0, 1, 2}, new int[] {1, 0, 1});
        Value joined = Ops.concat(1, x, Ops.cast(y, DType.F32));
        Value shaped = Ops.reshape(Ops.permute(x, 1, 0, 2), 4, 15);
        Value loss = Ops.add(weightedSum(perm, "r1"), Ops.add(weightedSum(padded, "r2"), weightedSum(joined, "r3")));
        List<Value> grads = Autodiff.grad(loss, List.of(x));
        compare("movement", mode, g, concat(List.of(perm, sliced, padded, joined, shaped, Ops.transpose(y)), grads),
                feeds(g, new SplittableRandom(12), Map.of()), 1e-6);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void dropoutDrawsTheCpuBitsExactly(Mode mode) {
        Graph g = new Graph("dropout");
        Value x = g.input("x", Shape.of(37, 29), DType.F32);
        Value offset = g.input("offset", Shape.of(), DType.I64);
        Value u = Ops.randomUniform(offset, Shape.of(5, 41), 1234, 7);
        Value y = Functional.dropout(x, 0.3, true, offset, 99, 3);
        Value loss = weightedSum(y, "r");
        List<Value> grads = Autodiff.grad(loss, List.of(x));
        List<Value> outs = concat(List.of(u, y), grads);
        for (long off : new long[] {0, 5, (1L << 33) + 3}) {
            Map<Value, Tensor> feeds = feeds(g, new SplittableRandom(13), Map.of(offset, Tensor.ofLongs(new long[] {off})));
            List<double[]> expected = runOnce(new Executor(new CpuBackend()), g, outs, feeds);
            try (Gpu gpu = new Gpu()) {
                List<double[]> actual = runOnce(mode.executor(gpu.backend), g, outs, feeds);
                for (int i = 0; i < outs.size(); i++) {
                    assertBits("dropout [" + mode + "] offset " + off + " output " + i, expected.get(i), actual.get(i));
                }
            }
        }
    }

    // ================================================================== training steps

    /** A model: its graph, parameters and state with their initial values, data inputs, and the step's loss. */
    private record Model(Graph graph, Map<Value, Tensor> initial, Value loss, Function<SplittableRandom, Map<Value, Tensor>> batch) {
    }

    /** SGD with momentum on every parameter: {@code v = 0.9 v + g; p -= lr v}, as ASSIGNs. */
    private static Map<Value, Tensor> sgd(Graph g, Value loss, Map<Value, Tensor> params) {
        List<Value> ps = new ArrayList<>(params.keySet());
        List<Value> grads = Autodiff.grad(loss, ps);
        Map<Value, Tensor> all = new LinkedHashMap<>(params);
        for (int i = 0; i < ps.size(); i++) {
            Value p = ps.get(i);
            Value v = g.state("momentum." + p.ref(), p.shape(), p.dtype());
            all.put(v, Tensor.zeros(p.shape(), p.dtype()));
            Value vNew = Ops.add(Ops.mul(v, Ops.constant(g, 0.9, p.dtype())), grads.get(i));
            Ops.assign(v, vNew);
            Ops.assign(p, Ops.sub(p, Ops.mul(vNew, Ops.constant(g, 0.05, p.dtype()))));
        }
        return all;
    }

    private static Value param(Graph g, Map<Value, Tensor> params, SplittableRandom r, String name, double scale, int... dims) {
        Value p = g.parameter(name, Shape.of(dims), DType.F32);
        double[] v = new double[(int) Shape.of(dims).numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian() * scale;
        }
        params.put(p, Tensor.of(v, DType.F32, dims));
        return p;
    }

    private static Model mlp() {
        SplittableRandom r = new SplittableRandom(20);
        Graph g = new Graph("mlp");
        Map<Value, Tensor> params = new LinkedHashMap<>();
        Value x = g.input("x", Shape.of(8, 20), DType.F32);
        Value labels = g.input("labels", Shape.of(8), DType.I32);
        Value h = Ops.relu(Functional.linear(x, param(g, params, r, "w1", 0.2, 32, 20), param(g, params, r, "b1", 0.1, 32)));
        Value h2 = Functional.gelu(Functional.linear(h, param(g, params, r, "w2", 0.2, 24, 32), param(g, params, r, "b2", 0.1, 24)));
        Value logits = Functional.linear(h2, param(g, params, r, "w3", 0.2, 10, 24), param(g, params, r, "b3", 0.1, 10));
        Value loss = Functional.crossEntropy(logits, labels);
        Map<Value, Tensor> initial = sgd(g, loss, params);
        return new Model(g, initial, loss, rr -> Map.of(x, random(rr, DType.F32, 8, 20), labels, ids(rr, 10, DType.I32, 8)));
    }

    private static Model cnn() {
        SplittableRandom r = new SplittableRandom(21);
        Graph g = new Graph("cnn");
        Map<Value, Tensor> params = new LinkedHashMap<>();
        Value x = g.input("images", Shape.of(4, 3, 12, 12), DType.F32);
        Value labels = g.input("labels", Shape.of(4), DType.I32);
        Value c1 = Ops.conv2d(x, param(g, params, r, "conv1", 0.3, 8, 3, 3, 3), new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 1));
        Value gamma = param(g, params, r, "bn.weight", 0.1, 8);
        Value beta = param(g, params, r, "bn.bias", 0.1, 8);
        Value runningMean = g.state("bn.running_mean", Shape.of(8), DType.F32);
        Value runningVar = g.state("bn.running_var", Shape.of(8), DType.F32);
        Functional.BatchNormResult bn = Functional.batchNorm2dTrain(c1, gamma, beta, runningMean, runningVar, 0.1, 1e-5);
        Ops.assign(runningMean, bn.runningMean());
        Ops.assign(runningVar, bn.runningVar());
        Value h = Ops.maxPool2d(Ops.relu(bn.output()), new OpAttrs.Pool2d(2, 2, 2, 2, 0, 0, false)); // [4, 8, 6, 6]
        Value dw = Ops.conv2d(h, param(g, params, r, "dw", 0.3, 8, 1, 3, 3), new OpAttrs.Conv2d(2, 2, 1, 1, 1, 1, 8)); // [4, 8, 3, 3]
        Value silu = Functional.silu(dw);
        Value pooled = Functional.mean(silu, false, 2, 3); // [4, 8]
        Value logits = Functional.linear(Functional.flatten(Ops.add(Ops.reshape(pooled, 4, 8, 1, 1), Ops.avgPool2d(dw,
                new OpAttrs.Pool2d(3, 3, 3, 3, 0, 0, true)))), param(g, params, r, "fc", 0.3, 10, 8), param(g, params, r, "fc.bias", 0.1, 10));
        Value loss = Functional.crossEntropy(logits, labels);
        Map<Value, Tensor> initial = sgd(g, loss, params);
        initial.put(runningMean, Tensor.zeros(Shape.of(8), DType.F32));
        initial.put(runningVar, Tensor.full(Shape.of(8), DType.F32, 1));
        return new Model(g, initial, loss, rr -> Map.of(x, random(rr, DType.F32, 4, 3, 12, 12), labels, ids(rr, 10, DType.I32, 4)));
    }

    private static Model gpt() {
        SplittableRandom r = new SplittableRandom(22);
        Graph g = new Graph("gpt");
        Map<Value, Tensor> params = new LinkedHashMap<>();
        int batch = 2;
        int t = 9;
        int d = 16;
        int heads = 2;
        int vocab = 13;
        Value tokens = g.input("tokens", Shape.of(batch, t), DType.I32);
        Value targets = g.input("targets", Shape.of(batch * t), DType.I32);
        Value offset = g.input("offset", Shape.of(), DType.I64);
        Value wte = param(g, params, r, "wte", 0.3, vocab, d);
        Value wpe = param(g, params, r, "wpe", 0.3, t, d);
        Value h = Ops.add(Functional.embedding(wte, tokens), wpe); // [B, T, D]
        Value ln = Functional.layerNorm(h, Shape.of(d), param(g, params, r, "ln1.w", 0.1, d), param(g, params, r, "ln1.b", 0.1, d), 1e-5);
        Value qkv = Functional.linear(ln, param(g, params, r, "qkv", 0.2, 3 * d, d), param(g, params, r, "qkv.b", 0.05, 3 * d));
        Value heads4 = Ops.permute(Ops.reshape(qkv, batch, t, 3, heads, d / heads), 2, 0, 3, 1, 4); // [3, B, H, T, D/H]
        Value q = Ops.reshape(Ops.slice(heads4, 0, 0, 1, 1), batch, heads, t, d / heads);
        Value k = Ops.reshape(Ops.slice(heads4, 0, 1, 2, 1), batch, heads, t, d / heads);
        Value v = Ops.reshape(Ops.slice(heads4, 0, 2, 3, 1), batch, heads, t, d / heads);
        Value att = Functional.scaledDotProductAttention(q, k, v, true);
        Value merged = Ops.reshape(Ops.permute(att, 0, 2, 1, 3), batch, t, d);
        Value proj = Functional.linear(merged, param(g, params, r, "proj", 0.2, d, d), null);
        Value h2 = Ops.add(h, Functional.dropout(proj, 0.2, true, offset, 5, 1));
        Value ln2 = Functional.layerNorm(h2, Shape.of(d), param(g, params, r, "ln2.w", 0.1, d), param(g, params, r, "ln2.b", 0.1, d), 1e-5);
        Value mlp = Functional.linear(Functional.gelu(Functional.linear(ln2, param(g, params, r, "fc1", 0.2, 4 * d, d), null)),
                param(g, params, r, "fc2", 0.2, d, 4 * d), null);
        Value h3 = Ops.add(h2, mlp);
        Value logits = Ops.matmul(Ops.reshape(h3, batch * t, d), wte, false, true); // tied embedding
        Value loss = Functional.crossEntropy(logits, targets);
        Map<Value, Tensor> initial = sgd(g, loss, params);
        int[] step = {0};
        return new Model(g, initial, loss, rr -> Map.of(tokens, ids(rr, vocab, DType.I32, batch, t), targets, ids(rr, vocab, DType.I32, batch * t),
                offset, Tensor.ofLongs(new long[] {(long) step[0]++ * batch * t * d})));
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void mlpTrainingStepsMatchTheCpu(Mode mode) {
        trainAndCompare(mlp(), mode, e -> e, 1e-5);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void cnnTrainingStepsMatchTheCpu(Mode mode) {
        trainAndCompare(cnn(), mode, e -> e, 1e-4);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void gptTrainingStepsMatchTheCpu(Mode mode) {
        trainAndCompare(gpt(), mode, e -> e, 1e-4);
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "BF16"})
    void mixedPrecisionTrainingStepsMatchTheCpu(Precision precision) {
        double rel = precision == Precision.FP16 ? 5e-3 : 3e-2;
        trainAndCompare(gpt(), Mode.FUSED_REDUCTIONS, e -> e.withAutocast(precision).withNonFiniteCheck(false), rel);
        trainAndCompare(cnn(), Mode.FUSED_REDUCTIONS, e -> e.withAutocast(precision).withNonFiniteCheck(false), rel);
    }

    /** Under a memory budget forward activations are recomputed in the backward pass (slots rebound to recompute regions). */
    @Test
    void checkpointedTrainingStepsMatchTheCpu() {
        Model model = gpt();
        long budget = checkpointingBudget(model);
        trainAndCompare(model, Mode.FUSED_REDUCTIONS, e -> e.backend() instanceof CudaBackend ? e.withMemoryBudget(budget) : e, 1e-4);
    }

    /** A device memory budget between the smallest feasible peak and the unplanned one, so some forward values are recomputed. */
    private static long checkpointingBudget(Model model) {
        try (Gpu gpu = new Gpu()) {
            Executor planner = Mode.FUSED_REDUCTIONS.executor(gpu.backend);
            MemoryPlan unplanned = planner.plan(model.graph(), List.of(model.loss()));
            MemoryPlan impossible = planner.withMemoryBudget(unplanned.boundBytes()).plan(model.graph(), List.of(model.loss()));
            long smallest = impossible.smallestPeakBytes();
            assertTrue(smallest > 0 && smallest < unplanned.predictedPeakBytes(), impossible::explain);
            long budget = (smallest + unplanned.predictedPeakBytes()) / 2;
            MemoryPlan planned = planner.withMemoryBudget(budget).plan(model.graph(), List.of(model.loss()));
            assertTrue(planned.fits() && planned.checkpointed(), planned::explain);
            return budget;
        }
    }

    // ================================================================== recorded steps (CUDA graphs)

    /** One device program training a model, with its bound state. */
    private static final class Trained implements AutoCloseable {
        final Gpu gpu = new Gpu();
        final Map<Value, Tensor> state;
        final Program program;

        Trained(Model model, boolean replay, Function<Executor, Executor> config) {
            state = copiesOf(model.initial());
            program = config.apply(Mode.FUSED_REDUCTIONS.executor(gpu.backend).withStepReplay(replay)).compile(model.graph(), List.of(model.loss()));
            state.forEach(program::bind);
        }

        double step(Map<Value, Tensor> feeds) {
            return program.run(feeds).getFirst().getFlat(0);
        }

        Map<Value, double[]> stateOnHost() {
            gpu.backend.copyWrappedToHost();
            Map<Value, double[]> values = new LinkedHashMap<>();
            state.forEach((v, t) -> values.put(v, t.toDoubleArray()));
            return values;
        }

        @Override
        public void close() {
            program.close();
            closeAll(state);
            gpu.close();
        }
    }

    /**
     * Six training steps replaying the recorded third give bit for bit the losses and parameters
     * of six steps run call by call, for dense, convolutional and attention models and for a
     * program whose slots are rebound to recompute regions under a memory budget.
     */
    @Test
    void replayedStepsAreBitIdenticalToCallByCallSteps() {
        Model budgeted = gpt();
        long budget = checkpointingBudget(budgeted);
        record Case(String name, Model model, Function<Executor, Executor> config) {
        }
        List<Case> cases = List.of(new Case("mlp", mlp(), e -> e), new Case("cnn", cnn(), e -> e), new Case("gpt", gpt(), e -> e),
                new Case("gpt under a memory budget", budgeted, e -> e.withMemoryBudget(budget)),
                new Case("gpt in fp16", gpt(), e -> e.withAutocast(Precision.FP16).withNonFiniteCheck(false)));
        for (Case c : cases) {
            try (Trained replayed = new Trained(c.model(), true, c.config());
                 Trained streamed = new Trained(c.model(), false, c.config())) {
                SplittableRandom data = new SplittableRandom(41);
                for (int step = 0; step < 6; step++) {
                    Map<Value, Tensor> feeds = c.model().batch().apply(data);
                    double expected = streamed.step(feeds);
                    double actual = replayed.step(feeds);
                    closeAll(feeds);
                    assertBits(c.name() + " loss of step " + step, new double[] {expected}, new double[] {actual});
                }
                Map<Value, double[]> expected = streamed.stateOnHost();
                Map<Value, double[]> actual = replayed.stateOnHost();
                for (Value v : expected.keySet()) {
                    assertBits(c.name() + " " + v.ref() + " after 6 steps", expected.get(v), actual.get(v));
                }
                assertEquals(1, replayed.gpu.device.captures(), c.name());
                assertEquals(4, replayed.gpu.device.replays(), c.name());
                assertEquals(0, streamed.gpu.device.replays(), c.name());
                assertEquals(replayed.gpu.device.launches(), streamed.gpu.device.launches(), c.name() + ": a replay runs every recorded launch");
            } finally {
                closeAll(c.model().initial());
            }
        }
    }

    /**
     * Binding another tensor drops the recording (it holds the old tensor's address): the next two
     * steps run call by call, the third records again, and every step still matches a program that
     * never records.
     */
    @Test
    void bindingAnotherTensorDropsTheRecording() {
        Model model = mlp();
        Value w1 = model.initial().keySet().iterator().next();
        try (Trained replayed = new Trained(model, true, e -> e);
             Trained streamed = new Trained(model, false, e -> e);
             Tensor fresh = halved(model.initial().get(w1));
             Tensor freshCopy = halved(model.initial().get(w1))) {
            SplittableRandom data = new SplittableRandom(42);
            long[] replaysAfterStep = new long[8];
            for (int step = 0; step < 8; step++) {
                if (step == 4) {
                    replayed.program.bind(w1, fresh);
                    streamed.program.bind(w1, freshCopy);
                }
                Map<Value, Tensor> feeds = model.batch().apply(data);
                double expected = streamed.step(feeds);
                double actual = replayed.step(feeds);
                closeAll(feeds);
                assertBits("mlp loss of step " + step, new double[] {expected}, new double[] {actual});
                replaysAfterStep[step] = replayed.gpu.device.replays();
            }
            // steps 0, 1 call by call; 2 recorded and replayed; 3 replayed; rebind; 4, 5 call by call; 6 recorded; 7 replayed
            assertArrayEquals(new long[] {0, 0, 1, 2, 2, 2, 3, 4}, replaysAfterStep);
            assertEquals(2, replayed.gpu.device.captures());
        } finally {
            closeAll(model.initial());
        }
    }

    private static Tensor halved(Tensor t) {
        double[] values = t.toDoubleArray();
        for (int i = 0; i < values.length; i++) {
            values[i] *= 0.5;
        }
        return Tensor.of(values, t.dtype(), t.shape().dims());
    }

    /**
     * What the GPU suite checks on a real device, here on the emulated one: six steps of each
     * parity training case replaying the recorded third step, bit for bit against six steps run
     * call by call on the same backend ({@link Executor#withStepReplay}).
     */
    @TestFactory
    Stream<DynamicTest> parityTrainingCasesReplayBitIdentically() {
        return OpParityCases.trainingSteps().stream().map(tc -> DynamicTest.dynamicTest(tc.name(), () -> {
            try (Gpu gpu = new Gpu()) {
                Executor cuda = new Executor(gpu.backend);
                BackendParity.compareTraining(tc, cuda.withStepReplay(false), cuda, 6, 0);
                assertEquals(1, gpu.device.captures(), tc.name());
                assertEquals(4, gpu.device.replays(), tc.name());
            }
        }));
    }

    /** When the calls cannot be recorded the program says so once and runs every step call by call, with the same results. */
    @Test
    void aRecordingThatFailsFallsBackToCallByCall() {
        Model model = cnn();
        try (Trained failing = new Trained(model, true, e -> e);
             Trained streamed = new Trained(model, false, e -> e)) {
            failing.gpu.device.failCaptures("a call the emulated graph cannot hold");
            SplittableRandom data = new SplittableRandom(43);
            for (int step = 0; step < 6; step++) {
                Map<Value, Tensor> feeds = model.batch().apply(data);
                double expected = streamed.step(feeds);
                double actual = failing.step(feeds);
                closeAll(feeds);
                assertBits("cnn loss of step " + step, new double[] {expected}, new double[] {actual});
            }
            assertEquals(0, failing.gpu.device.replays());
            assertEquals(failing.gpu.device.launches(), streamed.gpu.device.launches());
        } finally {
            closeAll(model.initial());
        }
    }

    private static Map<Value, Tensor> copiesOf(Map<Value, Tensor> tensors) {
        Map<Value, Tensor> c = new LinkedHashMap<>();
        tensors.forEach((v, t) -> c.put(v, t.contiguous()));
        return c;
    }

    private static void closeAll(Map<Value, Tensor> tensors) {
        tensors.values().forEach(Tensor::close);
    }

    /**
     * Four steps of {@code model} on both backends (each executor configured by {@code config}),
     * parameters and state bound and updated by ASSIGN: the losses agree every step, and after
     * {@link CudaBackend#copyWrappedToHost()} the host tensors equal the CPU's updated ones. The
     * device program runs the first two steps call by call, records the third as a CUDA graph
     * would be captured and replays it, and replays the recording for the fourth.
     */
    private static void trainAndCompare(Model model, Mode mode, Function<Executor, Executor> config, double rel) {
        Map<Value, Tensor> cpuState = copiesOf(model.initial());
        Map<Value, Tensor> gpuState = copiesOf(model.initial());
        String name = model.graph().name() + " [" + mode + "]";
        try (Gpu gpu = new Gpu();
             Program cpu = config.apply(new Executor(new CpuBackend())).compile(model.graph(), List.of(model.loss()));
             Program dev = config.apply(mode.executor(gpu.backend)).compile(model.graph(), List.of(model.loss()))) {
            cpuState.forEach(cpu::bind);
            gpuState.forEach(dev::bind);
            SplittableRandom data = new SplittableRandom(30);
            for (int step = 0; step < 4; step++) {
                Map<Value, Tensor> feeds = model.batch().apply(data);
                double expected = cpu.run(feeds).getFirst().getFlat(0);
                double actual = dev.run(feeds).getFirst().getFlat(0);
                closeAll(feeds);
                assertClose(name + " loss of step " + step, new double[] {expected}, new double[] {actual}, DType.F32, rel);
                // the device's copies change, the host tensors do not until copied back
                if (step == 0) {
                    for (Map.Entry<Value, Tensor> e : gpuState.entrySet()) {
                        assertArrayEquals(model.initial().get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(),
                                name + " host tensor " + e.getKey().ref() + " before copyWrappedToHost");
                    }
                }
            }
            gpu.backend.copyWrappedToHost();
            for (Value v : cpuState.keySet()) {
                assertClose(name + " " + v.ref() + " after 4 steps", cpuState.get(v).toDoubleArray(), gpuState.get(v).toDoubleArray(),
                        DType.F32, rel);
            }
            assertTrue(gpu.device.gemms() > 0 && gpu.device.launches() > 0);
            assertEquals(1, gpu.device.captures(), name + ": the third step is recorded");
            assertEquals(2, gpu.device.replays(), name + ": the third and fourth steps replay the recording");
        } finally {
            closeAll(cpuState);
            closeAll(gpuState);
            closeAll(model.initial());
        }
    }

    // ================================================================== what a trainer's graphs also hold

    @Test
    void emptyTensorsRunWithoutLaunches() {
        Graph g = new Graph("empty");
        Value a = g.input("a", Shape.of(0, 5), DType.F32);
        Value b = g.input("b", Shape.of(5, 3), DType.F32);
        Value y = Ops.matmul(Ops.exp(a), b); // [0, 3]
        Value s = Ops.sum(a, false, 0); // [5] of zeros
        Value t = Ops.add(Ops.sum(Ops.exp(a), false), Ops.sum(b, false)); // a sum over nothing, added to one over something
        compare("empty", Mode.FUSED_REDUCTIONS, g, List.of(y, s, t), feeds(g, new SplittableRandom(50), Map.of()), 1e-6);
    }

    /** AdamW's step counter and bias corrections are F64 scalars, and SGD's learning rate an F64 feed (the trainer's optimizers). */
    @Test
    void adamWScalarBookkeepingInFloat64() {
        Graph g = new Graph("adamw-scalars");
        Value lr = g.input("lr", Shape.scalar(), DType.F64);
        Value step = g.state("step", Shape.scalar(), DType.F64);
        Value p = g.parameter("p", Shape.of(7), DType.F32);
        Value t = Ops.add(step, Ops.constant(g, 1, DType.F64));
        Ops.assign(step, t);
        Value bc1 = Ops.sub(Ops.constant(g, 1, DType.F64), Ops.pow(Ops.constant(g, 0.9, DType.F64), t));
        Value stepSize = Ops.div(lr, bc1);
        Value newP = Ops.sub(p, Ops.mul(p, Ops.cast(Ops.sqrt(stepSize), DType.F32)));
        Ops.assign(p, newP);
        try (Gpu gpu = new Gpu(); Tensor pt = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7}, 7); Tensor st = Tensor.zeros(Shape.scalar(), DType.F64);
             Tensor lrFeed = Tensor.scalar(0.01, DType.F64);
             Program prog = new Executor(gpu.backend).withReductionFusion(true).compile(g, List.of(newP))) {
            prog.bind(p, pt);
            prog.bind(step, st);
            prog.run(Map.of(lr, lrFeed));
        }
    }

    /** An image classifier's evaluation counts hits as {@code eq(argmax(logits), cast(labels, i64))}. */
    @Test
    void accuracyCountWithIntegerLabels() {
        Graph g = new Graph("accuracy");
        Value logits = g.input("logits", Shape.of(9, 10), DType.F32);
        Value labels = g.input("labels", Shape.of(9), DType.I32);
        Value hits = Ops.cast(Ops.eq(Ops.argmax(logits, 1, false), Ops.cast(labels, DType.I64)), DType.F32);
        Value correct = Ops.sum(hits, false);
        SplittableRandom r = new SplittableRandom(51);
        for (Mode mode : Mode.values()) {
            compare("accuracy", mode, g, List.of(correct), feeds(g, r, Map.of(labels, ids(r, 10, DType.I32, 9))), 0);
        }
    }

    // ================================================================== the GPU parity catalogue, emulated

    /**
     * System property: {@code true} runs the {@link OpParityCases} catalogue (every op, forward and
     * backward, and its training steps in fp32/fp16/bf16) on the emulated GPU against the CPU, as
     * the GPU suite runs it on a real one; {@code all} adds the unfused pass. Off by default: about
     * a minute with its kernels in the disk cache, several minutes to compile them first.
     */
    static final String CATALOGUE_PROPERTY = "frugal.hostdevice.catalogue";

    @TestFactory
    Stream<DynamicTest> parityCatalogueOnTheEmulatedGpu() {
        String which = System.getProperty(CATALOGUE_PROPERTY, "false");
        Assumptions.assumeTrue(which.equals("true") || which.equals("all"),
                "set -D" + CATALOGUE_PROPERTY + "=true (or all) to run the parity catalogue on the emulated GPU");
        Gpu gpu = new Gpu();
        Executor cpu = Executor.cpu();
        List<Executor> candidates = new ArrayList<>(List.of(new Executor(gpu.backend)));
        if (which.equals("all")) {
            candidates.add(new Executor(gpu.backend).withFusion(false));
        }
        // every program's kernels first, compiled in a few concurrent nvcc runs instead of one per program
        gpu.device.deferLaunches(true);
        for (Executor candidate : candidates) {
            for (OpParityCases.Case c : OpParityCases.all()) {
                OpParityCases.Instance in = c.build();
                try (Program p = candidate.compile(in.graph(), in.values())) {
                    assertTrue(p.stepCount() >= 0);
                } catch (RuntimeException e) {
                    // the case's own test reports it
                }
            }
        }
        for (OpParityCases.TrainingCase tc : OpParityCases.trainingSteps()) {
            for (Precision precision : Precision.values()) {
                OpParityCases.Instance in = tc.build().instance();
                try (Program p = new Executor(gpu.backend).withAutocast(precision).compile(in.graph(), in.values())) {
                    assertTrue(p.stepCount() >= 0);
                } catch (RuntimeException e) {
                    // reported below
                }
            }
        }
        gpu.device.deferLaunches(false);
        gpu.device.compilePending(8);
        List<DynamicTest> tests = new ArrayList<>();
        for (Executor candidate : candidates) {
            Executor reference = candidate.fuses() ? cpu : cpu.withFusion(false);
            for (OpParityCases.Case c : OpParityCases.all()) {
                tests.add(DynamicTest.dynamicTest(c.name() + (candidate.fuses() ? "" : " unfused"), () -> BackendParity.compare(c, reference, candidate)));
            }
        }
        for (OpParityCases.TrainingCase tc : OpParityCases.trainingSteps()) {
            for (Precision precision : Precision.values()) {
                double looseness = switch (precision) {
                    case FP32 -> 1;
                    case FP16 -> 20;
                    case BF16 -> 100;
                };
                tests.add(DynamicTest.dynamicTest(tc.name() + " " + precision, () -> BackendParity.compareTraining(tc,
                        cpu.withAutocast(precision), new Executor(gpu.backend).withAutocast(precision), 3, looseness)));
            }
        }
        tests.add(DynamicTest.dynamicTest("the device closes without leaks", gpu::close));
        return tests.stream();
    }

    // ================================================================== bound tensors, feeds and memory

    /** {@code y = x @ w + b}, {@code w -= 0.1 * sum(y) * ...}: a program reading and assigning bound tensors. */
    private record Linear(Graph graph, Value x, Value w, Value b, Value y, Value loss) {
        static Linear make(boolean train) {
            Graph g = new Graph(train ? "train" : "eval");
            Value x = g.input("x", Shape.of(3, 4), DType.F32);
            Value w = g.parameter("w", Shape.of(4, 5), DType.F32);
            Value b = g.parameter("b", Shape.of(5), DType.F32);
            Value y = Ops.add(Ops.matmul(x, w), b);
            Value loss = Ops.mean(Ops.mul(y, y), false);
            if (train) {
                List<Value> grads = Autodiff.grad(loss, List.of(w, b));
                Ops.assign(w, Ops.sub(w, Ops.mul(grads.get(0), Ops.constant(g, 0.1, DType.F32))));
                Ops.assign(b, Ops.sub(b, Ops.mul(grads.get(1), Ops.constant(g, 0.1, DType.F32))));
            }
            return new Linear(g, x, w, b, y, loss);
        }
    }

    @Test
    void copyWrappedFromHostSendsHostChangesDown() {
        Linear lin = Linear.make(false);
        SplittableRandom r = new SplittableRandom(40);
        try (Tensor x = random(r, DType.F32, 3, 4); Tensor w = random(r, DType.F32, 4, 5); Tensor b = random(r, DType.F32, 5);
             Gpu gpu = new Gpu(); Program p = new Executor(gpu.backend).compile(lin.graph(), List.of(lin.y()))) {
            p.bind(lin.w(), w);
            p.bind(lin.b(), b);
            double[] before = p.run(Map.of(lin.x(), x)).getFirst().toDoubleArray();
            b.setFlat(2, b.getFlat(2) + 10);
            // not sent yet: the device copy is what runs read
            assertBits("before copyWrappedFromHost", before, p.run(Map.of(lin.x(), x)).getFirst().toDoubleArray());
            gpu.backend.copyWrappedFromHost();
            double[] after = p.run(Map.of(lin.x(), x)).getFirst().toDoubleArray();
            for (int i = 0; i < after.length; i++) {
                assertEquals(before[i] + (i % 5 == 2 ? 10 : 0), after[i], 1e-5, "element " + i);
            }
        }
    }

    @Test
    void programsBindingTheSameTensorShareItsDeviceCopy() {
        Linear train = Linear.make(true);
        Linear eval = Linear.make(false);
        SplittableRandom r = new SplittableRandom(41);
        try (Tensor x = random(r, DType.F32, 3, 4); Tensor w = random(r, DType.F32, 4, 5); Tensor b = random(r, DType.F32, 5);
             Tensor cw = w.contiguous(); Tensor cb = b.contiguous(); Gpu gpu = new Gpu();
             Program t = new Executor(gpu.backend).compile(train.graph(), List.of(train.loss()));
             Program e = new Executor(gpu.backend).compile(eval.graph(), List.of(eval.y()));
             Program ct = new Executor(new CpuBackend()).compile(train.graph(), List.of(train.loss()));
             Program ce = new Executor(new CpuBackend()).compile(eval.graph(), List.of(eval.y()))) {
            t.bind(train.w(), w);
            t.bind(train.b(), b);
            long uploads = gpu.device.uploads();
            e.bind(eval.w(), w);
            e.bind(eval.b(), b);
            assertEquals(uploads, gpu.device.uploads(), "binding a tensor already on the device uploads nothing");
            ct.bind(train.w(), cw);
            ct.bind(train.b(), cb);
            ce.bind(eval.w(), cw);
            ce.bind(eval.b(), cb);
            for (int step = 0; step < 3; step++) {
                assertClose("loss " + step, ct.run(Map.of(train.x(), x)).getFirst().toDoubleArray(),
                        t.run(Map.of(train.x(), x)).getFirst().toDoubleArray(), DType.F32, 1e-5);
                // evaluation reads the weights the step just updated, without a host round trip
                assertClose("eval after step " + step, ce.run(Map.of(eval.x(), x)).getFirst().toDoubleArray(),
                        e.run(Map.of(eval.x(), x)).getFirst().toDoubleArray(), DType.F32, 1e-5);
            }
            gpu.backend.copyWrappedToHost();
            assertClose("w", cw.toDoubleArray(), w.toDoubleArray(), DType.F32, 1e-5);
            assertClose("b", cb.toDoubleArray(), b.toDoubleArray(), DType.F32, 1e-5);
        }
    }

    @Test
    void nonContiguousFeedsAreUploadedInLogicalOrder() {
        Graph g = new Graph("feeds");
        Value x = g.input("x", Shape.of(5, 3, 4), DType.F32);
        Value h = g.input("h", Shape.of(4, 6), DType.BF16);
        Value y = Ops.add(Ops.mul(x, Ops.constant(g, 2, DType.F32)), Ops.constant(g, 1, DType.F32));
        Value z = Ops.matmul(Ops.cast(h, DType.F32), Ops.reshape(Ops.slice(x, 0, 0, 1, 1), 3, 4), true, true);
        SplittableRandom r = new SplittableRandom(42);
        try (Tensor base = random(r, DType.F32, 4, 5, 3); Tensor hb = random(r, DType.BF16, 6, 8)) {
            Tensor permuted = base.permute(1, 2, 0); // [5, 3, 4], strided
            Tensor sliced = hb.permute(1, 0).slice(0, 1, 8, 2); // [4, 6], strided
            assertTrue(!permuted.isContiguous() && !sliced.isContiguous());
            Map<Value, Tensor> feeds = Map.of(x, permuted, h, sliced);
            compare("strided feeds", Mode.FUSED, g, List.of(y, z), feeds, 1e-6);
        }
    }

    @Test
    void closingProgramsAndTheBackendFreesEverything() {
        Model model = mlp();
        Map<Value, Tensor> state = copiesOf(model.initial());
        try (Gpu gpu = new Gpu()) {
            List<Allocation> before = gpu.backend.memory().liveAllocations();
            assertEquals(List.of(), before);
            try (Program p = new Executor(gpu.backend).withReductionFusion(true).compile(model.graph(), List.of(model.loss()))) {
                state.forEach(p::bind);
                Map<Value, Tensor> feeds = model.batch().apply(new SplittableRandom(3));
                p.run(feeds);
                closeAll(feeds);
                assertTrue(gpu.backend.memory().liveAllocations().size() > state.size());
            }
            // only the device copies of the bound tensors are left, one per tensor
            List<Allocation> left = gpu.backend.memory().liveAllocations();
            assertEquals(state.size(), left.size(), left::toString);
            assertTrue(left.stream().allMatch(a -> "bound tensors".equals(a.tag())), left::toString);
            assertEquals(0, gpu.device.staging().snapshot().lentBytes(), "staging buffers still lent");
        } finally {
            closeAll(state);
            closeAll(model.initial());
        }
    }

    @Test
    void profiledRunsTimeEveryCallWithClosedMarks() {
        Model model = mlp();
        Map<Value, Tensor> state = copiesOf(model.initial());
        try (Gpu gpu = new Gpu();
             Program p = new Executor(gpu.backend).withReductionFusion(true).compile(model.graph(), List.of(model.loss()))) {
            state.forEach(p::bind);
            Map<Value, Tensor> feeds = model.batch().apply(new SplittableRandom(5));
            List<String> calls = new ArrayList<>();
            long launches = gpu.device.launches();
            p.run(feeds, (kernel, node, nanos) -> {
                assertTrue(nanos >= 0, kernel + " took " + nanos);
                calls.add(kernel);
            });
            closeAll(feeds);
            assertEquals(p.stepCount(), calls.size(), () -> calls + "\n" + p.listing());
            assertTrue(gpu.device.launches() > launches);
            assertEquals(gpu.device.marks(), gpu.device.marksClosed(), "every timing mark closed");
            assertEquals(2L * calls.size(), gpu.device.marks());
        } finally {
            closeAll(state);
            closeAll(model.initial());
        }
    }

    /** Outputs that are inputs, bound tensors (before their update), repeats, views and constants. */
    @Test
    void unusualOutputsMatchTheCpu() {
        Graph g = new Graph("outputs");
        Value x = g.input("x", Shape.of(3, 4), DType.F32);
        Value p = g.parameter("p", Shape.of(3, 4), DType.F32);
        Value s = g.state("s", Shape.of(4), DType.F32);
        Value newP = Ops.add(p, x);
        Ops.assign(p, newP);
        Ops.assign(s, Ops.sum(x, false, 0));
        Value iota = Ops.iota(g, Shape.of(2, 5), 1, DType.F32);
        Value full = Ops.full(g, Shape.of(3), 2.5, DType.BF16);
        List<Value> outs = List.of(x, p, newP, p, s, Ops.reshape(newP, 12), iota, full, Ops.reshape(x, 4, 3));
        SplittableRandom r = new SplittableRandom(52);
        try (Tensor xt = random(r, DType.F32, 3, 4); Tensor pc = random(r, DType.F32, 3, 4); Tensor pg = pc.contiguous();
             Tensor sc = random(r, DType.F32, 4); Tensor sg = sc.contiguous(); Gpu gpu = new Gpu();
             Program cpu = new Executor(new CpuBackend()).compile(g, outs);
             Program dev = new Executor(gpu.backend).compile(g, outs)) {
            cpu.bind(p, pc);
            cpu.bind(s, sc);
            dev.bind(p, pg);
            dev.bind(s, sg);
            for (int step = 0; step < 2; step++) {
                List<double[]> expected = copies(cpu.run(Map.of(x, xt)));
                List<double[]> actual = copies(dev.run(Map.of(x, xt)));
                for (int i = 0; i < outs.size(); i++) {
                    // s is a sum: the device's tree adds in another order than the CPU
                    assertClose("step " + step + " output " + i + " " + outs.get(i), expected.get(i), actual.get(i), outs.get(i).dtype(), 1e-6);
                }
            }
        }
    }

    @Test
    void theEmulationRejectsWhatAGpuWould() {
        try (Gpu gpu = new Gpu()) {
            HostDeviceApi d = gpu.device;
            try (Tensor host = Tensor.zeros(Shape.of(16), DType.F32)) {
                // a host pointer is not device memory
                assertThrows(IllegalArgumentException.class, () -> d.zero(host.segment().address(), 64));
            }
            Allocation a = d.memory().allocate(100, d.computeStream(), "test");
            assertThrows(IllegalArgumentException.class, () -> d.copy(a.address(), a.address() + 50, 51));
            GemmCall call = GemmCall.rowMajor(DType.F32, false, false, 6, 6, 6, 6, 6, 0, 0, 1);
            assertThrows(IllegalArgumentException.class, () -> d.gemm(call, a.address(), a.address(), a.address())); // 36 floats > 100 bytes
            long freed = a.address();
            a.close();
            assertThrows(IllegalArgumentException.class, () -> d.zero(freed, 4));
            assertNotEquals(0, d.multiprocessors());
        }
    }

    @Test
    void everyKernelOfAStepIsLaunchedAndCounted() {
        Model model = gpt();
        Map<Value, Tensor> state = copiesOf(model.initial());
        try (Gpu gpu = new Gpu();
             Program p = new Executor(gpu.backend).withReductionFusion(true).compile(model.graph(), List.of(model.loss()))) {
            state.forEach(p::bind);
            long uploadsBefore = gpu.device.uploads();
            Map<Value, Tensor> feeds = model.batch().apply(new SplittableRandom(4));
            p.run(feeds);
            closeAll(feeds);
            assertEquals(uploadsBefore + 3, gpu.device.uploads(), "one upload per data input");
            assertEquals(3, gpu.device.landedUploads(), "each through its landing buffer (double buffering)");
            assertEquals(1, gpu.device.downloads(), "one download: the loss");
            assertTrue(p.fusedGroups().stream().anyMatch(FusedGroup::reduction), p::listing);
            assertTrue(gpu.device.launches() > 0 && gpu.device.gemms() > 0 && gpu.device.copies() > 0);
        } finally {
            closeAll(state);
            closeAll(model.initial());
        }
    }
}
