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
import dev.frugal.runtime.exec.FusedGroup;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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

    /** The program under test: broadcasting, half members, masks, selects, constants and the transcendental ops. */
    private record Case(Graph graph, List<Value> inputs, List<Value> outputs) {
    }

    private static Case mixedGraph() {
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
        return new Case(g, List.of(x, y, h, b), List.of(s, bf, notMask, half));
    }

    @Test
    void generatedKernelsCompileForEveryArchitecture() {
        KernelCompiler compiler = compilerOrSkip();
        Case c = mixedGraph();
        List<ElementwiseKernel> kernels = kernelsOf(c);
        assertTrue(kernels.size() >= 2, "groups and single nodes: " + kernels.size());
        for (String arch : ARCHS) {
            for (ElementwiseKernel k : kernels) {
                CompiledKernel compiled = compiler.compile(k.name(), k.source(), arch, List.of());
                assertTrue(compiled.cubin().length > 0, k.name() + " for " + arch);
            }
        }
    }

    @Test
    void namesAreStableAndDependOnTheShapes() {
        ElementwiseKernel a = kernelsOf(mixedGraph()).getFirst();
        ElementwiseKernel b = kernelsOf(mixedGraph()).getFirst();
        assertEquals(a.name(), b.name(), "the same group gives the same kernel");
        assertEquals(a.source(), b.source());
        Graph g = new Graph("other");
        Value x = g.input("x", Shape.of(4, 4), DType.F32);
        Node single = Ops.relu(x).node();
        ElementwiseKernel k = ElementwiseCodegen.generate(single);
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
        Path nvcc = nvccOrSkip();
        Case c = mixedGraph();
        Map<Value, Tensor> feeds = randomInputs(c.inputs());
        List<Value> everything = new ArrayList<>(c.outputs());
        Program program = Executor.cpu().compile(c.graph(), c.outputs());
        // every intermediate value a kernel reads comes from the CPU's own unfused run, so each
        // generated kernel is checked on exactly its inputs
        Map<Value, double[]> values = new LinkedHashMap<>();
        List<ElementwiseKernel> kernels = new ArrayList<>();
        for (FusedGroup group : program.fusedGroups()) {
            kernels.add(ElementwiseCodegen.generate(group));
        }
        for (Node n : program.unfusedKernelNodes()) {
            if (ElementwiseCodegen.supports(n)) {
                kernels.add(ElementwiseCodegen.generate(n));
            }
        }
        program.close();
        for (ElementwiseKernel k : kernels) {
            everything.addAll(k.inputs());
            everything.addAll(k.outputs());
        }
        List<Value> distinct = everything.stream().distinct().toList();
        try (Program unfused = Executor.cpu().withFusion(false).compile(c.graph(), distinct)) {
            List<Tensor> results = unfused.run(feeds);
            for (int i = 0; i < distinct.size(); i++) {
                values.put(distinct.get(i), results.get(i).toDoubleArray());
            }
        }
        int checked = 0;
        for (ElementwiseKernel k : kernels) {
            List<double[]> host = runOnHost(nvcc, k, values);
            for (int o = 0; o < k.outputs().size(); o++) {
                Value out = k.outputs().get(o);
                double[] expected = values.get(out);
                double[] actual = host.get(o);
                assertEquals(expected.length, actual.length);
                for (int i = 0; i < expected.length; i++) {
                    if (!close(expected[i], actual[i], out.dtype())) {
                        throw new AssertionError(k.name() + " output " + o + " (" + out + ") element " + i + ": CPU " + expected[i]
                                + ", generated " + actual[i] + "\n" + k.source());
                    }
                }
                checked += expected.length;
            }
        }
        assertTrue(checked >= 4 * 105, "every output of every kernel, elements checked: " + checked);
        feeds.values().forEach(Tensor::close);
    }

    /** Bit-exact for IEEE ops; transcendental results may differ by a few float32 ulp, or one ulp of a half type. */
    private static boolean close(double expected, double actual, DType t) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            return Double.isNaN(expected) && Double.isNaN(actual);
        }
        if (expected == actual) {
            return true;
        }
        double ulp = switch (t) {
            case F16 -> Math.ulp((float) expected) * 8192;
            case BF16 -> Math.ulp((float) expected) * 65536;
            default -> Math.ulp((float) expected);
        };
        return Math.abs(expected - actual) <= 4 * ulp + 1e-6 * Math.abs(expected);
    }

    static List<ElementwiseKernel> kernelsOf(Case c) {
        try (Program p = Executor.cpu().compile(c.graph(), c.outputs())) {
            List<ElementwiseKernel> kernels = new ArrayList<>();
            for (FusedGroup group : p.fusedGroups()) {
                kernels.add(ElementwiseCodegen.generate(group));
            }
            for (Node n : p.unfusedKernelNodes()) {
                if (ElementwiseCodegen.supports(n)) {
                    kernels.add(ElementwiseCodegen.generate(n));
                }
            }
            return kernels;
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

    /** Compiles a host harness that calls the element function for every index and returns the outputs, widened. */
    private List<double[]> runOnHost(Path nvcc, ElementwiseKernel k, Map<Value, double[]> values) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory(tmp, k.name());
        StringBuilder main = new StringBuilder(k.source()).append("\n#include <stdio.h>\n#include <stdlib.h>\n");
        main.append("static void* readAll(const char* path, size_t bytes) { void* p = malloc(bytes ? bytes : 1); FILE* f = fopen(path, \"rb\");"
                + " if (!f || fread(p, 1, bytes, f) != bytes) { fprintf(stderr, \"read %s\\n\", path); exit(2); } fclose(f); return p; }\n");
        main.append("int main(int argc, char** argv) {\n");
        List<String> args = new ArrayList<>();
        for (int i = 0; i < k.inputs().size(); i++) {
            Value in = k.inputs().get(i);
            Path file = dir.resolve("in" + i + ".bin");
            Files.write(file, bytesOf(values.get(in), in.dtype()));
            String type = ElementwiseCodegen.cType(in.dtype());
            main.append("  const ").append(type).append("* in").append(i).append(" = (const ").append(type).append("*) readAll(\"")
                    .append(file).append("\", ").append(in.shape().numel() * in.dtype().byteSize()).append(");\n");
            args.add("in" + i);
        }
        for (int o = 0; o < k.outputs().size(); o++) {
            Value out = k.outputs().get(o);
            String type = ElementwiseCodegen.cType(out.dtype());
            main.append("  ").append(type).append("* out").append(o).append(" = (").append(type).append("*) malloc(")
                    .append(out.shape().numel() * out.dtype().byteSize()).append(");\n");
            args.add("out" + o);
        }
        main.append("  for (long long i = 0; i < ").append(k.elements()).append("LL; i++) ").append(k.elementFunction()).append("(i, ")
                .append(String.join(", ", args)).append(");\n");
        for (int o = 0; o < k.outputs().size(); o++) {
            Value out = k.outputs().get(o);
            main.append("  { FILE* f = fopen(\"").append(dir.resolve("out" + o + ".bin")).append("\", \"wb\"); fwrite(out").append(o)
                    .append(", 1, ").append(out.shape().numel() * out.dtype().byteSize()).append(", f); fclose(f); }\n");
        }
        main.append("  return 0;\n}\n");
        Path source = dir.resolve("harness.cu");
        Files.writeString(source, main);
        Path exe = dir.resolve("harness");
        run(dir, nvcc.toString(), "-O1", "-o", exe.toString(), source.toString());
        run(dir, exe.toString());
        List<double[]> outputs = new ArrayList<>();
        for (int o = 0; o < k.outputs().size(); o++) {
            Value out = k.outputs().get(o);
            outputs.add(widen(Files.readAllBytes(dir.resolve("out" + o + ".bin")), out.dtype()));
        }
        return outputs;
    }

    private static void run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + log);
        }
    }

    private static byte[] bytesOf(double[] values, DType t) {
        try (Tensor tensor = Tensor.of(values, t, values.length)) {
            return tensor.segment().asSlice(0, values.length * (long) t.byteSize()).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private static double[] widen(byte[] bytes, DType t) {
        int n = bytes.length / t.byteSize();
        try (Tensor tensor = Tensor.zeros(Shape.of(n), t)) {
            tensor.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(bytes));
            return tensor.toDoubleArray();
        }
    }

    static KernelCompiler compilerOrSkip() {
        try {
            Assumptions.assumeTrue(Nvrtc.supportedArchs().length > 0, "NVRTC reports no architectures");
        } catch (CudaException | LinkageError e) {
            Assumptions.abort("NVRTC is not installed (pip install nvidia-cuda-nvrtc): " + e.getMessage());
        }
        return new KernelCompiler(null, HalfHeaders.AUTO);
    }

    private static Path nvccOrSkip() {
        for (String dir : List.of("/usr/local/cuda/bin", "/usr/local/bin", "/usr/bin")) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        Assumptions.abort("nvcc is not installed: the host check of the generated arithmetic needs it");
        return null;
    }
}
