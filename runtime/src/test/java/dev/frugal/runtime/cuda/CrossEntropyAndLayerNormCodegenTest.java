package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated hand-fused cross-entropy and layer norm kernels (forward and gradients; f32, f16,
 * bf16; label smoothing; rows shorter and longer than a block, C = 1000): replayed on the host they
 * agree with the CPU backend to float32 rounding (the CPU sums in double), they compile for every
 * architecture, and {@link KernelGenerators} dispatches to them.
 */
class CrossEntropyAndLayerNormCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, List<Value> inputs, Value out, int classes) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (DType t : List.of(DType.F32, DType.F16, DType.BF16)) {
            for (int[] nc : new int[][] {{5, 10}, {1, 1000}, {3, 257}}) {
                for (double s : new double[] {0.0, 0.1}) {
                    Graph g = new Graph("ce");
                    Value logits = g.input("logits", Shape.of(nc[0], nc[1]), t);
                    Value labels = g.input("labels", Shape.of(nc[0]), nc[1] == 10 ? DType.I32 : DType.I64);
                    cases.add(new Case(g, List.of(logits, labels), Ops.softmaxCrossEntropy(logits, labels, s), nc[1]));
                    Value dLoss = g.input("dLoss", Shape.of(nc[0]), DType.F32);
                    Value dLogits = Ops.softmaxCrossEntropyGrad(logits, labels, t == DType.F32 ? dLoss : Ops.cast(dLoss, t), s);
                    if (t != DType.F32) {
                        // the cast is a kernel of its own: feed dLoss in t directly
                        Value dLossT = g.input("dLossT", Shape.of(nc[0]), t);
                        dLogits = Ops.softmaxCrossEntropyGrad(logits, labels, dLossT, s);
                        cases.add(new Case(g, List.of(logits, labels, dLossT), dLogits, nc[1]));
                    } else {
                        cases.add(new Case(g, List.of(logits, labels, dLoss), dLogits, nc[1]));
                    }
                }
            }
            for (Shape shape : List.of(Shape.of(4, 7), Shape.of(2, 3, 300), Shape.of(2, 1000))) {
                int d = shape.dim(-1);
                for (boolean affine : new boolean[] {true, false}) {
                    Graph g = new Graph("ln");
                    Value x = g.input("x", shape, t);
                    Value w = affine ? g.input("w", Shape.of(d), t) : null;
                    Value b = affine ? g.input("b", Shape.of(d), t) : null;
                    Value dy = g.input("dy", shape, t);
                    OpAttrs.LayerNorm p = new OpAttrs.LayerNorm(1, 1e-5, affine, affine);
                    cases.add(new Case(g, affine ? List.of(x, w, b) : List.of(x), Ops.layerNorm(x, w, b, 1, 1e-5), 0));
                    cases.add(new Case(g, affine ? List.of(x, w, dy) : List.of(x, dy), Ops.layerNormGrad(x, w, dy, p), 0));
                    if (affine) {
                        cases.add(new Case(g, List.of(x, dy), Ops.layerNormWeightGrad(x, dy, p), 0));
                    }
                }
            }
        }
        return cases;
    }

    private static GeneratedKernel kernel(Case c) {
        return KernelGenerators.generate(c.out().node()).orElseThrow(() -> new AssertionError("no kernel for " + c.out().node()));
    }

    @Test
    void onTheHostTheRowKernelsAgreeWithTheCpuBackend() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom r = new SplittableRandom(7);
        List<Case> cases = cases();
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases) {
            references.add(CpuReference.reference(c.graph(), c.inputs(), c.out(), kernel(c),
                    (in, i) -> in.dtype().isFloating() ? 2 * r.nextGaussian() : r.nextInt(c.classes())));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            double[] e = references.get(k).expected();
            double[] a = actual.get(k);
            DType t = cases.get(k).out().dtype();
            // float32 sums in another order than the CPU's double ones; a half result may round to the neighbouring half value
            double tol = t == DType.F32 ? 3e-5 : t == DType.F16 ? 2e-3 : 1.6e-2;
            double scale = cases.get(k).out().node().op().name().endsWith("WEIGHT_GRAD") ? 10 : 1;
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], a[i], scale * tol * Math.max(1, Math.abs(e[i])), cases.get(k).out().node() + " element " + i);
            }
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("rowwise", cases().stream().map(CrossEntropyAndLayerNormCodegenTest::kernel).toList());
    }

    @Test
    void anOutOfRangeLabelStopsTheKernelWithItsName() {
        Graph g = new Graph("ce");
        Value logits = g.input("logits", Shape.of(2, 3), DType.F32);
        Value labels = g.input("labels", Shape.of(2), DType.I64);
        GeneratedKernel k = CrossEntropyCodegen.generate(Ops.softmaxCrossEntropy(logits, labels, 0).node());
        assertTrue(k.body().contains("FR_FAIL(\"" + k.name() + "\", \"label\""), k.body());
    }
}
