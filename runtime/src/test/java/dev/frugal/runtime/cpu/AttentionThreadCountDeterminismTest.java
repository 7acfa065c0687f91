package dev.frugal.runtime.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fused attention and its gradient give bit-identical results on 1 and 3 threads (as
 * {@link ThreadCountDeterminismTest} does for the other kernels: the pool size is fixed per JVM,
 * so the workload runs in two child JVMs). The shapes have many (batch, head, query block) units,
 * partial blocks and both masks, in F32 and BF16.
 */
class AttentionThreadCountDeterminismTest {

    /** Runs the workload and prints one line per output: its shape and a hash of its raw bytes. */
    public static void main(String[] args) {
        for (String line : workload()) {
            System.out.println(line);
        }
    }

    static List<String> workload() {
        Random rnd = new Random(99);
        Graph g = new Graph("attention-determinism");
        List<Value> outs = new ArrayList<>();
        Map<Value, Tensor> feeds = new HashMap<>();
        int n = 0;
        for (DType t : new DType[] {DType.F32, DType.BF16}) {
            for (boolean causal : new boolean[] {true, false}) {
                Shape shape = Shape.of(3, 2, 150, 24);
                Value[] qkv = new Value[3];
                for (int i = 0; i < 3; i++) {
                    qkv[i] = g.input("x" + n++, shape, t);
                    feeds.put(qkv[i], CpuReference.random(rnd, t, shape, -2, 2));
                }
                Value out = Functional.scaledDotProductAttention(qkv[0], qkv[1], qkv[2], causal);
                Value r = g.input("r" + n++, shape, t);
                feeds.put(r, CpuReference.random(rnd, t, shape, -1, 1));
                Value loss = Ops.sum(Ops.cast(Ops.mul(out, r), DType.F32), false);
                outs.add(out);
                outs.addAll(Autodiff.grad(loss, List.of(qkv)));
            }
        }
        List<String> lines = new ArrayList<>();
        try (Program p = Executor.cpu().compile(g, outs)) {
            List<Tensor> res = p.run(feeds);
            for (Tensor t : res) {
                long bytes = t.numel() * t.dtype().byteSize();
                byte[] raw = t.segment().asSlice(t.offset() * t.dtype().byteSize(), bytes).toArray(ValueLayout.JAVA_BYTE);
                lines.add(t.dtype() + "" + t.shape() + " " + Arrays.hashCode(raw));
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
        return lines;
    }

    private static List<String> runChild(int threads) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector", "-Xmx1g",
                "-Dfrugal.cpu.threads=" + threads, "-cp", System.getProperty("java.class.path"), AttentionThreadCountDeterminismTest.class.getName());
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
        assertEquals(16, one.size(), String.join("\n", one));
        for (int i = 0; i < one.size(); i++) {
            assertEquals(one.get(i), three.get(i), "output " + i + " differs between 1 and 3 threads");
        }
    }
}
