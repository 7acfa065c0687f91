package dev.frugal.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.CudaException;
import dev.frugal.cuda.nvrtc.CompiledKernel;
import dev.frugal.cuda.nvrtc.HalfHeaders;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.cuda.nvrtc.Nvrtc;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA C of fused and single elementwise kernels: it compiles with NVRTC for every
 * architecture from Turing to Hopper (no GPU needed), and, compiled for the host by nvcc, its
 * per-element function computes what the CPU backend computes: bit for bit for the IEEE
 * operations, within a few ulp for exp, erf, tanh and sigmoid.
 */
class ElementwiseCodegenTest {
    /** Turing, Ampere (A100, consumer), Ada, Hopper. */
    static final List<String> ARCHS = List.of("sm_75", "sm_80", "sm_86", "sm_89", "sm_90");

    @TempDir
    Path tmp;

    /** Broadcasting, half members, masks, selects, constants and the transcendental ops. */
    private static CpuReference.Case mixedGraph() {
        Graph g = new Graph("codegen");
        Value x = g.input("x", Shape.of(3, 5, 7), DType.F32);
        Value y = g.input("y", Shape.of(5, 1), DType.F32);
        Value h = g.input("h", Shape.of(3, 5, 7), DType.F16);
        Value b = g.input("b", Shape.of(7), DType.BF16);
        Value a = Ops.add(Ops.mul(x, y), x);                                  // broadcast y
        Value r = Ops.where(Ops.lt(x, y), Ops.relu(a), Ops.neg(Ops.abs(x)));  // mask and select
        Value m = Ops.maximum(Ops.minimum(r, Ops.constant(g, 2.5, DType.F32)), Ops.constant(g, -1.5, DType.F32));
        Value half = Ops.mul(Ops.cast(m, DType.F16), h);                      // rounded per member in f16
        Value q = Ops.div(Ops.sqrt(Ops.abs(Ops.cast(half, DType.F32))), Ops.add(Ops.cast(b, DType.F32), Ops.constant(g, 3.0, DType.F32)));
        Value t = Ops.add(Ops.tanh(q), Ops.add(Ops.sigmoid(x), Ops.erf(Ops.mul(q, y))));
        Value e = Ops.sub(Ops.exp(Ops.neg(Ops.abs(t))), Ops.round(Ops.mul(x, Ops.constant(g, 3.0, DType.F32))));
        Value l = Ops.add(Ops.log(Ops.add(Ops.abs(e), Ops.constant(g, 1.0, DType.F32))), Ops.rsqrt(Ops.add(Ops.mul(x, x), Ops.constant(g, 1.0, DType.F32))));
        Value s = Ops.mul(Ops.sign(x), Ops.pow(Ops.abs(l), Ops.constant(g, 1.5, DType.F32)));
        Value bf = Ops.cast(Ops.reciprocal(Ops.add(Ops.abs(s), Ops.constant(g, 0.5, DType.F32))), DType.BF16);
        Value notMask = Ops.not(Ops.ge(x, Ops.cast(b, DType.F32)));
        return new CpuReference.Case(g, List.of(s, bf, notMask, half), randomInputs(List.of(x, y, h, b)));
    }

    @Test
    void generatedKernelsCompileForEveryArchitecture() {
        KernelCompiler compiler = compilerOrSkip();
        CpuReference.Case c = mixedGraph();
        List<GeneratedKernel> kernels = kernelsOf(c);
        assertTrue(kernels.size() >= 2, "groups and single nodes: " + kernels.size());
        for (String arch : ARCHS) {
            for (GeneratedKernel k : kernels) {
                CompiledKernel compiled = compiler.compile(k.name(), k.source(), arch, List.of());
                assertTrue(compiled.cubin().length > 0, k.name() + " for " + arch);
            }
        }
        close(c);
    }

    @Test
    void namesAreStableAndDependOnTheShapes() {
        CpuReference.Case first = mixedGraph();
        CpuReference.Case second = mixedGraph();
        GeneratedKernel a = kernelsOf(first).getFirst();
        GeneratedKernel b = kernelsOf(second).getFirst();
        assertEquals(a.name(), b.name(), "the same group gives the same kernel");
        assertEquals(a.source(), b.source());
        close(first);
        close(second);
        Graph g = new Graph("other");
        Value x = g.input("x", Shape.of(4, 4), DType.F32);
        GeneratedKernel k = ElementwiseCodegen.generate(Ops.relu(x).node());
        assertTrue(k.name().startsWith("ew_relu_"), k.name());
        assertTrue(k.source().contains("const long long n = 16LL;"), k.source());
    }

    @Test
    void unsupportedTypesAreRefusedByName() {
        Graph g = new Graph("f64");
        Value x = g.input("x", Shape.of(4), DType.F64);
        Node n = Ops.exp(x).node();
        assertFalse(ElementwiseCodegen.supports(n));
        var e = assertThrows(IllegalArgumentException.class, () -> ElementwiseCodegen.generate(n));
        assertTrue(e.getMessage().contains("exp over f64"), e.getMessage());
    }

    @Test
    void onTheHostTheGeneratedArithmeticMatchesTheCpuBackend() throws Exception {
        Path nvcc = HostHarness.nvccOrSkip();
        CpuReference.Case c = mixedGraph();
        try {
            int checked = CpuReference.check(nvcc, tmp, List.of(c));
            assertTrue(checked >= 4 * 105, "every output of every kernel, elements checked: " + checked);
        } finally {
            close(c);
        }
    }

    private static List<GeneratedKernel> kernelsOf(CpuReference.Case c) {
        try (Program p = Executor.cpu().compile(c.graph(), c.outputs())) {
            return CpuReference.kernelsOf(p);
        }
    }

    private static Map<Value, Tensor> randomInputs(List<Value> inputs) {
        SplittableRandom r = new SplittableRandom(17);
        Map<Value, Tensor> feeds = new LinkedHashMap<>();
        for (Value v : inputs) {
            double[] d = new double[(int) v.shape().numel()];
            for (int i = 0; i < d.length; i++) {
                d[i] = switch (i % 23) {
                    case 0 -> 0.0;
                    case 1 -> -0.0;
                    case 2 -> 1.0;
                    default -> r.nextGaussian() * 2;
                };
            }
            feeds.put(v, Tensor.of(d, v.dtype(), v.shape().dims()));
        }
        return feeds;
    }

    private static void close(CpuReference.Case c) {
        c.feeds().values().forEach(Tensor::close);
    }

    /** An uncached compiler, or the test is skipped when NVRTC is missing. */
    static KernelCompiler compilerOrSkip() {
        try {
            Assumptions.assumeTrue(Nvrtc.supportedArchs().length > 0, "NVRTC reports no architectures");
        } catch (CudaException | LinkageError e) {
            Assumptions.abort("NVRTC is not installed (pip install nvidia-cuda-nvrtc): " + e.getMessage());
        }
        return new KernelCompiler(null, HalfHeaders.AUTO);
    }

    /** Compiles the kernels in one translation unit for each of {@link #ARCHS}, or skips without NVRTC. */
    static void compileForEveryArchitecture(String name, List<GeneratedKernel> kernels) {
        KernelCompiler compiler = compilerOrSkip();
        for (String arch : ARCHS) {
            compiler.compile(name + "_" + arch, ElementwiseCodegen.translationUnit(kernels), arch, List.of());
        }
    }
}
