package dev.frugal.runtime.cuda;

import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.MemoryStream;
import dev.frugal.memory.PinnedStagingPool;
import dev.frugal.memory.StagingBuffer;
import dev.frugal.runtime.Device;
import java.lang.foreign.MemorySegment;

/**
 * What the {@link CudaBackend} needs from a GPU, in device addresses: memory, copies, launches of
 * generated kernels, cuBLAS GEMMs and cuDNN convolutions, and event timing. The backend decides
 * what to call with which pointers and shapes; an implementation only carries the calls out.
 * {@link DriverDeviceApi} does so on a real GPU through the FFM bindings; the tests emulate a
 * device in host memory behind this same interface, so the backend's planning (slots, offsets,
 * argument order, GEMM and convolution parameters, copies and staging) is checked without a GPU.
 *
 * <p>Work is queued in order on one compute stream; host-to-device copies of a run's data go
 * through a copy stream that the compute stream waits for. Only {@link #download} and
 * {@link #synchronize} wait for the device.
 */
public interface DeviceApi extends AutoCloseable {
    /** The device, e.g. {@code cuda:0}. */
    Device device();

    /** A short description for listings and errors, e.g. {@code NVIDIA H100 80GB HBM3 (sm_90)}. */
    String description();

    /** The caching allocator over this device's memory, whose blocks are used on {@link #computeStream()}. */
    CachingAllocator memory();

    /** The stream every kernel, GEMM, convolution and device copy is queued on. */
    MemoryStream computeStream();

    /** Page-locked host buffers through which data goes to the device asynchronously. */
    PinnedStagingPool staging();

    /** Multiprocessors on the device: grids are sized as a few waves of blocks over them. */
    int multiprocessors();

    /** Queues a fill of {@code bytes} bytes at {@code address} with zeros. */
    void zero(long address, long bytes);

    /** Queues a device-to-device copy. */
    void copy(long source, long destination, long bytes);

    /**
     * Queues a host-to-device copy of the first {@code bytes} bytes of {@code source} on the copy
     * stream, after the compute work queued so far (which may still use the destination) and
     * before the compute work queued later, and releases {@code source} to its pool once the copy
     * has completed (so the next upload fills another staging buffer meanwhile).
     */
    void upload(StagingBuffer source, long destination, long bytes);

    /**
     * Double-buffered upload of a run's data: queues a host-to-device copy of {@code source}'s
     * first {@code bytes} bytes into {@code landing} on the copy stream, then a device copy from
     * {@code landing} into {@code destination} on the compute stream, which the compute work queued
     * later follows. The first copy waits only for the compute stream's previous copy out of the
     * same {@code landing}, not for the work queued before it: the next batch travels while the
     * steps before it still compute. {@code source} goes back to its pool once copied.
     */
    void uploadVia(StagingBuffer source, long landing, long destination, long bytes);

    /** Waits for the work queued so far, then copies {@code bytes} bytes from the device into {@code destination}. */
    void download(long source, MemorySegment destination, long bytes);

    /**
     * The kernel loaded for launching: compiled for this device (through the kernel cache) and
     * loaded once per kernel name; later requests for the same name return the same handle.
     *
     * @throws dev.frugal.cuda.NvrtcException naming the kernel when it does not compile
     */
    LoadedKernel load(GeneratedKernel kernel);

    /**
     * Queues a launch of {@code blocks} blocks of {@code threads} threads; {@code pointers} are
     * the kernel's arguments, its inputs' then its outputs' device addresses.
     */
    void launch(LoadedKernel kernel, int blocks, int threads, long[] pointers);

    /**
     * Names the op whose calls are queued next (until the next naming), so that a failure the
     * device reports later names the failing call's kernel and the op it computes; the default
     * ignores it.
     */
    default void nameCalls(String op) {
    }

    /** Queues a cuBLAS GEMM (column-major, as {@link GemmCall} describes) on the three base addresses. */
    void gemm(GemmCall call, long a, long b, long c);

    /**
     * Chooses the algorithm for a convolution of this shape (once: the choice is cached per
     * shape) and returns what runs it.
     */
    Convolution convolution(ConvolutionCall call);

    /** A chosen convolution algorithm, run on device buffers. */
    interface Convolution {
        /** Scratch bytes the algorithm needs on every run. */
        long workspaceBytes();

        /**
         * Queues the convolution: {@code first} and {@code second} are its operands in
         * {@link ConvolutionCall.Kind}'s order, {@code output} what it writes.
         */
        void run(long first, long second, long output, long workspace);
    }

    /** A kernel compiled and loaded for this device. */
    interface LoadedKernel {
        /** The kernel's name. */
        String name();
    }

    /** A point in the compute stream's work, for timing ({@code cuEventRecord}). */
    interface Mark extends AutoCloseable {
        /** Milliseconds of device time from this mark to {@code later} (waits for {@code later}). */
        float millisTo(Mark later);

        @Override
        void close();
    }

    /** Records a timing mark after the work queued so far. */
    Mark mark();

    /** Whether the compute stream's work can be recorded and replayed ({@link #beginCapture}); the default cannot. */
    default boolean canCapture() {
        return false;
    }

    /**
     * Starts recording the work queued on the compute stream instead of running it (CUDA stream
     * capture); nothing may wait for the device until {@link #endCapture()}.
     */
    default void beginCapture() {
        throw new UnsupportedOperationException(description() + " cannot record its work");
    }

    /**
     * Stops recording and returns the recorded work, ready to replay (an instantiated CUDA graph).
     *
     * @throws UnsupportedOperationException saying why the work could not be recorded (a call that
     *                                       cannot be captured); the stream is back to running work
     */
    default Replay endCapture() {
        throw new UnsupportedOperationException(description() + " cannot record its work");
    }

    /** Recorded compute-stream work. */
    interface Replay extends AutoCloseable {
        /** Queues the recorded work on the compute stream, as one launch. */
        void launch();

        /** Frees the recording. */
        @Override
        void close();
    }

    /** Waits until all queued work is done. */
    void synchronize();

    /** Waits for queued work and releases the streams, handles and loaded kernels (not {@link #memory()}'s blocks in use). */
    @Override
    void close();
}
