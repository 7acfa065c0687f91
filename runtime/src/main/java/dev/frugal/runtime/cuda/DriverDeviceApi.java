package dev.frugal.runtime.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.frugal.cuda.CudaDriverException;
import dev.frugal.cuda.NvrtcException;
import dev.frugal.cuda.cublas.ComputeType;
import dev.frugal.cuda.cublas.Cublas;
import dev.frugal.cuda.cublas.CublasHandle;
import dev.frugal.cuda.cublas.CudaDataType;
import dev.frugal.cuda.cublas.Operation;
import dev.frugal.cuda.cudnn.AlgorithmPerf;
import dev.frugal.cuda.cudnn.ConvolutionDescriptor;
import dev.frugal.cuda.cudnn.Cudnn;
import dev.frugal.cuda.cudnn.CudnnDataType;
import dev.frugal.cuda.cudnn.CudnnHandle;
import dev.frugal.cuda.cudnn.CudnnMathType;
import dev.frugal.cuda.cudnn.FilterDescriptor;
import dev.frugal.cuda.cudnn.TensorDescriptor;
import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaEvent;
import dev.frugal.cuda.driver.CudaFunction;
import dev.frugal.cuda.driver.CudaGraph;
import dev.frugal.cuda.driver.CudaGraphExec;
import dev.frugal.cuda.driver.CudaModule;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.driver.DeviceAttribute;
import dev.frugal.cuda.driver.Dim3;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.CudaDeviceRawAllocator;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.memory.CudaPinnedHostRawAllocator;
import dev.frugal.memory.MemoryStream;
import dev.frugal.memory.PinnedStagingPool;
import dev.frugal.memory.StagingBuffer;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Device;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link DeviceApi} on a real GPU through the FFM bindings: the device's primary context, a
 * compute stream and a copy stream, a {@link CachingAllocator} over device memory, pinned
 * staging buffers, NVRTC through the on-disk kernel cache, cuBLAS and cuDNN handles bound to the
 * compute stream.
 *
 * <p>Kernels are compiled lazily and together: {@link #load} only records a kernel, and the first
 * launch after new loads compiles every pending kernel as one translation unit (one NVRTC call
 * and one cached CUBIN per program instead of hundreds); if that fails, each is compiled alone so
 * the error names the kernel. GEMMs accumulate in float32 without TF32, and fp32 convolutions use
 * cuDNN's default math, so results follow the CPU backend's; half-precision convolutions may use
 * tensor cores.
 *
 * <p>A failing kernel (an illegal address, say) is reported asynchronously, at the next call that
 * waits; the error then names the kernels launched since the last wait and the ops they compute
 * ({@link #nameCalls}). With
 * {@code FRUGAL_CUDA_SYNC=1} every launch waits, so the error names the one kernel.
 */
public final class DriverDeviceApi implements DeviceApi {
    /** Set to {@code 1} to wait after every launch (debugging asynchronous kernel errors). */
    public static final String SYNC_ENV = "FRUGAL_CUDA_SYNC";
    private static final int RECENT_LAUNCHES = 16;
    /** cuBLAS's workspace: what NVIDIA recommends for Hopper, enough for every GPU before it. */
    private static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    private final Device device;
    private final CudaContext context;
    private final CudaStream compute;
    private final CudaStream copies;
    private final MemoryStream computeMemoryStream;
    private final CachingAllocator memory;
    private final PinnedStagingPool staging;
    private final KernelCompiler compiler;
    private final String arch;
    private final String description;
    private final int multiprocessors;
    private final boolean syncEveryLaunch;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment oneF32;
    private final MemorySegment zeroF32;
    private final MemorySegment oneF64;
    private final MemorySegment zeroF64;
    private final Map<String, Loaded> kernels = new HashMap<>();
    private final List<Loaded> pending = new ArrayList<>();
    private final List<CudaModule> modules = new ArrayList<>();
    private final Map<ConvolutionCall, Convolution> convolutions = new HashMap<>();
    private final ArrayDeque<String> recent = new ArrayDeque<>();
    private CublasHandle cublas;
    private CudnnHandle cudnn;
    private boolean closed;
    /**
     * Per landing buffer of {@link #uploadVia}, the point on the compute stream after its last copy
     * out; an entry outlives a freed landing buffer harmlessly (a later landing at the same address
     * waits for a point that has passed or soon will).
     */
    private final Map<Long, CudaEvent> landingEmptied = new HashMap<>();
    /** The op the calls queued now compute ({@link #nameCalls}); null when unnamed. */
    private String callsFor;
    /** Whether the compute stream is being captured (nothing may wait for it then). */
    private boolean capturing;
    /** cuBLAS's workspace: fixed, so GEMMs allocate nothing while a CUDA graph is captured. */
    private Allocation cublasWorkspace;
    /** The thread the context was last made current on: driver calls from another thread make it current there first. */
    private Thread contextThread;

    /** A kernel handle: its function once compiled, and an argument block reused by every launch. */
    private final class Loaded implements LoadedKernel {
        private final GeneratedKernel kernel;
        private final MemorySegment values;
        private final MemorySegment params;
        private CudaFunction function;

        Loaded(GeneratedKernel kernel) {
            this.kernel = kernel;
            int n = Math.max(1, kernel.inputs().size() + kernel.outputs().size());
            this.values = arena.allocate(JAVA_LONG, n);
            this.params = arena.allocate(ADDRESS, n);
            for (int i = 0; i < n; i++) {
                params.setAtIndex(ADDRESS, i, values.asSlice(i * 8L, 8));
            }
        }

        @Override
        public String name() {
            return kernel.name();
        }
    }

    /**
     * Opens GPU {@code ordinal}: retains its primary context and makes it current on this thread.
     *
     * @param memoryLimit the device memory budget in bytes ({@link AllocatorConfig#UNLIMITED} for none)
     * @throws dev.frugal.cuda.CudaException when the driver, the GPU or a library is missing
     */
    public static DriverDeviceApi open(int ordinal, long memoryLimit) {
        return new DriverDeviceApi(ordinal, memoryLimit, "1".equals(System.getenv(SYNC_ENV)));
    }

    private DriverDeviceApi(int ordinal, long memoryLimit, boolean syncEveryLaunch) {
        this.device = Device.cuda(ordinal);
        this.syncEveryLaunch = syncEveryLaunch;
        CudaDriver.init();
        this.context = CudaContext.retainPrimary(ordinal);
        try {
            context.makeCurrent();
            contextThread = Thread.currentThread();
            int dev = context.device();
            this.compute = CudaStream.create();
            this.copies = CudaStream.create();
            this.computeMemoryStream = new CudaMemoryStream(compute);
            this.memory = new CachingAllocator(new CudaDeviceRawAllocator(context),
                    AllocatorConfig.defaults().withMemoryLimit(memoryLimit).withDefaultStream(computeMemoryStream));
            this.staging = new PinnedStagingPool(new CudaPinnedHostRawAllocator(context));
            this.compiler = KernelCompiler.create();
            this.arch = KernelCompiler.archForDevice(dev);
            this.multiprocessors = CudaDriver.deviceAttribute(dev, DeviceAttribute.MULTIPROCESSOR_COUNT);
            this.description = CudaDriver.deviceName(dev) + " (" + arch + ")";
        } catch (RuntimeException | Error e) {
            context.close();
            throw e;
        }
        this.oneF32 = arena.allocateFrom(JAVA_FLOAT, 1f);
        this.zeroF32 = arena.allocateFrom(JAVA_FLOAT, 0f);
        this.oneF64 = arena.allocateFrom(JAVA_DOUBLE, 1d);
        this.zeroF64 = arena.allocateFrom(JAVA_DOUBLE, 0d);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public String description() {
        return description;
    }

    /** The architecture kernels are compiled for, e.g. {@code sm_90}. */
    public String arch() {
        return arch;
    }

    @Override
    public CachingAllocator memory() {
        return memory;
    }

    @Override
    public MemoryStream computeStream() {
        return computeMemoryStream;
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
        current();
        CudaDriver.memsetD8Async(address, (byte) 0, bytes, compute);
    }

    @Override
    public void copy(long source, long destination, long bytes) {
        current();
        CudaDriver.memcpyDtoDAsync(destination, source, bytes, compute);
    }

    @Override
    public void upload(StagingBuffer source, long destination, long bytes) {
        current();
        refuseUploadDuringCapture(source);
        // the copy waits for the compute work queued before it (which may still read or zero the
        // destination: the previous step's kernels, a fresh buffer's fill), and the compute work
        // queued after it waits for the copy
        waitFor(copies, compute);
        CudaDriver.memcpyHtoDAsync(destination, source.segment(), bytes, copies);
        waitFor(compute, copies);
        source.releaseAfter(new CudaMemoryStream(copies).recordEvent());
    }

    @Override
    public void uploadVia(StagingBuffer source, long landing, long destination, long bytes) {
        current();
        refuseUploadDuringCapture(source);
        CudaEvent emptied = landingEmptied.get(landing);
        if (emptied != null) {
            copies.waitFor(emptied); // the previous batch has left the landing buffer
        }
        CudaDriver.memcpyHtoDAsync(landing, source.segment(), bytes, copies);
        waitFor(compute, copies);
        source.releaseAfter(new CudaMemoryStream(copies).recordEvent());
        CudaDriver.memcpyDtoDAsync(destination, landing, bytes, compute);
        if (emptied == null) {
            emptied = CudaEvent.createWithoutTiming();
            landingEmptied.put(landing, emptied);
        }
        emptied.record(compute); // re-recorded: waits already queued keep the point they were given
        remember("upload of " + bytes + " bytes");
    }

    private void refuseUploadDuringCapture(StagingBuffer source) {
        if (capturing) {
            source.release();
            throw new IllegalStateException("an upload during a CUDA graph capture would record the staging buffer's address in the graph");
        }
    }

    /** Makes the work queued on {@code waiter} from now on wait for the work queued on {@code on} so far. */
    private static void waitFor(CudaStream waiter, CudaStream on) {
        CudaEvent point = CudaEvent.createWithoutTiming();
        try {
            point.record(on);
            waiter.waitFor(point);
        } finally {
            point.close(); // the driver keeps a recorded event alive until it completes
        }
    }

    @Override
    public void download(long source, MemorySegment destination, long bytes) {
        current();
        waitForCompute("downloading " + bytes + " bytes");
        CudaDriver.memcpyDtoH(destination, source, bytes);
    }

    @Override
    public LoadedKernel load(GeneratedKernel kernel) {
        Loaded k = kernels.get(kernel.name());
        if (k == null) {
            k = new Loaded(kernel);
            kernels.put(kernel.name(), k);
            pending.add(k);
        }
        return k;
    }

    /** Compiles every pending kernel in one translation unit (or alone, when that fails, to name the culprit) and loads it. */
    private void compilePending() {
        List<GeneratedKernel> batch = new ArrayList<>();
        for (Loaded k : pending) {
            batch.add(k.kernel);
        }
        try {
            String source = ElementwiseCodegen.translationUnit(batch);
            CudaModule module = CudaModule.load(compiler.compile("frugal_" + KernelText.hash(source), source, arch, List.of()).cubin());
            modules.add(module);
            for (Loaded k : pending) {
                k.function = module.function(k.name());
            }
        } catch (NvrtcException together) {
            for (Loaded k : pending) {
                CudaModule module = CudaModule.load(compiler.compile(k.name(), k.kernel.source(), arch, List.of()).cubin());
                modules.add(module);
                k.function = module.function(k.name());
            }
        }
        pending.clear();
    }

    @Override
    public void launch(LoadedKernel kernel, int blocks, int threads, long[] pointers) {
        current();
        Loaded k = (Loaded) kernel;
        if (k.function == null) {
            compilePending();
        }
        for (int i = 0; i < pointers.length; i++) {
            k.values.setAtIndex(JAVA_LONG, i, pointers[i]);
        }
        k.function.launch(Dim3.of(blocks), Dim3.of(threads), 0, compute, k.params);
        remember(k.name());
        if (syncEveryLaunch) {
            waitForCompute("kernel " + k.name());
        }
    }

    @Override
    public void gemm(GemmCall call, long a, long b, long c) {
        current();
        if (call.m() == 0 || call.n() == 0 || call.batch() == 0) {
            return;
        }
        boolean f64 = call.type() == DType.F64;
        CudaDataType type = switch (call.type()) {
            case F32 -> CudaDataType.R_32F;
            case F16 -> CudaDataType.R_16F;
            case BF16 -> CudaDataType.R_16BF;
            case F64 -> CudaDataType.R_64F;
            default -> throw new UnsupportedOperationException("cuBLAS GEMM over " + call.type() + ": expected f32, f16, bf16 or f64");
        };
        Cublas.gemmStridedBatchedEx(cublas(), call.transA() ? Operation.T : Operation.N, call.transB() ? Operation.T : Operation.N,
                call.m(), call.n(), call.k(), f64 ? oneF64 : oneF32, a, type, call.lda(), call.strideA(), b, type, call.ldb(), call.strideB(),
                f64 ? zeroF64 : zeroF32, c, type, call.ldc(), call.strideC(), call.batch(),
                f64 ? ComputeType.COMPUTE_64F : ComputeType.COMPUTE_32F, Cublas.GEMM_DEFAULT);
        remember("cublas gemm " + call.m() + "x" + call.n() + "x" + call.k());
    }

    @Override
    public Convolution convolution(ConvolutionCall call) {
        current();
        Convolution c = convolutions.get(call);
        if (c == null) {
            c = new CudnnConvolution(call);
            convolutions.put(call, c);
        }
        return c;
    }

    /** One convolution shape: its descriptors and the fastest algorithm cuDNN measured for it. */
    private final class CudnnConvolution implements Convolution {
        private final ConvolutionCall call;
        private final TensorDescriptor x;
        private final FilterDescriptor w;
        private final TensorDescriptor y;
        private final ConvolutionDescriptor conv;
        private final Enum<?> algorithm;
        private final long workspaceBytes;
        private final boolean f64;

        CudnnConvolution(ConvolutionCall call) {
            this.call = call;
            this.f64 = call.type() == DType.F64;
            CudnnDataType type = switch (call.type()) {
                case F32 -> CudnnDataType.FLOAT;
                case F16 -> CudnnDataType.HALF;
                case BF16 -> CudnnDataType.BFLOAT16;
                case F64 -> CudnnDataType.DOUBLE;
                default -> throw new UnsupportedOperationException("cuDNN convolution over " + call.type() + ": expected f32, f16, bf16 or f64");
            };
            int[] xd = call.x();
            int[] wd = call.w();
            int[] yd = call.y();
            var g = call.geometry();
            this.x = TensorDescriptor.nchw(type, xd[0], xd[1], xd[2], xd[3]);
            this.w = FilterDescriptor.kcrs(type, wd[0], wd[1], wd[2], wd[3]);
            this.y = TensorDescriptor.nchw(type, yd[0], yd[1], yd[2], yd[3]);
            this.conv = ConvolutionDescriptor.crossCorrelation(g.padH(), g.padW(), g.strideH(), g.strideW(), g.dilationH(), g.dilationW(),
                    f64 ? CudnnDataType.DOUBLE : CudnnDataType.FLOAT).groupCount(g.groups());
            AlgorithmPerf<?> best = search();
            this.algorithm = best.algorithm();
            this.workspaceBytes = best.workspaceBytes();
            // fp32 keeps full-precision FMA math (no TF32), as the CPU computes; halves may use tensor cores
            conv.mathType(call.type() == DType.F32 || f64 ? CudnnMathType.DEFAULT : best.mathType());
        }

        /** Times the algorithms on scratch buffers (cudnnFind*Ex) and keeps the fastest that fits the free memory. */
        private AlgorithmPerf<?> search() {
            long limit = Math.min(256L << 20, Math.max(0, memory.memoryLimit() == AllocatorConfig.UNLIMITED
                    ? Long.MAX_VALUE : memory.memoryLimit() - memory.snapshot().allocatedBytes()));
            long size = call.type().byteSize();
            Allocation xa = memory.allocate(Math.max(1, numel(call.x()) * size), computeMemoryStream, "workspace");
            Allocation wa = memory.allocate(Math.max(1, numel(call.w()) * size), computeMemoryStream, "workspace");
            Allocation ya = memory.allocate(Math.max(1, numel(call.y()) * size), computeMemoryStream, "workspace");
            Allocation ws = limit > 0 ? memory.allocate(limit, computeMemoryStream, "workspace") : null;
            try {
                long wsp = ws == null ? 0 : ws.address();
                long wsb = ws == null ? 0 : limit;
                List<? extends AlgorithmPerf<?>> ranked = switch (call.kind()) {
                    case FORWARD -> Cudnn.findForwardAlgorithms(cudnn(), x, xa.address(), w, wa.address(), conv, y, ya.address(), wsp, wsb);
                    case BACKWARD_DATA -> Cudnn.findBackwardDataAlgorithms(cudnn(), w, wa.address(), y, ya.address(), conv, x, xa.address(), wsp, wsb);
                    case BACKWARD_FILTER -> Cudnn.findBackwardFilterAlgorithms(cudnn(), x, xa.address(), y, ya.address(), conv, w, wa.address(), wsp, wsb);
                };
                for (AlgorithmPerf<?> p : ranked) {
                    if (p.isUsable() && p.workspaceBytes() <= wsb) {
                        return p;
                    }
                }
                throw new UnsupportedOperationException("cuDNN has no usable algorithm for " + call + ": " + ranked);
            } finally {
                waitForCompute("choosing the algorithm for " + call);
                for (Allocation a : new Allocation[] {xa, wa, ya, ws}) {
                    if (a != null) {
                        a.close();
                    }
                }
            }
        }

        @Override
        public long workspaceBytes() {
            return workspaceBytes;
        }

        @Override
        public void run(long first, long second, long output, long workspace) {
            MemorySegment one = f64 ? oneF64 : oneF32;
            MemorySegment zero = f64 ? zeroF64 : zeroF32;
            switch (call.kind()) {
                case FORWARD -> Cudnn.convolutionForward(cudnn(), one, x, first, w, second, conv,
                        (dev.frugal.cuda.cudnn.ForwardAlgorithm) algorithm, workspace, workspaceBytes, zero, y, output);
                case BACKWARD_DATA -> Cudnn.convolutionBackwardData(cudnn(), one, w, second, y, first, conv,
                        (dev.frugal.cuda.cudnn.BackwardDataAlgorithm) algorithm, workspace, workspaceBytes, zero, x, output);
                case BACKWARD_FILTER -> Cudnn.convolutionBackwardFilter(cudnn(), one, x, first, y, second, conv,
                        (dev.frugal.cuda.cudnn.BackwardFilterAlgorithm) algorithm, workspace, workspaceBytes, zero, w, output);
            }
            remember("cudnn " + call.kind().name().toLowerCase(java.util.Locale.ROOT) + " " + algorithm);
        }

        void close() {
            conv.close();
            x.close();
            w.close();
            y.close();
        }
    }

    private static long numel(int[] dims) {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    private CublasHandle cublas() {
        if (cublas == null) {
            cublas = Cublas.create();
            cublas.setStream(compute);
            cublasWorkspace = memory.allocate(CUBLAS_WORKSPACE_BYTES, computeMemoryStream, "workspace");
            cublas.setWorkspace(cublasWorkspace.address(), CUBLAS_WORKSPACE_BYTES);
        }
        return cublas;
    }

    private CudnnHandle cudnn() {
        if (cudnn == null) {
            cudnn = Cudnn.create();
            cudnn.setStream(compute);
        }
        return cudnn;
    }

    @Override
    public Mark mark() {
        current();
        CudaEvent event = CudaEvent.create();
        try {
            event.record(compute);
        } catch (RuntimeException e) {
            event.close();
            throw e;
        }
        return new EventMark(event);
    }

    /** A timing mark: an event recorded on the compute stream. */
    private record EventMark(CudaEvent event) implements Mark {
        @Override
        public float millisTo(Mark later) {
            return event.elapsedMillisTo(((EventMark) later).event());
        }

        @Override
        public void close() {
            event.close();
        }
    }

    @Override
    public boolean canCapture() {
        return !syncEveryLaunch; // waiting after each launch is not allowed inside a capture
    }

    @Override
    public void beginCapture() {
        current();
        compute.beginCapture(CudaStream.CAPTURE_MODE_THREAD_LOCAL);
        capturing = true;
    }

    @Override
    public Replay endCapture() {
        current();
        capturing = false;
        CudaGraph graph;
        try {
            graph = compute.endCapture();
        } catch (CudaDriverException e) {
            throw new UnsupportedOperationException("CUDA stream capture failed: " + e.getMessage(), e);
        }
        try (graph) {
            CudaGraphExec exec = graph.instantiate(0);
            return new Replay() {
                @Override
                public void launch() {
                    current();
                    exec.launch(compute);
                    remember("cuda graph");
                }

                @Override
                public void close() {
                    exec.close();
                }
            };
        } catch (CudaDriverException e) {
            throw new UnsupportedOperationException("the captured CUDA graph could not be instantiated: " + e.getMessage(), e);
        }
    }

    @Override
    public void synchronize() {
        current();
        waitForCompute("synchronizing");
    }

    /** Waits for the compute stream; an asynchronous kernel error names the calls queued since the last wait. */
    private void waitForCompute(String what) {
        if (capturing) {
            throw new IllegalStateException(what + " waits for the device, which a CUDA graph capture does not allow");
        }
        try {
            compute.synchronize();
        } catch (CudaDriverException e) {
            CudaDriverException named = new CudaDriverException(e.library(), e.call(), e.status(), e.statusName(), "a kernel failed on "
                    + description + " (reported while " + what + "); the last calls queued since the previous wait, oldest first: "
                    + String.join(", ", recent) + (syncEveryLaunch ? "" : " (rerun with " + SYNC_ENV + "=1 to stop at the failing call)"));
            named.initCause(e);
            throw named;
        }
        recent.clear();
    }

    /** Makes the context current on the calling thread if another thread used it last (the driver's current context is per thread). */
    private void current() {
        if (contextThread != Thread.currentThread()) {
            context.makeCurrent();
            contextThread = Thread.currentThread();
        }
    }

    private void remember(String call) {
        if (recent.size() == RECENT_LAUNCHES) {
            recent.removeFirst();
        }
        recent.addLast(callsFor == null ? call : call + " for " + callsFor);
    }

    @Override
    public void nameCalls(String op) {
        callsFor = op;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            current();
            compute.synchronize();
            copies.synchronize();
        } finally {
            convolutions.values().forEach(c -> ((CudnnConvolution) c).close());
            if (cudnn != null) {
                cudnn.close();
            }
            if (cublas != null) {
                cublas.close();
            }
            if (cublasWorkspace != null) {
                cublasWorkspace.close();
            }
            modules.forEach(CudaModule::close);
            landingEmptied.values().forEach(CudaEvent::close);
            staging.close();
            memory.close();
            copies.close();
            compute.close();
            arena.close();
            context.close();
        }
    }
}
