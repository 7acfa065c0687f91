package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Value;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs generated kernels on the host: one C++ program, compiled by nvcc, holding the kernels'
 * translation unit and a {@code main} that calls each kernel's {@code __host__ __device__}
 * element function for every index on inputs read from files, and writes the outputs back. So the
 * generated arithmetic is checked against the CPU backend without a GPU.
 */
final class HostHarness {
    /** One kernel call: the kernel and the values of its inputs, widened to double. */
    record Call(GeneratedKernel kernel, List<double[]> inputs) {
    }

    private HostHarness() {
    }

    /** nvcc, or the test is skipped. */
    static Path nvccOrSkip() {
        for (String dir : List.of("/usr/local/cuda/bin", "/usr/local/bin", "/usr/bin")) {
            Path p = Path.of(dir, "nvcc");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        Assumptions.abort("nvcc is not installed: the host check of the generated arithmetic needs it");
        return null;
    }

    /**
     * Runs every call in one compiled program.
     *
     * @return per call, its outputs widened to double, in the kernel's output order
     */
    static List<List<double[]>> run(Path nvcc, Path dir, List<Call> calls) throws IOException, InterruptedException {
        Map<String, GeneratedKernel> kernels = new LinkedHashMap<>();
        calls.forEach(c -> kernels.putIfAbsent(c.kernel().name(), c.kernel()));
        StringBuilder main = new StringBuilder(ElementwiseCodegen.translationUnit(List.copyOf(kernels.values())));
        main.append("\n#include <stdio.h>\n#include <stdlib.h>\n");
        main.append("static void* readAll(const char* path, size_t bytes) { void* p = malloc(bytes ? bytes : 1); FILE* f = fopen(path, \"rb\");"
                + " if (!f || fread(p, 1, bytes, f) != bytes) { fprintf(stderr, \"read %s\\n\", path); exit(2); } fclose(f); return p; }\n");
        main.append("static void writeAll(const char* path, const void* p, size_t bytes) { FILE* f = fopen(path, \"wb\");"
                + " if (!f || fwrite(p, 1, bytes, f) != bytes) { fprintf(stderr, \"write %s\\n\", path); exit(3); } fclose(f); }\n");
        main.append("int main() {\n");
        for (int c = 0; c < calls.size(); c++) {
            GeneratedKernel k = calls.get(c).kernel();
            main.append("  {\n");
            List<String> args = new ArrayList<>();
            for (int i = 0; i < k.inputs().size(); i++) {
                Value in = k.inputs().get(i);
                Path file = dir.resolve("c" + c + "_in" + i + ".bin");
                Files.write(file, bytesOf(calls.get(c).inputs().get(i), in.dtype()));
                String type = ElementwiseCodegen.cType(in.dtype());
                main.append("    const ").append(type).append("* in").append(i).append(" = (const ").append(type).append("*) readAll(\"")
                        .append(file).append("\", ").append(bytes(in)).append(");\n");
                args.add("in" + i);
            }
            for (int o = 0; o < k.outputs().size(); o++) {
                Value out = k.outputs().get(o);
                String type = ElementwiseCodegen.cType(out.dtype());
                main.append("    ").append(type).append("* out").append(o).append(" = (").append(type).append("*) malloc(")
                        .append(Math.max(1, bytes(out))).append(");\n");
                args.add("out" + o);
            }
            main.append("    for (long long i = 0; i < ").append(k.elements()).append("LL; i++) ").append(k.elementFunction()).append("(i, ")
                    .append(String.join(", ", args)).append(");\n");
            for (int o = 0; o < k.outputs().size(); o++) {
                main.append("    writeAll(\"").append(dir.resolve("c" + c + "_out" + o + ".bin")).append("\", out").append(o).append(", ")
                        .append(bytes(k.outputs().get(o))).append(");\n");
            }
            main.append("  }\n");
        }
        main.append("  return 0;\n}\n");
        Path source = dir.resolve("harness.cu");
        Files.writeString(source, main);
        Path exe = dir.resolve("harness");
        exec(dir, nvcc.toString(), "-O1", "-o", exe.toString(), source.toString());
        exec(dir, exe.toString());
        List<List<double[]>> results = new ArrayList<>();
        for (int c = 0; c < calls.size(); c++) {
            GeneratedKernel k = calls.get(c).kernel();
            List<double[]> outs = new ArrayList<>();
            for (int o = 0; o < k.outputs().size(); o++) {
                outs.add(widen(Files.readAllBytes(dir.resolve("c" + c + "_out" + o + ".bin")), k.outputs().get(o).dtype()));
            }
            results.add(outs);
        }
        return results;
    }

    /**
     * Whether a generated value matches the CPU's: bit-exact for the IEEE ops, and within a few
     * float32 ulp (or one ulp of a half type, after its rounding) where the CPU's float32
     * transcendental functions differ from the double-precision ones generated.
     */
    static boolean close(double expected, double actual, DType t) {
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

    private static long bytes(Value v) {
        return v.shape().numel() * v.dtype().byteSize();
    }

    private static void exec(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
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
            tensor.segment().copyFrom(MemorySegment.ofArray(bytes));
            return tensor.toDoubleArray();
        }
    }
}
