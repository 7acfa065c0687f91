package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Value;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs an {@link OpParityCases} case on two executors, a reference (the CPU backend) and a
 * candidate, on the same inputs, and fails with a message naming the case, the output, the
 * first mismatching elements (flat and multi-dimensional index, both values, the tolerance) and
 * how many mismatched in all.
 *
 * <p>Each case is compiled once per executor and run {@value #RUNS} times with fresh inputs (and,
 * for random draws, another counter offset), so a kernel that keeps a stale value from an earlier
 * run is caught, as well as one that never writes an element (with a candidate whose buffers start
 * poisoned). BOOL outputs are compared as raw bytes, so a byte a kernel never wrote (0xFF after
 * poisoning) does not pass for {@code true}.
 */
public final class BackendParity {
    /** Runs per case, each on fresh inputs. */
    public static final int RUNS = 2;
    /** Mismatching elements listed per output. */
    private static final int SHOWN = 8;

    private BackendParity() {
    }

    /** One output of one run, copied out of the program: values as doubles, BOOL as raw bytes. */
    public record Snapshot(DType dtype, Shape shape, double[] values) {
    }

    /** Copies {@code t} out (programs' output tensors are only valid until their next run). */
    public static Snapshot snapshot(Tensor t) {
        double[] v = new double[Math.toIntExact(t.numel())];
        if (t.dtype() == DType.BOOL) {
            MemorySegment seg = t.segment();
            for (int i = 0; i < v.length; i++) {
                v[i] = seg.get(ValueLayout.JAVA_BYTE, t.storageIndex(i)) & 0xff;
            }
        } else if (t.dtype().isIntegral()) {
            long[] l = t.toLongArray();
            for (int i = 0; i < v.length; i++) {
                v[i] = l[i];
            }
        } else {
            for (int i = 0; i < v.length; i++) {
                v[i] = t.getFlat(i);
            }
        }
        return new Snapshot(t.dtype(), t.shape(), v);
    }

    /** Runs a compiled program on {@code feeds} and copies out every output. */
    public static List<Snapshot> run(Program p, Map<Value, Tensor> feeds) {
        List<Tensor> outs = p.run(feeds);
        List<Snapshot> copies = new ArrayList<>(outs.size());
        for (Tensor t : outs) {
            copies.add(snapshot(t));
        }
        return copies;
    }

    /**
     * Compiles {@code c} on both executors, runs it {@value #RUNS} times on fresh inputs and
     * compares every output under its tolerance.
     *
     * @throws AssertionError naming the case, output, indices, values and tolerance on a mismatch
     */
    public static void compare(OpParityCases.Case c, Executor reference, Executor candidate) {
        compare(c, reference, candidate, RUNS);
    }

    /** {@link #compare(OpParityCases.Case, Executor, Executor)} with {@code runs} runs. */
    public static void compare(OpParityCases.Case c, Executor reference, Executor candidate, int runs) {
        OpParityCases.Instance in = c.build();
        try (Program ref = compile(reference, in, "reference"); Program cand = compile(candidate, in, "candidate")) {
            for (int run = 0; run < runs; run++) {
                Map<Value, Tensor> feeds = in.feeds(run);
                try {
                    List<Snapshot> expected = runOrFail(ref, feeds, in, "reference", run);
                    checkNoNaN(in.name() + " (run " + run + ")", in.outputs(), expected);
                    List<Snapshot> actual = runOrFail(cand, feeds, in, "candidate", run);
                    String problems = mismatches(in.name() + " (run " + run + ")", in.outputs(), expected, actual, 1.0);
                    if (problems != null) {
                        throw new AssertionError(problems + describe(reference, candidate));
                    }
                } finally {
                    feeds.values().forEach(Tensor::close);
                }
            }
        }
    }

    /**
     * Runs {@code steps} steps of a training case on both executors, each program bound to its own
     * copy of the same initial parameters and state, on the same batches, and compares the loss
     * and gradients of every step and the parameters and state after it ({@code looseness}
     * multiplies the case's tolerances, e.g. for mixed precision).
     */
    public static void compareTraining(OpParityCases.TrainingCase tc, Executor reference, Executor candidate, int steps, double looseness) {
        OpParityCases.Traced traced = tc.build();
        OpParityCases.Instance in = traced.instance();
        Map<Value, Tensor> refState = traced.initialValues();
        Map<Value, Tensor> candState = traced.initialValues();
        OpParityCases.Tol stateTol = new OpParityCases.Tol(1e-5, 1e-4).times(looseness);
        try (Program ref = compile(reference, in, "reference"); Program cand = compile(candidate, in, "candidate")) {
            refState.forEach(ref::bind);
            candState.forEach(cand::bind);
            for (int step = 0; step < steps; step++) {
                Map<Value, Tensor> feeds = in.feeds(step);
                try {
                    String where = in.name() + " (step " + step + ")";
                    List<Snapshot> expected = runOrFail(ref, feeds, in, "reference", step);
                    checkNoNaN(where, in.outputs(), expected);
                    List<Snapshot> actual = runOrFail(cand, feeds, in, "candidate", step);
                    String problems = mismatches(where, in.outputs(), expected, actual, looseness);
                    if (problems != null) {
                        throw new AssertionError(problems + describe(reference, candidate));
                    }
                    reference.backend().copyWrappedToHost();
                    candidate.backend().copyWrappedToHost();
                    List<OpParityCases.Output> stateOutputs = new ArrayList<>();
                    List<Snapshot> refValues = new ArrayList<>();
                    List<Snapshot> candValues = new ArrayList<>();
                    for (OpParityCases.Bound b : traced.bound()) {
                        stateOutputs.add(new OpParityCases.Output(b.input().ref() + " after the update", b.input(), stateTol));
                        refValues.add(snapshot(refState.get(b.input())));
                        candValues.add(snapshot(candState.get(b.input())));
                    }
                    problems = mismatches(where, stateOutputs, refValues, candValues, 1.0);
                    if (problems != null) {
                        throw new AssertionError(problems + describe(reference, candidate));
                    }
                } finally {
                    feeds.values().forEach(Tensor::close);
                }
            }
        } finally {
            refState.values().forEach(Tensor::close);
            candState.values().forEach(Tensor::close);
        }
    }

    /**
     * Fails when the reference computed a NaN: the case must keep its inputs inside the op's
     * domain, or a candidate's unwritten (poisoned, NaN) element could pass for a right one.
     */
    private static void checkNoNaN(String where, List<OpParityCases.Output> outputs, List<Snapshot> expected) {
        for (int o = 0; o < outputs.size(); o++) {
            double[] v = expected.get(o).values();
            for (int i = 0; i < v.length; i++) {
                if (Double.isNaN(v[i])) {
                    throw new AssertionError(where + ": the reference computed NaN at " + index(expected.get(o).shape(), i) + " of output "
                            + outputs.get(o).name() + "; keep the case's inputs inside the op's domain, or a poisoned element could pass");
                }
            }
        }
    }

    private static Program compile(Executor ex, OpParityCases.Instance in, String role) {
        try {
            return ex.compile(in.graph(), in.values());
        } catch (RuntimeException e) {
            throw new AssertionError(in.name() + ": the " + role + " (" + ex.backend().name() + ") failed to compile it: " + e, e);
        }
    }

    private static List<Snapshot> runOrFail(Program p, Map<Value, Tensor> feeds, OpParityCases.Instance in, String role, int run) {
        try {
            return run(p, feeds);
        } catch (RuntimeException e) {
            throw new AssertionError(in.name() + " (run " + run + "): the " + role + " failed: " + e, e);
        }
    }

    private static String describe(Executor reference, Executor candidate) {
        return "\n  reference: " + reference.backend().name() + (reference.fuses() ? " fused" : " unfused")
                + "; candidate: " + candidate.backend().name() + (candidate.fuses() ? " fused" : " unfused")
                + "; seed property " + OpParityCases.SEED_PROPERTY + "=" + Long.getLong(OpParityCases.SEED_PROPERTY, 0x5EED_2024L);
    }

    /**
     * The mismatches between two runs' outputs, or null when every element is within its output's
     * tolerance (times {@code looseness}).
     */
    public static String mismatches(String where, List<OpParityCases.Output> outputs, List<Snapshot> expected, List<Snapshot> actual,
                                    double looseness) {
        StringBuilder report = new StringBuilder();
        for (int o = 0; o < outputs.size(); o++) {
            OpParityCases.Output out = outputs.get(o);
            OpParityCases.Tol tol = out.tol().times(looseness);
            Snapshot e = expected.get(o);
            Snapshot a = actual.get(o);
            if (!e.shape().equals(a.shape()) || e.dtype() != a.dtype()) {
                report.append(String.format(Locale.ROOT, "%n  output %s: expected %s%s, got %s%s", out.name(), e.dtype(), e.shape(), a.dtype(), a.shape()));
                continue;
            }
            int bad = 0;
            int nans = 0;
            double worst = 0;
            StringBuilder first = new StringBuilder();
            for (int i = 0; i < e.values().length; i++) {
                double x = e.values()[i];
                double y = a.values()[i];
                if (!tol.accepts(x, y)) {
                    if (Double.isNaN(y)) {
                        nans++;
                    }
                    worst = Math.max(worst, Math.abs(x - y));
                    if (bad < SHOWN) {
                        first.append(String.format(Locale.ROOT, "%n      [%d] %s: expected %s, got %s (diff %.3g)", i, index(e.shape(), i), show(e.dtype(), x),
                                show(e.dtype(), y), Math.abs(x - y)));
                    }
                    bad++;
                }
            }
            if (bad > 0) {
                report.append(String.format(Locale.ROOT, "%n  output %s (%s%s), tolerance %s: %d of %d elements differ%s, largest difference %.4g; first:%s",
                        out.name(), e.dtype(), e.shape(), tol, bad, e.values().length,
                        nans > 0 ? " (" + nans + " NaN: unwritten or poisoned elements?)" : "", worst, first));
            }
        }
        return report.isEmpty() ? null : where + ":" + report;
    }

    private static String show(DType t, double v) {
        if (t.isIntegral()) {
            return Long.toString((long) v);
        }
        return t == DType.F32 ? Float.toString((float) v) : Double.toString(v);
    }

    /** The multi-dimensional index of flat position {@code flat} in {@code shape}. */
    private static String index(Shape shape, long flat) {
        int[] dims = shape.dims();
        long[] idx = new long[dims.length];
        for (int d = dims.length - 1; d >= 0; d--) {
            idx[d] = flat % dims[d];
            flat /= dims[d];
        }
        return java.util.Arrays.toString(idx);
    }
}
