package dev.frugal.runtime.exec;

import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.InputKind;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.Value;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A compiled graph: an ordered list of prepared kernel calls over a table of buffer slots, all
 * allocated once at compile time by {@link Executor#compile}. Replaying it with {@link #run}
 * copies the feeds into the program's input buffers and invokes the kernels in order; nothing is
 * allocated per run.
 *
 * <p>Parameters and state are bound once with {@link #bind} and stay the caller's tensors:
 * kernels read them in place, and the graph's {@link dev.frugal.runtime.graph.Op#ASSIGN}s write
 * the new values into them at the end of each step, after every read of the old values.
 *
 * <p>On a backend that records calls ({@link Backend#runCapture()}, CUDA graphs), the third
 * untimed run with the same bindings records its calls and every later one replays the
 * recording with one call; feeds are still copied into the same input buffers first. A binding
 * to another tensor drops the recording; a failure to record is logged once and the program goes
 * on calling kernels one by one.
 *
 * <p>A program is not thread-safe: run it from one thread at a time. {@link #close()} frees its
 * buffers (not the bound tensors); using a closed program throws {@link IllegalStateException}.
 */
public final class Program implements AutoCloseable {
    /**
     * One kernel call: {@code node} is null for a copy the executor inserted; {@code group} is the
     * fused group a call computes (then {@code node} is its last member, and there is one output
     * slot per {@link FusedGroup#outputs()}), else null and there is one output slot;
     * {@code recompute} marks a second run of a forward call for checkpointing. A step with
     * {@code rebind} set (and no kernel) points those slots at their recompute regions.
     */
    record Step(Kernel kernel, Node node, FusedGroup group, int[] inputSlots, int[] outputSlots, boolean recompute, int[] rebind) {
    }

    private final Graph graph;
    private final Backend backend;
    private final BufferPlan plan;
    /** Calls made once, when the program is made: the constants ({@link BufferPlan.SlotKind#CONSTANT}). */
    private final List<Step> setup;
    private final List<Step> steps;
    private final Map<Value, Integer> feedSlots;
    private final Map<Value, Integer> boundSlots;
    private final Map<Value, Tensor> boundTensors = new IdentityHashMap<>();
    private final List<Value> outputs;
    private final int[] outputSlots;
    private final MemoryPlan memoryPlan;
    private final dev.frugal.runtime.precision.AutocastReport autocast;
    /** The buffer table the kernels read: slot i's current buffer. */
    private final Buffer[] buffers;
    /** Slots that are recomputed, with their first-run and recompute regions. */
    private final int[] reboundSlots;
    private final Buffer[] firstRegion;
    private final Buffer[] recomputeRegion;
    /** Every buffer this program allocated (the arena, feeds, staging), freed on close. */
    private final List<Buffer> owned = new ArrayList<>();
    private boolean closed;
    /** Records the calls of a run for replay (CUDA graphs); null when the backend runs calls one by one or step replay is off. */
    private final RunCapture capture;
    /** The recorded calls, replayed by untimed runs; null until recorded. */
    private RunCapture.Recording recording;
    /** Runs since the bindings last changed, counted until the calls are recorded. */
    private int runsBeforeRecording;
    /** Set when recording failed: the program runs its calls one by one from then on. */
    private boolean recordingFailed;
    /** Whether the latest run queued all its calls, so {@link #readOutputs()} has something to read. */
    private boolean ran;
    /** Ordinary runs before the calls are recorded: the first compiles the kernels, the second warms every cache. */
    static final int RUNS_BEFORE_RECORDING = 2;
    private static final System.Logger LOG = System.getLogger(Program.class.getName());

    Program(Graph graph, Backend backend, BufferPlan plan, List<Step> setup, List<Step> steps, Map<Value, Integer> feedSlots,
            Map<Value, Integer> boundSlots, List<Value> outputs, int[] outputSlots, MemoryPlan memoryPlan,
            dev.frugal.runtime.precision.AutocastReport autocast, RunCapture capture) {
        this.autocast = autocast;
        this.graph = graph;
        this.backend = backend;
        this.plan = plan;
        this.setup = List.copyOf(setup);
        this.steps = List.copyOf(steps);
        this.feedSlots = feedSlots;
        this.boundSlots = boundSlots;
        this.outputs = outputs;
        this.outputSlots = outputSlots;
        this.memoryPlan = memoryPlan;
        this.capture = capture;
        int n = plan.slots.size();
        this.buffers = new Buffer[n];
        this.firstRegion = new Buffer[n];
        this.recomputeRegion = new Buffer[n];
        List<Integer> rebound = new ArrayList<>();
        try {
            Buffer arena = own(backend.allocate(Math.max(1, plan.arenaBytes), "activations"));
            Buffer constants = plan.constantBytes > 0 ? own(backend.allocate(plan.constantBytes, "constants")) : null;
            for (int i = 0; i < n; i++) {
                BufferPlan.Slot s = plan.slots.get(i);
                switch (s.kind()) {
                    case BOUND -> {
                        // the caller's tensor, bound later
                    }
                    case FEED -> buffers[i] = own(backend.allocate(s.bytes(), "inputs"));
                    case STAGING -> buffers[i] = own(backend.allocate(s.bytes(), "staging"));
                    case CONSTANT -> buffers[i] = backend.slice(constants, s.offset, s.bytes());
                    case WORK -> {
                        if (s.offset < 0) {
                            throw new IllegalStateException("memory plan: value " + s.label() + " (slot " + i + ") has no place in the arena");
                        }
                        buffers[i] = backend.slice(arena, s.offset, s.bytes());
                        if (s.recomputeOffset >= 0) {
                            firstRegion[i] = buffers[i];
                            recomputeRegion[i] = backend.slice(arena, s.recomputeOffset, s.bytes());
                            rebound.add(i);
                        }
                    }
                }
            }
            // values that never change are computed now, once, instead of in every step
            for (Step s : this.setup) {
                s.kernel().run(buffers);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            throw e;
        }
        this.reboundSlots = rebound.stream().mapToInt(Integer::intValue).toArray();
    }

    private Buffer own(Buffer b) {
        owned.add(b);
        return b;
    }

    /**
     * Binds a parameter or state input to the caller's tensor for every later run (rebinding
     * replaces the previous tensor). The tensor must be open, contiguous, and of the input's shape
     * and dtype; assignments write into it in place. Binding an input the program does not use is
     * allowed and does nothing.
     *
     * @throws IllegalArgumentException naming the input when it is not a parameter or state input
     *     of this program's graph, or the tensor does not match it
     */
    public void bind(Value input, Tensor tensor) {
        checkOpen("bind");
        if (input.graph() != graph || !(input.isInput(InputKind.PARAMETER) || input.isInput(InputKind.STATE))) {
            throw new IllegalArgumentException("bind: " + input + " is not a parameter or state input of graph '" + graph.name() + "'");
        }
        if (tensor.isClosed()) {
            throw new IllegalArgumentException("bind: tensor for input '" + input.ref() + "' is closed");
        }
        if (!tensor.shape().equals(input.shape()) || tensor.dtype() != input.dtype()) {
            throw new IllegalArgumentException("bind: input '" + input.ref() + "' expects " + input.dtype() + input.shape()
                    + ", got " + tensor.dtype() + tensor.shape());
        }
        if (!tensor.isContiguous()) {
            throw new IllegalArgumentException("bind: tensor for input '" + input.ref() + "' must be contiguous (it is updated in place); got strides "
                    + Arrays.toString(tensor.strides()) + " for " + tensor.shape() + "; bind tensor.contiguous() instead");
        }
        // host tensors bind to any backend (a device backend runs on a device copy); a device tensor only to its device
        if (tensor.device().kind() != dev.frugal.runtime.Device.Kind.CPU && !tensor.device().equals(backend.device())) {
            throw new IllegalArgumentException("bind: tensor for input '" + input.ref() + "' is on " + tensor.device() + ", the program runs on " + backend.device());
        }
        Integer slot = boundSlots.get(input);
        if (slot == null) {
            return; // not used by this program
        }
        Buffer wrapped = backend.wrap(tensor);
        if (!wrapped.equals(buffers[slot])) {
            forgetRecording(); // the recorded calls hold the old tensor's address
        }
        buffers[slot] = wrapped;
        boundTensors.put(input, tensor);
    }

    private void forgetRecording() {
        if (recording != null) {
            recording.close();
            recording = null;
        }
        runsBeforeRecording = 0;
    }

    /**
     * Runs one step: copies each data input's tensor from {@code feeds} into the program (feeds
     * may be any strided view; they are converted to contiguous buffers), runs every kernel, then
     * performs the assignments.
     *
     * @return the outputs, in the order given to {@link Executor#compile}. The tensors belong to
     *     the program: they are valid until the next run or {@link #close()}; copy what you keep
     * @throws IllegalArgumentException naming the input when a data input is missing, not an
     *     input of this graph, closed, or of the wrong shape or dtype
     * @throws IllegalStateException when the program is closed or a parameter or state input is
     *     unbound or its tensor was closed
     * @throws NonFiniteException when a reduction produced a NaN or infinity (and the check is on)
     */
    public List<Tensor> run(Map<Value, Tensor> feeds) {
        return run(feeds, null);
    }

    /** Receives the time of each kernel call of a profiled run ({@link #run(Map, KernelTimer)}). */
    @FunctionalInterface
    public interface KernelTimer {
        /**
         * One call.
         *
         * @param kernel the call's kind: {@code fused elementwise}, {@code fused reduction} (a group
         *               ending in a reduction), the op's name ({@code matmul}), or
         *               {@code copy} for a copy the executor inserted; {@code (recomputed)} appended to
         *               a forward call repeated under a memory budget
         * @param node   the node it computes (a fused group's last member); null for an inserted copy
         * @param nanos  its time (wall time on the CPU, device time on a GPU)
         */
        void called(String kernel, Node node, long nanos);
    }

    /**
     * {@link #run(Map)}, timing every kernel call and reporting it to {@code timer} (null: no
     * timing). On the CPU a call's wall time is its whole work, the calls being synchronous; a
     * device backend's calls are queued, so they are timed with its {@link Backend#kernelClock()}
     * (CUDA events around each call) and reported when the run ends.
     */
    public List<Tensor> run(Map<Value, Tensor> feeds, KernelTimer timer) {
        KernelClock clock = timer == null ? null : backend.kernelClock();
        List<Runnable> reports = clock == null ? null : new ArrayList<>();
        queue(feeds, timer, clock, reports);
        List<Tensor> out = readOutputs();
        if (reports != null) {
            reports.forEach(Runnable::run);
        }
        return out;
    }

    /**
     * {@link #run(Map)} without reading the outputs back: on a device backend the step is only
     * queued, and the call returns without waiting for the device (the CPU computes it at once).
     * {@link #readOutputs()} reads this run's outputs later, until the next run. A trainer that reads
     * its loss every N-th step queues the others this way, so the host runs ahead of the GPU.
     *
     * @throws IllegalArgumentException and the other exceptions of {@link #run(Map)}, except that
     *     a device's errors surface at the next read
     */
    public void runQueued(Map<Value, Tensor> feeds) {
        queue(feeds, null, null, null);
    }

    /**
     * The outputs of the latest run, read back from the device (waiting for it), in the order given
     * to {@link Executor#compile}; valid until the next run or {@link #close()}.
     *
     * @throws IllegalStateException when the program has not run yet, or is closed
     */
    public List<Tensor> readOutputs() {
        checkOpen("readOutputs");
        if (!ran) {
            throw new IllegalStateException("readOutputs: graph '" + graph.name() + "' has not run yet");
        }
        List<Tensor> out = new ArrayList<>(outputs.size());
        for (int i = 0; i < outputs.size(); i++) {
            Value v = outputs.get(i);
            out.add(backend.download(buffers[outputSlots[i]], v.shape(), v.dtype()));
        }
        return out;
    }

    /** Checks the feeds and bindings, uploads the feeds and queues (or runs) every call. */
    private void queue(Map<Value, Tensor> feeds, KernelTimer timer, KernelClock clock, List<Runnable> reports) {
        checkOpen("run");
        for (Value v : feeds.keySet()) {
            if (v.graph() != graph || !v.isInput(InputKind.DATA)) {
                throw new IllegalArgumentException("run: fed value " + v + " is not a data input of graph '" + graph.name() + "'");
            }
        }
        for (Value in : graph.inputs()) { // declaration order, so the error names the first bad feed
            if (!feedSlots.containsKey(in)) {
                continue;
            }
            Tensor t = feeds.get(in);
            if (t == null) {
                throw new IllegalArgumentException("run: data input '" + in.ref() + "' (" + in.dtype() + in.shape() + ") is not fed");
            }
            if (t.isClosed()) {
                throw new IllegalArgumentException("run: the tensor fed for input '" + in.ref() + "' is closed");
            }
            if (!t.shape().equals(in.shape()) || t.dtype() != in.dtype()) {
                throw new IllegalArgumentException("run: input '" + in.ref() + "' expects " + in.dtype() + in.shape()
                        + ", got " + t.dtype() + t.shape());
            }
        }
        for (Value in : graph.inputs()) { // declaration order, so the error names the first unbound input
            if (!boundSlots.containsKey(in)) {
                continue;
            }
            Tensor t = boundTensors.get(in);
            if (t == null) {
                throw new IllegalStateException("run: " + (in.isInput(InputKind.PARAMETER) ? "parameter" : "state") + " input '" + in.ref()
                        + "' is not bound; call bind(" + in.ref() + ", tensor) first");
            }
            if (t.isClosed()) {
                throw new IllegalStateException("run: the tensor bound to input '" + in.ref() + "' was closed");
            }
        }
        ran = false; // until the calls are queued: a run that fails from here has no outputs to read
        for (Map.Entry<Value, Integer> e : feedSlots.entrySet()) {
            backend.upload(feeds.get(e.getKey()), buffers[e.getValue()]);
        }
        for (int s : reboundSlots) {
            buffers[s] = firstRegion[s]; // a step computes every value first in its first region
        }
        if (timer == null && recording != null) {
            recording.replay();
            followRebinds();
        } else if (timer == null && capture != null && !recordingFailed && runsBeforeRecording >= RUNS_BEFORE_RECORDING) {
            record();
        } else {
            runSteps(timer, clock, reports);
            runsBeforeRecording++;
        }
        ran = true;
    }

    /** Runs every call in order, timing each for {@code timer} (with {@code clock}'s marks on a device) when it is not null. */
    private void runSteps(KernelTimer timer, KernelClock clock, List<Runnable> reports) {
        for (Step s : steps) {
            if (s.rebind() != null) {
                for (int slot : s.rebind()) {
                    buffers[slot] = recomputeRegion[slot];
                }
            } else if (timer == null) {
                s.kernel().run(buffers);
            } else if (clock == null) {
                long t0 = System.nanoTime();
                s.kernel().run(buffers);
                long nanos = System.nanoTime() - t0;
                timer.called(timedName(s), s.node(), nanos);
            } else {
                // queued work: marks around the call, read once the run's outputs have come back
                KernelClock.Mark before = clock.mark();
                s.kernel().run(buffers);
                KernelClock.Mark after = clock.mark();
                reports.add(() -> {
                    try (before; after) {
                        timer.called(timedName(s), s.node(), before.nanosTo(after));
                    }
                });
            }
        }
    }

    /** The buffer table as the calls leave it: recomputed slots point at their recompute regions. */
    private void followRebinds() {
        for (Step s : steps) {
            if (s.rebind() != null) {
                for (int slot : s.rebind()) {
                    buffers[slot] = recomputeRegion[slot];
                }
            }
        }
    }

    /**
     * Records this run's calls and replays the recording (recorded calls do not run); when the
     * calls cannot be recorded, says why once and runs them one by one, now and from then on.
     */
    private void record() {
        capture.begin();
        RunCapture.Recording made;
        try {
            runSteps(null, null, null);
        } catch (RuntimeException | Error e) {
            try {
                capture.end().close();
            } catch (RuntimeException ignored) {
                // the capture was broken by the failure itself
            }
            giveUpRecording(e.toString());
            return;
        }
        try {
            made = capture.end();
        } catch (UnsupportedOperationException e) {
            giveUpRecording(e.getMessage());
            return;
        }
        recording = made;
        recording.replay();
    }

    /** Logs why the calls could not be recorded and runs them one by one (again from the first regions). */
    private void giveUpRecording(String why) {
        recordingFailed = true;
        LOG.log(System.Logger.Level.INFO, "graph '" + graph.name() + "': runs call by call, its calls could not be recorded for replay: " + why);
        for (int s : reboundSlots) {
            buffers[s] = firstRegion[s];
        }
        runSteps(null, null, null);
    }

    /** A timed call's kind, as {@link KernelTimer#called} names it. */
    private static String timedName(Step s) {
        String name = s.group() != null ? (s.group().reduction() ? "fused reduction" : "fused elementwise")
                : s.node() == null ? "copy" : s.node().op().printName();
        return s.recompute() ? name + " (recomputed)" : name;
    }

    /** The backend this program runs on. */
    public Backend backend() {
        return backend;
    }

    /** The graph this program was compiled from. */
    public Graph graph() {
        return graph;
    }

    /** The outputs {@link #run} returns, in order. */
    public List<Value> outputs() {
        return outputs;
    }

    /**
     * Number of kernel calls per run (including executor-inserted copies and recomputed calls; a
     * fused group is one call).
     */
    public int stepCount() {
        int n = 0;
        for (Step s : steps) {
            if (s.kernel() != null) {
                n++;
            }
        }
        return n;
    }

    /** Which ops the autocast pass put in which dtype ({@link dev.frugal.runtime.precision.AutocastReport#none()} under FP32). */
    public dev.frugal.runtime.precision.AutocastReport autocastReport() {
        return autocast;
    }

    /** What this program needs in memory, by class, and what it recomputes ({@link MemoryPlan}). */
    public MemoryPlan memoryPlan() {
        return memoryPlan;
    }

    /** Number of fused kernel calls per run ({@link ElementwiseFusion}). */
    public int fusedCount() {
        int n = 0;
        for (Step s : steps) {
            if (s.group() != null && !s.recompute()) {
                n++;
            }
        }
        return n;
    }

    /** The fused groups this program calls, in call order (recomputed calls not repeated). */
    public List<FusedGroup> fusedGroups() {
        List<FusedGroup> groups = new ArrayList<>();
        for (Step s : steps) {
            if (s.kernel() != null && s.group() != null && !s.recompute()) {
                groups.add(s.group());
            }
        }
        return groups;
    }

    /**
     * The nodes this program calls as kernels of their own (not in a fused group), in call order
     * (recomputed calls and executor-inserted copies not included).
     */
    public List<Node> unfusedKernelNodes() {
        List<Node> nodes = new ArrayList<>();
        for (Step s : steps) {
            if (s.kernel() != null && s.group() == null && !s.recompute() && s.node() != null && s.rebind() == null) {
                nodes.add(s.node());
            }
        }
        return nodes;
    }

    /**
     * Bytes this program holds from its backend's memory manager: its buffers and its kernels'
     * workspaces (bound tensors not included); {@link MemoryPlan#managedBytes()}.
     */
    public long allocatedBytes() {
        return memoryPlan.managedBytes();
    }

    /**
     * The lowered program: the buffer table (slot, kind, bytes, first value stored there), then
     * one line per kernel call with its operand slots and the node it computes, e.g.
     * <pre>
     *   3: matmul s0 s1 -> s3 f32[32,256]    # %3 = matmul(x, w1) : f32[32,256]  # Mlp.forward(Mlp.java:42)
     * </pre>
     */
    public String listing() {
        StringBuilder sb = new StringBuilder("program ").append(graph.name()).append(" on ").append(backend.name())
                .append(" (").append(stepCount()).append(" calls, ").append(allocatedBytes()).append(" bytes allocated, arena ")
                .append(plan.arenaBytes).append(" bytes) {\n");
        for (int i = 0; i < plan.slots.size(); i++) {
            BufferPlan.Slot s = plan.slots.get(i);
            sb.append("  s").append(i).append(": ").append(s.kind().name().toLowerCase(java.util.Locale.ROOT))
                    .append(' ').append(s.bytes()).append(" B");
            if (s.offset >= 0) {
                sb.append(" @").append(s.offset);
            }
            if (s.recomputeOffset >= 0) {
                sb.append(", recomputed @").append(s.recomputeOffset);
            }
            sb.append("  (").append(s.label()).append(")\n");
        }
        for (Step s : setup) {
            sb.append(stepLine(new StringBuilder("  once: "), s)).append('\n');
        }
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            StringBuilder line = new StringBuilder("  ").append(i).append(": ");
            if (s.rebind() != null) {
                line.append("recompute into");
                for (int slot : s.rebind()) {
                    line.append(" s").append(slot);
                }
                sb.append(line).append('\n');
                continue;
            }
            if (s.recompute()) {
                line.append("(again) ");
            }
            sb.append(stepLine(line, s)).append('\n');
        }
        sb.append("  outputs:");
        for (int i = 0; i < outputs.size(); i++) {
            sb.append(' ').append(outputs.get(i).ref()).append("=s").append(outputSlots[i]);
        }
        return sb.append("\n}").toString();
    }

    /** {@code line} completed with a call's name, operand slots, type and what it computes. */
    private String stepLine(StringBuilder line, Step s) {
        String name = s.group() != null ? s.group().name() : s.node() == null ? "copy" : s.node().op().printName();
        line.append(name);
        for (int in : s.inputSlots()) {
            line.append(" s").append(in);
        }
        line.append(" ->");
        for (int o : s.outputSlots()) {
            line.append(" s").append(o);
        }
        if (s.node() != null && s.node().output() != null) {
            Value v = s.node().output();
            line.append(' ').append(v.dtype()).append(v.shape());
        }
        while (line.length() < 48) {
            line.append(' ');
        }
        if (s.group() != null) {
            line.append("  # ").append(s.group().memberRefs()).append(" -> ").append(s.node());
            for (Value extra : s.group().outputs().subList(1, s.group().outputs().size())) {
                line.append(", stores ").append(extra.ref());
            }
        } else if (s.node() != null) {
            line.append("  # ").append(s.node());
        } else {
            line.append("  # copy ").append(plan.slots.get(s.outputSlots()[0]).label());
        }
        return line.toString().stripTrailing();
    }

    @Override
    public String toString() {
        return listing();
    }

    /** Frees the program's buffers and kernel scratch; bound tensors stay the caller's. Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (recording != null) {
            recording.close();
            recording = null;
        }
        closeKernels(setup);
        closeKernels(steps);
        for (Buffer b : owned) {
            backend.free(b);
        }
        owned.clear();
        Arrays.fill(buffers, null);
        boundTensors.clear();
    }

    /** Closes the kernels of {@code steps}, each once (a recomputed call reuses its first run's kernel). */
    static void closeKernels(List<Step> steps) {
        java.util.Set<Kernel> done = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Step s : steps) {
            if (s.kernel() != null && done.add(s.kernel())) {
                s.kernel().close();
            }
        }
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    private void checkOpen(String what) {
        if (closed) {
            throw new IllegalStateException(what + ": program for graph '" + graph.name() + "' is closed");
        }
    }
}
