package dev.frugal.runtime.cuda;

import dev.frugal.memory.Allocation;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.memory.HostStream;
import dev.frugal.memory.MemoryStream;
import dev.frugal.memory.PinnedStagingPool;
import dev.frugal.memory.StagingBuffer;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Device;
import dev.frugal.runtime.graph.OpAttrs;
import dev.frugal.runtime.graph.Value;
import dev.frugal.runtime.numeric.BFloat16;
import dev.frugal.runtime.numeric.Float16;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;

/**
 * A GPU emulated in host memory behind {@link DeviceApi}, so {@link CudaBackend}'s planning
 * (slots, offsets, argument order, grids, GEMM and convolution parameters, copies and staging) is
 * checked against the CPU backend without a GPU.
 *
 * <ul>
 *   <li>Device memory is host memory: {@link #memory()} is a caching allocator over a
 *       {@link HostRawAllocator}, so a device address is a host address. Every address the backend
 *       passes (kernel arguments, GEMM and convolution operands, copies) must lie, with the bytes
 *       the call touches, inside one live allocation of that allocator: a pointer to host memory,
 *       to a freed block or past a buffer's end fails the call.</li>
 *   <li>Generated kernels are compiled by nvcc for the host into shared libraries, with one
 *       {@code extern "C" NAME_host(void* const* args)} entry per kernel that calls the kernel's
 *       {@code NAME_element} for every work item (a block-per-item kernel's element function replays
 *       its block). {@link #load} only records a kernel; the first {@link #launch} after new loads
 *       compiles every pending kernel into one library, cached on disk by the hash of its source and
 *       nvcc's flags ({@value #CACHE_PROPERTY} names the folder).</li>
 *   <li>GEMMs are {@code cublasGemmStridedBatchedEx} in column-major terms and convolutions cuDNN's
 *       NCHW/KCRS cross-correlation, in direct loops with float accumulation (double for F64).</li>
 *   <li>Everything runs at once in the calling thread: the streams are host streams. Nothing can
 *       run out of order: by {@link DeviceApi#upload}'s contract an upload is ordered after the
 *       compute work queued before it ({@link DriverDeviceApi} makes the copy stream wait for
 *       it), and everything else is on the compute stream.</li>
 * </ul>
 *
 * <p>It counts its calls ({@link #launches()}, {@link #gemms()}, ...) for tests to assert on, and
 * records its launches and GEMMs. It claims to be {@code cuda:0} (system property
 * {@code frugal.hostdevice.device} to claim another). Public, in the runtime's test jar, so the
 * trainer's tests train on it too ({@link #openOrSkip()}).
 */
public final class HostDeviceApi implements DeviceApi {
    /** nvcc's flags: host code at -O1 as HostHarness compiles it; device code only as PTX (no ptxas: faster). */
    private static final List<String> NVCC_FLAGS = List.of("-x", "cu", "-shared", "-Xcompiler", "-fPIC", "-O1",
            "-arch=compute_75", "-code=compute_75", "-w");
    /** System property: the folder of compiled kernel libraries (default {@code ~/.cache/frugal/host-device-kernels}). */
    static final String CACHE_PROPERTY = "frugal.hostdevice.cache";
    /** Bytes the emulated convolutions ask for as workspace. */
    static final long CONVOLUTION_WORKSPACE = 256;
    private static final int MAX_ARGUMENTS = 64;

    private final Path nvcc;
    /** {@link #NVCC_FLAGS} and how to link the CUDA runtime (shared when nvcc's lib64 has it: 17 KB libraries instead of 1 MB). */
    private final List<String> flags;
    private final Path cacheDir;
    private final Device device;
    private final int multiprocessors;
    private final HostRawAllocator raw = new HostRawAllocator();
    private final HostRawAllocator pinned = new HostRawAllocator();
    private final HostStream stream = HostStream.create();
    private final CachingAllocator memory;
    private final PinnedStagingPool staging = new PinnedStagingPool(pinned);
    private final Map<String, HostKernel> kernels = new LinkedHashMap<>();
    private final List<HostKernel> pending = new ArrayList<>();
    private final List<Arena> libraries = new ArrayList<>();
    private final Arena argumentArena = Arena.ofShared();
    private final MemorySegment arguments = argumentArena.allocate(ValueLayout.ADDRESS, MAX_ARGUMENTS);
    private final Map<String, Convolution> convolutions = new LinkedHashMap<>();
    private final List<String> leaksAtClose = new ArrayList<>();
    private boolean closed;

    private long launches;
    /** The launch that faults ({@link #faultAtLaunch}); -1 for none. */
    private long faultAtLaunch = -1;
    /** Set once a launch faulted: what happened. */
    private String fault;
    /** The op named for the calls queued now ({@link #nameCalls}). */
    private String callsFor;
    private long gemms;
    private long convolutionRuns;
    private long uploads;
    private long landedUploads;
    private long uploadedBytes;
    private long downloads;
    private long copies;
    private long zeros;
    private long compilations;
    private long synchronizations;
    private long marks;
    private boolean deferLaunches;
    /** When set, every capture ends in this failure (as a call a CUDA graph cannot hold would). */
    private String captureFailure;
    private long launchesSkipped;
    private long marksClosed;
    /** The calls queued since {@link #beginCapture()}, run by the replay; null when not capturing. */
    private List<Runnable> captured;
    /** The live allocations when the capture began: a capture must not allocate. */
    private Set<Allocation> liveAtCapture;
    private long captures;
    private long replays;
    private final Map<String, Long> launchesByKernel = new LinkedHashMap<>();
    private final List<Launch> launchLog = new ArrayList<>();
    private final List<GemmCall> gemmLog = new ArrayList<>();

    /** One recorded launch: the kernel's name and grid. */
    record Launch(String kernel, int blocks, int threads) {
    }

    /**
     * An emulated {@code cuda:0} with two multiprocessors (so grid capping is exercised). The
     * system property {@code frugal.hostdevice.device} makes it claim another device (such as
     * {@code cpu}, to get past a device check that refuses host tensors).
     *
     * @param nvcc the compiler of the generated kernels
     */
    /** An emulated {@code cuda:0}, or the calling test is skipped when nvcc is not installed. */
    public static HostDeviceApi openOrSkip() {
        return new HostDeviceApi(HostHarness.nvccOrSkip());
    }

    HostDeviceApi(Path nvcc) {
        this(nvcc, Device.parse(System.getProperty("frugal.hostdevice.device", "cuda:0")), 2);
    }

    /**
     * @param nvcc            the compiler of the generated kernels
     * @param device          the device it claims to be
     * @param multiprocessors what {@link #multiprocessors()} answers
     */
    HostDeviceApi(Path nvcc, Device device, int multiprocessors) {
        this.nvcc = nvcc;
        List<String> f = new ArrayList<>(NVCC_FLAGS);
        try {
            Path lib = nvcc.toRealPath().getParent().getParent().resolve("lib64");
            if (Files.exists(lib.resolve("libcudart.so"))) {
                f.addAll(List.of("-cudart", "shared", "-Xlinker", "-rpath," + lib));
            }
        } catch (IOException e) {
            // static runtime
        }
        this.flags = List.copyOf(f);
        this.device = device;
        this.multiprocessors = multiprocessors;
        this.memory = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(true).withDefaultStream(stream));
        // outside the build tree, so a clean clone (CI) reuses the libraries an earlier build compiled
        String cache = System.getProperty(CACHE_PROPERTY);
        this.cacheDir = (cache != null ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "frugal", "host-device-kernels")).toAbsolutePath();
    }

    // ------------------------------------------------------------------ counters

    public long launches() {
        return launches;
    }

    public long gemms() {
        return gemms;
    }

    public long convolutionRuns() {
        return convolutionRuns;
    }

    public long uploads() {
        return uploads;
    }

    long uploadedBytes() {
        return uploadedBytes;
    }

    /** Uploads that went through a landing buffer ({@link #uploadVia}); each also counts as an upload and a copy. */
    public long landedUploads() {
        return landedUploads;
    }

    public long downloads() {
        return downloads;
    }

    long copies() {
        return copies;
    }

    long zeros() {
        return zeros;
    }

    /** Captures ended into a replay. */
    public long captures() {
        return captures;
    }

    /** Replays launched (each runs its recorded calls, counted again by the other counters). */
    public long replays() {
        return replays;
    }

    /** Timing marks recorded. */
    public long marks() {
        return marks;
    }

    /** Timing marks closed (each holds an event on a GPU). */
    long marksClosed() {
        return marksClosed;
    }

    /** nvcc invocations (libraries compiled, not found in the disk cache). */
    long compilations() {
        return compilations;
    }

    /** Kernels loaded (distinct names). */
    int loadedKernels() {
        return kernels.size();
    }

    /** The convolutions chosen, one per distinct call. */
    int convolutionChoices() {
        return convolutions.size();
    }

    Map<String, Long> launchesByKernel() {
        return Map.copyOf(launchesByKernel);
    }

    List<Launch> launchLog() {
        return List.copyOf(launchLog);
    }

    List<GemmCall> gemmLog() {
        return List.copyOf(gemmLog);
    }

    /** Descriptions of the allocations still live when the device closed (leaks). */
    public List<String> leaksAtClose() {
        return List.copyOf(leaksAtClose);
    }

    boolean isClosed() {
        return closed;
    }

    // ------------------------------------------------------------------ DeviceApi

    @Override
    public Device device() {
        return device;
    }

    @Override
    public String description() {
        return "host emulation of a GPU (" + multiprocessors + " multiprocessors)";
    }

    @Override
    public CachingAllocator memory() {
        return memory;
    }

    @Override
    public MemoryStream computeStream() {
        return stream;
    }

    @Override
    public PinnedStagingPool staging() {
        return staging;
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public void zero(long address, long bytes) {
        checkOpen();
        check(address, bytes, "zero");
        if (captured != null) {
            captured.add(() -> zero(address, bytes));
            return;
        }
        zeros++;
        if (bytes > 0) {
            at(address, bytes).fill((byte) 0);
        }
    }

    @Override
    public void copy(long source, long destination, long bytes) {
        checkOpen();
        check(source, bytes, "copy source");
        check(destination, bytes, "copy destination");
        if (captured != null) {
            captured.add(() -> copy(source, destination, bytes));
            return;
        }
        copies++;
        if (bytes > 0) {
            MemorySegment.copy(at(source, bytes), 0, at(destination, bytes), 0, bytes);
        }
    }

    @Override
    public void upload(StagingBuffer source, long destination, long bytes) {
        checkOpen();
        try {
            refuseDuringCapture("an upload");
            if (bytes > source.requestedSize()) {
                throw new IllegalArgumentException("upload of " + bytes + " bytes from " + source + " of " + source.requestedSize() + " bytes");
            }
            check(destination, bytes, "upload destination");
            MemorySegment.copy(source.segment(), 0, at(destination, bytes), 0, bytes);
            uploads++;
            uploadedBytes += bytes;
        } finally {
            source.release();
        }
    }

    /** The upload into {@code landing}, then a device copy into {@code destination}: at once, in order, as everything here. */
    @Override
    public void uploadVia(StagingBuffer source, long landing, long destination, long bytes) {
        checkOpen();
        try {
            check(destination, bytes, "upload destination");
        } catch (RuntimeException e) {
            source.release();
            throw e;
        }
        upload(source, landing, bytes);
        copy(landing, destination, bytes);
        landedUploads++;
    }

    @Override
    public void download(long source, MemorySegment destination, long bytes) {
        checkOpen();
        check(source, bytes, "download source");
        refuseDuringCapture("a download");
        if (destination.byteSize() < bytes) {
            throw new IllegalArgumentException("download of " + bytes + " bytes into a host segment of " + destination.byteSize());
        }
        downloads++;
        if (bytes > 0) {
            MemorySegment.copy(at(source, bytes), 0, destination, 0, bytes);
        }
    }

    @Override
    public LoadedKernel load(GeneratedKernel kernel) {
        checkOpen();
        HostKernel k = kernels.get(kernel.name());
        if (k != null) {
            if (!k.kernel.body().equals(kernel.body())) {
                throw new IllegalStateException("two kernels named " + kernel.name() + " with different code");
            }
            return k;
        }
        k = new HostKernel(kernel);
        kernels.put(kernel.name(), k);
        pending.add(k);
        return k;
    }

    @Override
    public void launch(LoadedKernel loaded, int blocks, int threads, long[] pointers) {
        checkOpen();
        if (!(loaded instanceof HostKernel k) || kernels.get(k.name()) != k) {
            throw new IllegalArgumentException("launch of a kernel this device did not load: " + loaded);
        }
        GeneratedKernel kernel = k.kernel;
        if (blocks < 1 || blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("launch " + k.name() + ": grid of " + blocks + " blocks");
        }
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("launch " + k.name() + ": block of " + threads + " threads");
        }
        if (kernel.blockPerItem() && threads != kernel.blockThreads()) {
            throw new IllegalArgumentException("launch " + k.name() + ": a block-per-item kernel written for blocks of " + kernel.blockThreads()
                    + " threads launched with " + threads);
        }
        List<Value> params = new ArrayList<>(kernel.inputs());
        params.addAll(kernel.outputs());
        if (pointers.length > MAX_ARGUMENTS) {
            throw new UnsupportedOperationException("the host device passes at most " + MAX_ARGUMENTS + " kernel arguments, " + k.name() + " has "
                    + pointers.length);
        }
        if (pointers.length != params.size()) {
            throw new IllegalArgumentException("launch " + k.name() + ": " + pointers.length + " pointers for " + params.size() + " parameters");
        }
        for (int i = 0; i < pointers.length; i++) {
            Value v = params.get(i);
            check(pointers[i], v.shape().numel() * v.dtype().byteSize(), "argument " + i + " (" + v.dtype() + v.shape() + ") of " + k.name());
        }
        if (deferLaunches) {
            launchesSkipped++;
            return;
        }
        if (k.handle == null) {
            compilePending(); // a real capture needs the kernel loaded beforehand too
        }
        if (captured != null) {
            long[] recorded = pointers.clone(); // the caller may reuse its array
            String op = callsFor; // a graph's node keeps the op it was captured for
            captured.add(() -> {
                callsFor = op;
                launch(loaded, blocks, threads, recorded);
            });
            return;
        }
        if (faultAtLaunch >= 0 && launches >= faultAtLaunch) {
            fault = "an illegal memory access in kernel " + k.name() + (callsFor != null ? " for " + callsFor : "")
                    + " (emulated fault of launch " + launches + ")";
            throw new IllegalStateException(fault);
        }
        launches++;
        launchesByKernel.merge(k.name(), 1L, Long::sum);
        launchLog.add(new Launch(k.name(), blocks, threads));
        for (int i = 0; i < pointers.length; i++) {
            arguments.setAtIndex(ValueLayout.ADDRESS, i, MemorySegment.ofAddress(pointers[i]));
        }
        try {
            k.handle.invokeExact(arguments);
        } catch (Throwable e) {
            throw new IllegalStateException("host launch of " + k.name() + " failed", e);
        }
    }

    @Override
    public void gemm(GemmCall call, long a, long b, long c) {
        checkOpen();
        if (captured != null) {
            captured.add(() -> gemm(call, a, b, c));
            return;
        }
        gemms++;
        gemmLog.add(call);
        int m = call.m();
        int n = call.n();
        int k = call.k();
        int batch = call.batch();
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        long size = call.type().byteSize();
        // the furthest element each operand's batch touches, as cuBLAS reads them
        long aLast = call.transA() ? (k - 1) + (long) (m - 1) * call.lda() : (m - 1) + (long) (k - 1) * call.lda();
        long bLast = call.transB() ? (n - 1) + (long) (k - 1) * call.ldb() : (k - 1) + (long) (n - 1) * call.ldb();
        long cLast = (m - 1) + (long) (n - 1) * call.ldc();
        if (k > 0) {
            check(a, (aLast + call.strideA() * (batch - 1) + 1) * size, "GEMM A of " + call);
            check(b, (bLast + call.strideB() * (batch - 1) + 1) * size, "GEMM B of " + call);
        }
        check(c, (cLast + call.strideC() * (batch - 1) + 1) * size, "GEMM C of " + call);
        // operands widened into arrays once (a per-element type switch in the triple loop made the
        // emulation several times slower once the JIT had seen more than one type there)
        long aElements = k > 0 ? aLast + call.strideA() * (batch - 1) + 1 : 0;
        long bElements = k > 0 ? bLast + call.strideB() * (batch - 1) + 1 : 0;
        long cElements = cLast + call.strideC() * (batch - 1) + 1;
        Elements ec = new Elements(call.type(), c);
        if (call.type() == DType.F64) {
            double[] av = new Elements(call.type(), a).doubles(aElements);
            double[] bv = new Elements(call.type(), b).doubles(bElements);
            double[] cv = ec.doubles(cElements);
            double[] rows = new double[m * k]; // op(A) row by row and op(B) column by column: the sums read memory in order
            double[] cols = new double[n * k];
            for (int bi = 0; bi < batch; bi++) {
                for (int i = 0; i < m; i++) {
                    for (int p = 0; p < k; p++) {
                        rows[i * k + p] = av[(int) aIndex(call, bi, i, p)];
                    }
                }
                for (int j = 0; j < n; j++) {
                    for (int p = 0; p < k; p++) {
                        cols[j * k + p] = bv[(int) bIndex(call, bi, p, j)];
                    }
                }
                for (int j = 0; j < n; j++) {
                    int cj = j * k;
                    long cOut = bi * call.strideC() + (long) j * call.ldc();
                    int i = 0;
                    for (; i + 4 <= m; i += 4) { // four rows at once: independent sums, each still in order of p
                        double acc0 = 0;
                        double acc1 = 0;
                        double acc2 = 0;
                        double acc3 = 0;
                        for (int p = 0, r0 = i * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k; p < k; p++) {
                            double bp = cols[cj + p];
                            acc0 += rows[r0 + p] * bp;
                            acc1 += rows[r1 + p] * bp;
                            acc2 += rows[r2 + p] * bp;
                            acc3 += rows[r3 + p] * bp;
                        }
                        cv[(int) (cOut + i)] = acc0;
                        cv[(int) (cOut + i + 1)] = acc1;
                        cv[(int) (cOut + i + 2)] = acc2;
                        cv[(int) (cOut + i + 3)] = acc3;
                    }
                    for (; i < m; i++) {
                        double acc = 0;
                        for (int p = 0, ri = i * k; p < k; p++) {
                            acc += rows[ri + p] * cols[cj + p];
                        }
                        cv[(int) (cOut + i)] = acc;
                    }
                }
            }
            ec.setDoubles(cv);
        } else {
            float[] av = new Elements(call.type(), a).floats(aElements);
            float[] bv = new Elements(call.type(), b).floats(bElements);
            float[] cv = ec.floats(cElements); // elements between the columns keep their values
            float[] rows = new float[m * k];
            float[] cols = new float[n * k];
            for (int bi = 0; bi < batch; bi++) {
                for (int i = 0; i < m; i++) {
                    for (int p = 0; p < k; p++) {
                        rows[i * k + p] = av[(int) aIndex(call, bi, i, p)];
                    }
                }
                for (int j = 0; j < n; j++) {
                    for (int p = 0; p < k; p++) {
                        cols[j * k + p] = bv[(int) bIndex(call, bi, p, j)];
                    }
                }
                for (int j = 0; j < n; j++) {
                    int cj = j * k;
                    long cOut = bi * call.strideC() + (long) j * call.ldc();
                    int i = 0;
                    for (; i + 4 <= m; i += 4) { // four rows at once: independent sums, each still in order of p
                        float acc0 = 0;
                        float acc1 = 0;
                        float acc2 = 0;
                        float acc3 = 0;
                        for (int p = 0, r0 = i * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k; p < k; p++) {
                            float bp = cols[cj + p];
                            acc0 += rows[r0 + p] * bp;
                            acc1 += rows[r1 + p] * bp;
                            acc2 += rows[r2 + p] * bp;
                            acc3 += rows[r3 + p] * bp;
                        }
                        cv[(int) (cOut + i)] = acc0;
                        cv[(int) (cOut + i + 1)] = acc1;
                        cv[(int) (cOut + i + 2)] = acc2;
                        cv[(int) (cOut + i + 3)] = acc3;
                    }
                    for (; i < m; i++) {
                        float acc = 0;
                        for (int p = 0, ri = i * k; p < k; p++) {
                            acc += rows[ri + p] * cols[cj + p];
                        }
                        cv[(int) (cOut + i)] = acc;
                    }
                }
            }
            ec.setFloats(cv);
        }
    }

    /** Where A's element (i, p) of batch {@code bi} lies, column-major as cuBLAS reads it. */
    private static long aIndex(GemmCall call, int bi, int i, int p) {
        return bi * call.strideA() + (call.transA() ? p + (long) i * call.lda() : i + (long) p * call.lda());
    }

    /** Where B's element (p, j) of batch {@code bi} lies. */
    private static long bIndex(GemmCall call, int bi, int p, int j) {
        return bi * call.strideB() + (call.transB() ? j + (long) p * call.ldb() : p + (long) j * call.ldb());
    }

    @Override
    public Convolution convolution(ConvolutionCall call) {
        checkOpen();
        return convolutions.computeIfAbsent(call.key(), key -> new HostConvolution(call));
    }

    @Override
    public Mark mark() {
        checkOpen();
        refuseDuringCapture("a timing mark");
        marks++;
        return new HostMark(System.nanoTime());
    }

    /** A timing mark: the wall clock when it was recorded (the work before it is done by then). */
    private final class HostMark implements Mark {
        private final long nanos;
        private boolean closed;

        HostMark(long nanos) {
            this.nanos = nanos;
        }

        @Override
        public float millisTo(Mark later) {
            if (closed || ((HostMark) later).closed) {
                throw new IllegalStateException("timing with a closed mark");
            }
            return (((HostMark) later).nanos - nanos) / 1e6f;
        }

        @Override
        public void close() {
            if (closed) {
                throw new IllegalStateException("mark closed twice");
            }
            closed = true;
            marksClosed++;
        }
    }

    @Override
    public void synchronize() {
        checkOpen();
        refuseDuringCapture("synchronizing");
        synchronizations++;
    }

    /** Makes every capture fail at its end with {@code why} (null: captures succeed again). */
    void failCaptures(String why) {
        captureFailure = why;
    }

    @Override
    public boolean canCapture() {
        return true;
    }

    /**
     * From now on the compute calls (zero, copy, launch, GEMM, convolution) are checked and
     * recorded instead of run; uploads, downloads, marks and synchronizing fail, as they would
     * break a CUDA stream capture.
     */
    @Override
    public void beginCapture() {
        checkOpen();
        if (captured != null) {
            throw new IllegalStateException("a capture is already in progress");
        }
        captured = new ArrayList<>();
        liveAtCapture = Set.copyOf(memory.liveAllocations());
    }

    /**
     * The recorded calls as a replay that runs them again, each re-checked (a replay after its
     * memory was freed fails as an illegal address would). Device memory allocated during the
     * capture makes it fail, as it would on a GPU: the graph would hold addresses the allocator
     * hands out again.
     */
    @Override
    public Replay endCapture() {
        checkOpen();
        if (captured == null) {
            throw new IllegalStateException("endCapture without beginCapture");
        }
        List<Runnable> calls = List.copyOf(captured);
        captured = null;
        for (Allocation a : memory.liveAllocations()) {
            if (!liveAtCapture.contains(a)) {
                liveAtCapture = null;
                throw new UnsupportedOperationException("device memory was allocated during the capture: " + a);
            }
        }
        liveAtCapture = null;
        if (captureFailure != null) {
            throw new UnsupportedOperationException(captureFailure);
        }
        captures++;
        return new Replay() {
            private boolean closedReplay;

            @Override
            public void launch() {
                checkOpen();
                if (closedReplay) {
                    throw new IllegalStateException("replay of a closed recording");
                }
                refuseDuringCapture("a replay");
                replays++;
                calls.forEach(Runnable::run);
            }

            @Override
            public void close() {
                closedReplay = true;
            }
        };
    }

    private void refuseDuringCapture(String what) {
        if (captured != null) {
            throw new IllegalStateException(what + " during a capture (it would wait for or escape the recorded stream)");
        }
    }

    /**
     * Closes the libraries, the staging pool and the memory. Allocations still live are recorded
     * ({@link #leaksAtClose()}) before the allocator (in debug mode) reports them as leaks.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Allocation a : memory.liveAllocations()) {
            leaksAtClose.add(a.toString());
        }
        try {
            for (Arena library : libraries) {
                library.close();
            }
            libraries.clear();
            argumentArena.close();
            staging.close();
            pinned.close();
            memory.close();
        } finally {
            raw.close();
        }
    }

    // ------------------------------------------------------------------ kernels

    /** A loaded kernel: its host entry is bound once its library is compiled. */
    private static final class HostKernel implements LoadedKernel {
        final GeneratedKernel kernel;
        MethodHandle handle;

        HostKernel(GeneratedKernel kernel) {
            this.kernel = kernel;
        }

        @Override
        public String name() {
            return kernel.name();
        }

        @Override
        public String toString() {
            return "host kernel " + kernel.name();
        }
    }

    /** The host entry of a kernel: every work item's element function, in order, on typed pointers. */
    static String hostEntry(GeneratedKernel k) {
        StringJoiner args = new StringJoiner(", ");
        args.add("i");
        int p = 0;
        for (Value in : k.inputs()) {
            args.add("(const " + ElementwiseCodegen.cType(in.dtype()) + "*) a[" + p++ + "]");
        }
        for (Value out : k.outputs()) {
            args.add("(" + ElementwiseCodegen.cType(out.dtype()) + "*) a[" + p++ + "]");
        }
        return "extern \"C\" void " + k.name() + "_host(void* const* a) {\n"
                + "  for (long long i = 0; i < " + k.elements() + "LL; i++) " + k.elementFunction() + "(" + args + ");\n"
                + "}\n";
    }

    /** Compiles every pending kernel into one library (or finds it in the disk cache) and binds their entries. */
    private void compilePending() {
        compilePending(1);
    }

    /**
     * Compiles the kernels loaded and not yet compiled now, in {@code libraries} libraries built
     * by concurrent nvcc processes (or found in the disk cache): a test that first compiles many
     * programs {@linkplain #deferLaunches deferring their launches} builds all their kernels in a
     * few nvcc runs instead of one per program.
     *
     * @return the kernels compiled
     */
    int compilePending(int libraries) {
        checkOpen();
        List<HostKernel> all = List.copyOf(pending);
        if (all.isEmpty()) {
            return 0;
        }
        int chunks = Math.max(1, Math.min(libraries, all.size()));
        List<List<HostKernel>> parts = new ArrayList<>();
        for (int c = 0; c < chunks; c++) {
            parts.add(all.subList(c * all.size() / chunks, (c + 1) * all.size() / chunks));
        }
        List<Path> built = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        java.util.concurrent.Semaphore nvccSlots = new java.util.concurrent.Semaphore(Math.max(1, Runtime.getRuntime().availableProcessors()));
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (List<HostKernel> part : parts) {
            String text = librarySource(part);
            Path library = cacheDir.resolve("k" + sha256(String.join(" ", flags) + "\n" + text) + ".so");
            built.add(library);
            if (!Files.exists(library)) {
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        nvccSlots.acquire();
                        try {
                            compile(text, library);
                        } finally {
                            nvccSlots.release();
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted compiling kernels", e);
            }
        }
        if (!failures.isEmpty()) {
            Throwable first = failures.getFirst();
            throw first instanceof RuntimeException r ? r : new IllegalStateException(first);
        }
        Linker linker = Linker.nativeLinker();
        FunctionDescriptor entry = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS);
        for (int c = 0; c < chunks; c++) {
            Path library = built.get(c);
            Arena arena = Arena.ofShared();
            this.libraries.add(arena);
            SymbolLookup lookup = SymbolLookup.libraryLookup(library, arena);
            for (HostKernel h : parts.get(c)) {
                MemorySegment symbol = lookup.find(h.name() + "_host")
                        .orElseThrow(() -> new IllegalStateException(library + " lacks " + h.name() + "_host"));
                h.handle = linker.downcallHandle(symbol, entry);
            }
        }
        pending.removeAll(all);
        return all.size();
    }

    /** The translation unit of a library: the kernels after one prelude, then their host entries. */
    private static String librarySource(List<HostKernel> kernels) {
        List<GeneratedKernel> batch = kernels.stream().map(h -> h.kernel).toList();
        StringBuilder source = new StringBuilder(ElementwiseCodegen.translationUnit(batch)).append('\n');
        for (GeneratedKernel k : batch) {
            source.append(hostEntry(k));
        }
        return source.toString();
    }

    /**
     * While on, launches are checked (grid, block, arguments in device memory) but neither compile
     * nor run anything, and {@link #launchesSkipped()} counts them: for compiling many programs
     * only to collect their kernels for {@link #compilePending(int)}. Their outputs are garbage.
     */
    void deferLaunches(boolean on) {
        deferLaunches = on;
    }

    long launchesSkipped() {
        return launchesSkipped;
    }

    private void compile(String source, Path library) throws IOException, InterruptedException {
        Files.createDirectories(cacheDir);
        Path dir = Files.createTempDirectory(cacheDir, "build");
        Path cu = dir.resolve("kernels.cu");
        Files.writeString(cu, source);
        Path out = dir.resolve("lib.so");
        List<String> command = new ArrayList<>();
        command.add(nvcc.toString());
        command.addAll(flags);
        command.add("-o");
        command.add(out.toString());
        command.add(cu.toString());
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed (source kept in " + cu + "):\n" + log);
        }
        synchronized (this) {
            compilations++;
        }
        Files.move(out, library, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Files.delete(cu);
        Files.delete(dir);
    }

    private static String sha256(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ convolutions

    /** cuDNN's NCHW / KCRS cross-correlation and its gradients, in direct loops with float accumulation. */
    private final class HostConvolution implements Convolution {
        private final ConvolutionCall call;

        HostConvolution(ConvolutionCall call) {
            this.call = call;
            int[] x = call.x();
            int[] w = call.w();
            int[] y = call.y();
            OpAttrs.Conv2d g = call.geometry();
            if (x.length != 4 || w.length != 4 || y.length != 4) {
                throw new IllegalArgumentException("convolution operands must be 4-d: " + call);
            }
            int groups = g.groups();
            if (groups < 1 || x[1] % groups != 0 || w[0] % groups != 0 || w[1] != x[1] / groups || y[1] != w[0] || y[0] != x[0]) {
                throw new IllegalArgumentException("convolution channels do not match (cuDNN would reject it): " + call);
            }
            int p = (x[2] + 2 * g.padH() - g.dilationH() * (w[2] - 1) - 1) / g.strideH() + 1;
            int q = (x[3] + 2 * g.padW() - g.dilationW() * (w[3] - 1) - 1) / g.strideW() + 1;
            if (y[2] != p || y[3] != q) {
                throw new IllegalArgumentException("convolution output " + y[2] + "x" + y[3] + " is not cuDNN's " + p + "x" + q + ": " + call);
            }
        }

        @Override
        public long workspaceBytes() {
            return CONVOLUTION_WORKSPACE;
        }

        @Override
        public void run(long first, long second, long output, long workspace) {
            checkOpen();
            if (workspace == 0) {
                throw new IllegalArgumentException("convolution run without its workspace of " + CONVOLUTION_WORKSPACE + " bytes: " + call);
            }
            check(workspace, CONVOLUTION_WORKSPACE, "convolution workspace");
            if (captured != null) {
                captured.add(() -> run(first, second, output, workspace));
                return;
            }
            convolutionRuns++;
            int[] xd = call.x();
            int[] wd = call.w();
            int[] yd = call.y();
            long size = call.type().byteSize();
            long xn = numel(xd);
            long wn = numel(wd);
            long yn = numel(yd);
            long x;
            long w;
            long y;
            switch (call.kind()) {
                case FORWARD -> {
                    x = first;
                    w = second;
                    y = output;
                    check(x, xn * size, "convolution x");
                    check(w, wn * size, "convolution w");
                    check(y, yn * size, "convolution y");
                }
                case BACKWARD_DATA -> {
                    y = first;
                    w = second;
                    x = output;
                    check(y, yn * size, "convolution dy");
                    check(w, wn * size, "convolution w");
                    check(x, xn * size, "convolution dx");
                }
                default -> {
                    x = first;
                    y = second;
                    w = output;
                    check(x, xn * size, "convolution x");
                    check(y, yn * size, "convolution dy");
                    check(w, wn * size, "convolution dw");
                }
            }
            Elements ex = new Elements(call.type(), x);
            Elements ew = new Elements(call.type(), w);
            Elements ey = new Elements(call.type(), y);
            boolean f64 = call.type() == DType.F64;
            // the operands widened once (see gemm); the output's array is unused
            float[] xs = f64 || call.kind() == ConvolutionCall.Kind.BACKWARD_DATA ? null : ex.floats(xn);
            float[] ws = f64 || call.kind() == ConvolutionCall.Kind.BACKWARD_FILTER ? null : ew.floats(wn);
            float[] ys = f64 || call.kind() == ConvolutionCall.Kind.FORWARD ? null : ey.floats(yn);
            double[] xd64 = f64 && call.kind() != ConvolutionCall.Kind.BACKWARD_DATA ? ex.doubles(xn) : null;
            double[] wd64 = f64 && call.kind() != ConvolutionCall.Kind.BACKWARD_FILTER ? ew.doubles(wn) : null;
            double[] yd64 = f64 && call.kind() != ConvolutionCall.Kind.FORWARD ? ey.doubles(yn) : null;
            OpAttrs.Conv2d g = call.geometry();
            int n = xd[0];
            int c = xd[1];
            int h = xd[2];
            int wi = xd[3];
            int kOut = wd[0];
            int cpg = wd[1];
            int r = wd[2];
            int s = wd[3];
            int p = yd[2];
            int q = yd[3];
            int kpg = kOut / g.groups();
            double[] acc = new double[(int) (call.kind() == ConvolutionCall.Kind.FORWARD ? yn
                    : call.kind() == ConvolutionCall.Kind.BACKWARD_DATA ? xn : wn)];
            float[] facc = new float[acc.length];
            for (int ni = 0; ni < n; ni++) {
                for (int k = 0; k < kOut; k++) {
                    int group = k / kpg;
                    for (int pi = 0; pi < p; pi++) {
                        for (int qi = 0; qi < q; qi++) {
                            long yi = (((long) ni * kOut + k) * p + pi) * q + qi;
                            for (int ci = 0; ci < cpg; ci++) {
                                int cx = group * cpg + ci;
                                for (int ri = 0; ri < r; ri++) {
                                    int hi = pi * g.strideH() - g.padH() + ri * g.dilationH();
                                    if (hi < 0 || hi >= h) {
                                        continue;
                                    }
                                    for (int si = 0; si < s; si++) {
                                        int wj = qi * g.strideW() - g.padW() + si * g.dilationW();
                                        if (wj < 0 || wj >= wi) {
                                            continue;
                                        }
                                        long xi = (((long) ni * c + cx) * h + hi) * wi + wj;
                                        long wIndex = (((long) k * cpg + ci) * r + ri) * s + si;
                                        int target;
                                        double prod;
                                        float fprod;
                                        switch (call.kind()) {
                                            case FORWARD -> {
                                                target = (int) yi;
                                                prod = f64 ? xd64[(int) xi] * wd64[(int) wIndex] : 0;
                                                fprod = f64 ? 0 : xs[(int) xi] * ws[(int) wIndex];
                                            }
                                            case BACKWARD_DATA -> {
                                                target = (int) xi;
                                                prod = f64 ? yd64[(int) yi] * wd64[(int) wIndex] : 0;
                                                fprod = f64 ? 0 : ys[(int) yi] * ws[(int) wIndex];
                                            }
                                            default -> {
                                                target = (int) wIndex;
                                                prod = f64 ? xd64[(int) xi] * yd64[(int) yi] : 0;
                                                fprod = f64 ? 0 : xs[(int) xi] * ys[(int) yi];
                                            }
                                        }
                                        if (f64) {
                                            acc[target] += prod;
                                        } else {
                                            facc[target] += fprod;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Elements out = switch (call.kind()) {
                case FORWARD -> ey;
                case BACKWARD_DATA -> ex;
                default -> ew;
            };
            for (int i = 0; i < acc.length; i++) {
                if (f64) {
                    out.setDouble(i, acc[i]);
                } else {
                    out.set(i, facc[i]);
                }
            }
        }

        @Override
        public String toString() {
            return "host " + call;
        }
    }

    private static long numel(int[] dims) {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    // ------------------------------------------------------------------ memory access

    /** The device (= host) memory at {@code address}. */
    private static MemorySegment at(long address, long bytes) {
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    /** Fails unless {@code [address, address + bytes)} lies inside one live allocation of {@link #memory()}. */
    private void check(long address, long bytes, String what) {
        if (address == 0) {
            throw new IllegalArgumentException(what + ": null device pointer");
        }
        if (bytes < 0) {
            throw new IllegalArgumentException(what + ": negative size " + bytes);
        }
        for (Allocation a : memory.liveAllocations()) {
            if (address >= a.address() && address < a.address() + Math.max(1, a.requestedSize())) {
                if (address + bytes > a.address() + Math.max(1, a.requestedSize())) {
                    throw new IllegalArgumentException(what + ": " + bytes + " bytes at 0x" + Long.toHexString(address) + " run "
                            + (address + bytes - a.address() - a.requestedSize()) + " bytes past the end of " + a);
                }
                return;
            }
        }
        throw new IllegalArgumentException(what + ": 0x" + Long.toHexString(address) + " (" + bytes
                + " bytes) is not in any live device allocation");
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the host device is closed");
        }
        if (fault != null) {
            throw new IllegalStateException("the device faulted earlier and is unusable, as a CUDA context after an illegal address is: " + fault);
        }
    }

    /**
     * Makes the launch numbered {@code launch} (counting from 0 over this device's life; see
     * {@link #launches()}) fail as a kernel's illegal memory access would: that launch throws,
     * naming the kernel and the op ({@link #nameCalls}), and from then on every call but
     * {@link #close()} throws, as a CUDA context is lost after such a fault.
     */
    public void faultAtLaunch(long launch) {
        faultAtLaunch = launch;
    }

    @Override
    public void nameCalls(String op) {
        callsFor = op;
    }

    /** Typed element access to device memory, widened to float (or double). */
    private static final class Elements {
        private final DType type;
        private final MemorySegment memory;

        Elements(DType type, long address) {
            this.type = type;
            this.memory = MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE);
        }

        float get(long i) {
            return switch (type) {
                case F32 -> memory.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                case F16 -> Float16.toFloat(memory.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case BF16 -> BFloat16.toFloat(memory.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case F64 -> (float) memory.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
                default -> throw new IllegalArgumentException("no GEMM or convolution over " + type);
            };
        }

        double getDouble(long i) {
            return type == DType.F64 ? memory.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i) : get(i);
        }

        void set(long i, float v) {
            switch (type) {
                case F32 -> memory.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                case F16 -> memory.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float16.fromFloat(v));
                case BF16 -> memory.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, BFloat16.fromFloat(v));
                case F64 -> memory.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
                default -> throw new IllegalArgumentException("no GEMM or convolution over " + type);
            }
        }

        /** The first {@code count} elements, widened to float. */
        float[] floats(long count) {
            float[] values = new float[Math.toIntExact(count)];
            for (int i = 0; i < values.length; i++) {
                values[i] = get(i);
            }
            return values;
        }

        /** The first {@code count} elements as doubles. */
        double[] doubles(long count) {
            double[] values = new double[Math.toIntExact(count)];
            for (int i = 0; i < values.length; i++) {
                values[i] = getDouble(i);
            }
            return values;
        }

        /** Stores {@code values} from element 0 on, each rounded once to the element type. */
        void setFloats(float[] values) {
            for (int i = 0; i < values.length; i++) {
                set(i, values[i]);
            }
        }

        void setDoubles(double[] values) {
            for (int i = 0; i < values.length; i++) {
                setDouble(i, values[i]);
            }
        }

        void setDouble(long i, double v) {
            if (type == DType.F64) {
                memory.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            } else {
                set(i, (float) v);
            }
        }
    }
}
