package dev.frugal.runtime.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * One compiled program, run many times on the same input, gives the same bits every time: while
 * the JIT compiles the kernels part-way through the runs. Catches kernels whose floating-point
 * summation order depends on the execution mode (e.g. the Vector API's {@code reduceLanes(ADD)},
 * whose lane order differed between interpreted and compiled code).
 */
class RepeatedRunDeterminismTest {

    @Test
    void manyRunsOfOneProgramAreBitIdentical() {
        Graph g = new Graph("repeat");
        Value rows = g.input("rows", Shape.of(40, 1568), DType.F32);
        Value x = g.input("x", Shape.of(4, 6, 10, 10), DType.F32);
        Value wd = g.input("wd", Shape.of(6, 1, 3, 3), DType.F32);
        Value w5 = g.input("w5", Shape.of(6, 1, 5, 3), DType.F32);
        Value yd = Ops.conv2d(x, wd, new OpAttrs.Conv2d(1, 1, 1, 1, 1, 1, 6));
        Value y5 = Ops.conv2d(x, w5, new OpAttrs.Conv2d(1, 1, 2, 1, 1, 1, 6));
        Value loss = Ops.add(Ops.sum(Ops.mul(yd, yd), false), Ops.sum(Ops.mul(y5, y5), false));
        List<Value> grads = Autodiff.grad(loss, List.of(wd, w5));
        List<Value> outs = List.of(Ops.sum(rows, false), Ops.sum(rows, false, 1), grads.get(0), grads.get(1));
        Random rnd = new Random(99);
        try (Program p = Executor.cpu().compile(g, outs);
             Tensor rt = CpuReference.random(rnd, DType.F32, rows.shape(), -1, 1);
             Tensor xt = CpuReference.random(rnd, DType.F32, x.shape(), -1, 1);
             Tensor wdt = CpuReference.random(rnd, DType.F32, wd.shape(), -1, 1);
             Tensor w5t = CpuReference.random(rnd, DType.F32, w5.shape(), -1, 1)) {
            List<int[]> first = null;
            for (int run = 0; run < 400; run++) {
                List<Tensor> res = p.run(Map.of(rows, rt, x, xt, wd, wdt, w5, w5t));
                List<int[]> bits = new ArrayList<>();
                for (Tensor t : res) {
                    bits.add(t.segment().asSlice(t.offset() * 4, t.numel() * 4).toArray(ValueLayout.JAVA_INT));
                }
                if (first == null) {
                    first = bits;
                    continue;
                }
                for (int i = 0; i < bits.size(); i++) {
                    assertEquals(Arrays.toString(first.get(i)), Arrays.toString(bits.get(i)),
                            "output " + i + " (" + outs.get(i).node().op().printName() + ") changed on run " + run);
                }
            }
        }
    }
}
