package dev.frugal.bench.cpu;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.autodiff.Autodiff;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.graph.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * 3x3 float32 convolutions (stride 1, padding 1) through the real executor on all cores: the
 * forward pass alone, and forward + backward (the traced {@code CONV2D} plus the input and weight
 * gradients from {@link Autodiff#vjp}, one program), the latter both with fed inputs (copied
 * into the program every run, as {@code Program.run} does for data inputs) and with the inputs
 * bound as parameters (wrapped, not copied). The {@code gflop} counter is GFLOP/s, counting
 * {@code 2 * numel(y) * (cIn/groups) * 9} for the forward pass and three times that for forward +
 * backward, as {@code benchmarks/pytorch/cpu_reference.py} does. Run with
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar Conv2dBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class Conv2dBenchmark {

    /** One convolution: two compiled programs (forward, forward + backward) and their inputs. */
    @State(Scope.Benchmark)
    public static class Problem {
        /**
         * {@code N x Cin x HW -> Cout[/gGroups]}: the two dense shapes of a small CNN and a
         * depthwise layer.
         */
        @Param({"32x32x28->64", "32x64x14->64", "32x64x14->64/g64"})
        public String shape;

        Program forward;
        Program forwardBackward;
        Program forwardBackwardBound;
        Value fx;
        Value fw;
        Value bx;
        Value bw;
        Value bdy;
        Tensor tx;
        Tensor tw;
        Tensor tdy;
        double forwardGflop;

        /** Parses the shape, traces and compiles both programs, and fills the inputs. */
        @Setup(Level.Trial)
        public void setUp() {
            String[] io = shape.split("->");
            String[] in = io[0].split("x");
            String[] out = io[1].split("/g");
            int n = Integer.parseInt(in[0]);
            int c = Integer.parseInt(in[1]);
            int hw = Integer.parseInt(in[2]);
            int k = Integer.parseInt(out[0]);
            int groups = out.length > 1 ? Integer.parseInt(out[1]) : 1;
            Shape xs = Shape.of(n, c, hw, hw);
            Shape ws = Shape.of(k, c / groups, 3, 3);
            OpAttrs.Conv2d p = new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, groups);

            Graph gf = new Graph("conv_fwd_bench");
            fx = gf.input("x", xs, DType.F32);
            fw = gf.input("w", ws, DType.F32);
            forward = Executor.cpu().compile(gf, List.of(Ops.conv2d(fx, fw, p)));

            Graph gb = new Graph("conv_fwd_bwd_bench");
            bx = gb.input("x", xs, DType.F32);
            bw = gb.input("w", ws, DType.F32);
            Value y = Ops.conv2d(bx, bw, p);
            bdy = gb.input("dy", y.shape(), DType.F32);
            List<Value> outputs = new ArrayList<>(Autodiff.vjp(List.of(y), List.of(bdy), List.of(bx, bw)));
            outputs.add(0, y);
            forwardBackward = Executor.cpu().compile(gb, outputs);

            // The same step with x, w and dy as bound parameters: the executor wraps bound tensors
            // without copying, as it would use activations produced by earlier layers, so this
            // variant times the kernels without the per-run copy of fed inputs.
            Graph gp = new Graph("conv_fwd_bwd_bound_bench");
            Value px = gp.parameter("x", xs, DType.F32);
            Value pw = gp.parameter("w", ws, DType.F32);
            Value py = Ops.conv2d(px, pw, p);
            Value pdy = gp.parameter("dy", py.shape(), DType.F32);
            List<Value> boundOutputs = new ArrayList<>(Autodiff.vjp(List.of(py), List.of(pdy), List.of(px, pw)));
            boundOutputs.add(0, py);
            forwardBackwardBound = Executor.cpu().compile(gp, boundOutputs);

            tx = MatmulBenchmark.random(xs, 3);
            tw = MatmulBenchmark.random(ws, 4);
            tdy = MatmulBenchmark.random(y.shape(), 5);
            forwardBackwardBound.bind(px, tx);
            forwardBackwardBound.bind(pw, tw);
            forwardBackwardBound.bind(pdy, tdy);
            forwardGflop = 2.0 * y.shape().numel() * (c / groups) * 9 / 1e9;
        }

        /** Frees both programs and the inputs. */
        @TearDown(Level.Trial)
        public void tearDown() {
            forward.close();
            forwardBackward.close();
            forwardBackwardBound.close();
            tx.close();
            tw.close();
            tdy.close();
        }
    }

    /** The forward convolution alone. */
    @Benchmark
    public Object forward(Problem p, MatmulBenchmark.Flops f) {
        List<Tensor> out = p.forward.run(Map.of(p.fx, p.tx, p.fw, p.tw));
        f.gflop += p.forwardGflop;
        return out;
    }

    /** Forward, input gradient and weight gradient in one program run, inputs bound (not copied per run). */
    @Benchmark
    public Object forwardBackwardBound(Problem p, MatmulBenchmark.Flops f) {
        List<Tensor> out = p.forwardBackwardBound.run(Map.of());
        f.gflop += 3 * p.forwardGflop;
        return out;
    }

    /** Forward, input gradient and weight gradient in one program run, inputs fed (copied in) each run. */
    @Benchmark
    public Object forwardBackward(Problem p, MatmulBenchmark.Flops f) {
        List<Tensor> out = p.forwardBackward.run(Map.of(p.bx, p.tx, p.bw, p.tw, p.bdy, p.tdy));
        f.gflop += 3 * p.forwardGflop;
        return out;
    }
}
