package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * Generated fused attention, forward and backward, causal or not, f32/f16/bf16, odd sequence
 * lengths: replayed on the host it agrees with the CPU backend's FlashAttention kernels to float32
 * rounding (their sums are blocked differently), and it compiles for every architecture.
 */
class AttentionCodegenTest {
    @TempDir
    Path tmp;

    private record Case(Graph graph, List<Value> inputs, Value out) {
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (DType t : List.of(DType.F32, DType.F16, DType.BF16)) {
            for (boolean causal : new boolean[] {true, false}) {
                Graph g = new Graph("attention");
                Shape s = Shape.of(2, 3, 37, 16);
                Value q = g.input("q", s, t);
                Value k = g.input("k", s, t);
                Value v = g.input("v", s, t);
                Value dOut = g.input("dOut", s, t);
                OpAttrs.Attention a = new OpAttrs.Attention(causal, 0.25);
                Value out = Ops.attention(q, k, v, causal, 0.25);
                cases.add(new Case(g, List.of(q, k, v), out));
                Value o = g.input("o", s, t);
                cases.add(new Case(g, List.of(q, k, v, o, dOut), Ops.attentionGrad(q, k, v, o, dOut, a)));
            }
        }
        return cases;
    }

    @Test
    void onTheHostAttentionAgreesWithTheCpuBackend() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        SplittableRandom r = new SplittableRandom(12);
        List<Case> cases = cases();
        List<CpuReference.Reference> references = new ArrayList<>();
        for (Case c : cases) {
            references.add(CpuReference.reference(c.graph(), c.inputs(), c.out(), AttentionCodegen.generate(c.out().node()),
                    (in, i) -> r.nextGaussian()));
        }
        List<double[]> actual = CpuReference.runOnHost(nvcc, tmp, references);
        for (int k = 0; k < references.size(); k++) {
            double[] e = references.get(k).expected();
            double[] a = actual.get(k);
            DType t = cases.get(k).out().dtype();
            // float32 sums in another order; a half result may round to the neighbouring half value
            double tol = t == DType.F32 ? 2e-5 : t == DType.F16 ? 2e-3 : 1.6e-2;
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], a[i], tol * Math.max(1, Math.abs(e[i])), cases.get(k).out().node() + " element " + i);
            }
        }
    }

    @Test
    void compilesForEveryArchitecture() {
        ElementwiseCodegenTest.compileForEveryArchitecture("attention", cases().stream().map(c -> AttentionCodegen.generate(c.out().node())).toList());
    }
}
