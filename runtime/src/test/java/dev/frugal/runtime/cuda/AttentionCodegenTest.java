package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
        List<HostHarness.Call> calls = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        List<Case> cases = cases();
        for (Case c : cases) {
            Map<Value, Tensor> feeds = new LinkedHashMap<>();
            List<double[]> stored = new ArrayList<>();
            for (Value in : c.inputs()) {
                double[] d = new double[(int) in.shape().numel()];
                for (int i = 0; i < d.length; i++) {
                    d[i] = r.nextGaussian();
                }
                Tensor t = Tensor.of(d, in.dtype(), in.shape().dims());
                feeds.put(in, t);
                stored.add(t.toDoubleArray());
            }
            try (Program p = Executor.cpu().compile(c.graph(), List.of(c.out()))) {
                expected.add(p.run(feeds).getFirst().toDoubleArray());
            } finally {
                feeds.values().forEach(Tensor::close);
            }
            calls.add(new HostHarness.Call(AttentionCodegen.generate(c.out().node()), stored));
        }
        List<List<double[]>> actual = HostHarness.run(nvcc, tmp, calls);
        for (int k = 0; k < calls.size(); k++) {
            double[] e = expected.get(k);
            double[] a = actual.get(k).getFirst();
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
        KernelCompiler compiler = ElementwiseCodegenTest.compilerOrSkip();
        List<GeneratedKernel> kernels = cases().stream().map(c -> AttentionCodegen.generate(c.out().node())).toList();
        for (String arch : ElementwiseCodegenTest.ARCHS) {
            compiler.compile("attention_" + arch, ElementwiseCodegen.translationUnit(kernels), arch, List.of());
        }
    }
}
