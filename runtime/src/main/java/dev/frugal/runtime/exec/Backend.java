package dev.frugal.runtime.exec;

import dev.frugal.memory.CachingAllocator;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Device;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.graph.Node;
import java.util.Collection;

/**
 * What the {@link Executor} needs from a device: memory, copies in and out, and one prepared
 * kernel per graph node. The CPU backend implements it with Java loops; the CUDA backend will
 * implement it with device memory and launched kernels, so nothing here assumes host memory:
 * buffers are opaque {@link Buffer} handles and every access to their contents goes through the
 * backend.
 *
 * <p>Every buffer a program uses is contiguous and row-major for its value's shape and dtype.
 */
public interface Backend {
    /** The device this backend runs on. */
    Device device();

    /** A short name for listings and errors, e.g. {@code cpu}. */
    String name();

    /**
     * The memory manager every buffer and kernel workspace of this backend comes from: its
     * statistics are the device's memory statistics, and its limit is the device's budget.
     */
    CachingAllocator memory();

    /**
     * Allocates a buffer of at least {@code bytes} bytes (at least 1) from {@link #memory()},
     * zeroed. Called at compile time only.
     *
     * @param tag what the memory holds, for the memory manager's reports (e.g. {@code activations})
     * @throws dev.frugal.memory.FrugalOutOfMemoryException when the memory manager cannot serve it
     */
    Buffer allocate(long bytes, String tag);

    /** A view of {@code bytes} bytes of {@code buffer} from {@code offset}: a planned region of an arena. */
    Buffer slice(Buffer buffer, long offset, long bytes);

    /** Frees a buffer this backend allocated (a view frees nothing). */
    void free(Buffer buffer);

    /**
     * A buffer handle over a caller-owned tensor (a bound parameter or state), so kernels read it
     * and {@link dev.frugal.runtime.graph.Op#ASSIGN} writes it in place. The tensor is
     * contiguous, open and of this backend's device; the handle does not own it.
     */
    Buffer wrap(Tensor tensor);

    /**
     * Copies {@code src} (any strides, the buffer's dtype and shape) into {@code dst} as a
     * contiguous row-major array: how a run's feeds enter the program.
     */
    void upload(Tensor src, Buffer dst);

    /**
     * The host tensor through which a run returns buffer {@code src} holding a {@code dtype}
     * array of {@code shape}. A host backend returns a view of the buffer (no copy); a device
     * backend copies into host memory it owns. Valid until the next run or close.
     */
    Tensor download(Buffer src, Shape shape, DType dtype);

    /**
     * Prepares the kernel that computes {@code node}. Its inputs are read from the buffers in
     * {@code inputSlots} (one per node input, in order) and its output is written to the buffer
     * in {@code outputSlot} (-1 for {@link dev.frugal.runtime.graph.Op#ASSIGN}, which writes into
     * its first input's buffer).
     *
     * @param checkNonFinite whether reductions throw {@link NonFiniteException} on a NaN or
     *                       infinite result
     * @throws UnsupportedOperationException naming the op and dtypes when the backend cannot run it
     */
    Kernel prepare(Node node, int[] inputSlots, int outputSlot, boolean checkNonFinite);

    /**
     * Whether this backend can compute {@code node} (an elementwise node or an {@link
     * dev.frugal.runtime.graph.Op#EXPAND}) inside a fused kernel; {@link ElementwiseFusion} only
     * groups such nodes. The default fuses nothing.
     */
    default boolean canFuse(Node node) {
        return false;
    }

    /**
     * Whether this backend can run the reduction {@code reduce} (a sum, maximum or minimum) at
     * the end of a fused group, over the values the group computes instead of a stored input
     * ({@link FusedGroup#reduction()}). The default fuses none.
     */
    default boolean canFuseReduction(Node reduce) {
        return false;
    }

    /**
     * Prepares one kernel that computes a whole {@link FusedGroup} (every member for which
     * {@link #canFuse} said yes) in one pass: it reads the group's inputs from
     * {@code inputSlots} (one per {@link FusedGroup#inputs()}, in order) and writes its outputs
     * to {@code outputSlots} (one per {@link FusedGroup#outputs()}, in order). Results must
     * equal running the members one by one.
     *
     * @throws UnsupportedOperationException when the backend does not fuse
     */
    default Kernel prepareFused(FusedGroup group, int[] inputSlots, int[] outputSlots) {
        throw new UnsupportedOperationException(name() + " backend does not fuse kernels: " + group.name());
    }

    /**
     * As {@link #prepareFused(FusedGroup, int[], int[])}; a group that ends in a reduction
     * checks it as {@link #prepare} does with {@code checkNonFinite}.
     */
    default Kernel prepareFused(FusedGroup group, int[] inputSlots, int[] outputSlots, boolean checkNonFinite) {
        return prepareFused(group, inputSlots, outputSlots);
    }

    /** Prepares a plain copy of the first {@code bytes} bytes of slot {@code src} into slot {@code dst}. */
    Kernel prepareCopy(int src, int dst, long bytes);

    /**
     * Makes every tensor {@link #wrap wrapped} by this backend show what runs wrote into it
     * (parameters and optimizer state after {@code ASSIGN}s), for a caller about to read them on
     * the host: to save a checkpoint, evaluate elsewhere or report. A device backend runs on
     * device copies of wrapped tensors and copies them back here; a host backend writes the
     * tensors in place, so the default does nothing.
     */
    default void copyWrappedToHost() {
    }

    /**
     * Makes the next run read what the caller wrote into wrapped tensors on the host since the
     * last run (restored checkpoints, pruning masks): a device backend re-uploads its copies;
     * the default does nothing.
     */
    default void copyWrappedFromHost() {
    }

    /**
     * {@link #copyWrappedToHost()} for some tensors only (small state read every few steps, such
     * as the loss scale); a tensor without a device copy is left alone.
     */
    default void copyWrappedToHost(Collection<Tensor> tensors) {
    }

    /**
     * What times a profiled run's kernel calls when they are queued rather than run on the
     * caller's thread (a device backend: events on its stream); null, the default, for a backend
     * whose calls are done when they return, timed with the wall clock.
     */
    default KernelClock kernelClock() {
        return null;
    }

    /**
     * What records a run's kernel calls for replay as one unit (CUDA graphs); null, the default,
     * for a backend whose calls are cheap to make one by one.
     */
    default RunCapture runCapture() {
        return null;
    }
}
