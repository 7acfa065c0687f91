package dev.frugal.memory.interop;

import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.memory.RawSegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import jcuda.NativePointerObject;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/**
 * Zero-copy hand-over of device memory, streams and contexts between Frugal and JCuda, for
 * services that already use JCuda. Nothing is copied and nothing changes owner: memory, streams
 * and contexts stay owned (and are freed) by whoever made them, so the other side must not use
 * them after that.
 *
 * <p>Both sides share the GPU's <em>primary</em> context, which is what Frugal always uses
 * ({@link CudaContext#retainPrimary}) and what JCuda's runtime API and
 * {@code cuDevicePrimaryCtxRetain} use; a context JCuda made with {@code cuCtxCreate} is a
 * different context, whose pointers and streams Frugal cannot use ({@link #requireSameContext}).
 *
 * <p>JCuda is an optional dependency: this class is the only one that refers to it, and is loaded
 * only when called, so Frugal runs without JCuda on the class path. Nothing here loads JCuda's
 * native libraries or needs a GPU.
 */
public final class JCudaInterop {

    private JCudaInterop() {}

    // ------------------------------------------------------------------------------ device memory

    /**
     * The address a JCuda device pointer stands for.
     *
     * @param pointer a JCuda device pointer
     * @return the device address JCuda passes to CUDA for it: its native pointer plus its byte offset
     */
    public static long address(CUdeviceptr pointer) {
        return new DevicePointerAddress(Objects.requireNonNull(pointer, "pointer")).value();
    }

    /**
     * A JCuda device pointer to a Frugal device address, without copying anything.
     *
     * @param address a device address, e.g. an {@link Allocation#address()} or a {@code cuMemAlloc}
     *     result
     * @return a JCuda device pointer to {@code address}, shaped exactly like one {@code cuMemAlloc}
     *     filled in (native pointer set, byte offset 0); JCuda must not free it
     */
    public static CUdeviceptr devicePointer(long address) {
        CUdeviceptr pointer = new CUdeviceptr();
        Handles.setAddress(pointer, address);
        return pointer;
    }

    /**
     * Hands a Frugal allocation to JCuda without copying; Frugal keeps ownership.
     *
     * @param allocation a live Frugal allocation of device memory
     * @return a JCuda device pointer to its first byte; valid until the allocation is closed
     * @throws IllegalStateException if the allocation was already freed
     */
    public static CUdeviceptr devicePointer(Allocation allocation) {
        Objects.requireNonNull(allocation, "allocation");
        if (!allocation.isLive()) {
            throw new IllegalStateException(allocation + " was freed; it cannot be handed to JCuda");
        }
        return devicePointer(allocation.address());
    }

    /**
     * Hands a raw segment to JCuda without copying.
     *
     * @param segment device memory as Frugal's raw sources describe it
     * @return a JCuda device pointer to its first byte
     */
    public static CUdeviceptr devicePointer(RawSegment segment) {
        return devicePointer(Objects.requireNonNull(segment, "segment").address());
    }

    /**
     * Views {@code bytes} of JCuda device memory as a Frugal raw segment (device memory: no host
     * view), without copying. JCuda keeps ownership: free it with JCuda, and only after Frugal is
     * done with it.
     *
     * @param pointer device memory allocated through JCuda (e.g. {@code cuMemAlloc})
     * @param bytes how many bytes of it to view, positive
     * @return the segment at the pointer's address
     * @throws IllegalArgumentException if the pointer is NULL or {@code bytes} is not positive
     */
    public static RawSegment wrap(CUdeviceptr pointer, long bytes) {
        long address = address(pointer);
        if (address == 0) {
            throw new IllegalArgumentException("the CUdeviceptr is NULL (not allocated yet?); allocate it with"
                    + " JCudaDriver.cuMemAlloc before handing it to Frugal");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("a wrapped CUdeviceptr needs a positive size, got " + bytes
                    + " bytes for 0x" + Long.toHexString(address));
        }
        return new RawSegment(address, bytes, null);
    }

    // ------------------------------------------------------------------------------ streams

    /**
     * A JCuda stream as a Frugal stream, borrowed.
     *
     * @param stream a JCuda stream
     * @return the same {@code CUstream} as a Frugal stream; closing it does not destroy the stream
     */
    public static CudaStream stream(CUstream stream) {
        return CudaStream.wrap(address(stream));
    }

    /**
     * A JCuda stream for Frugal's caching allocator.
     *
     * @param stream a JCuda stream
     * @return the same stream as the caching allocator sees streams, to allocate on it
     */
    public static CudaMemoryStream memoryStream(CUstream stream) {
        return new CudaMemoryStream(stream(stream));
    }

    /**
     * A Frugal stream as a JCuda stream.
     *
     * @param stream a Frugal stream ({@link CudaStream#DEFAULT} gives JCuda's NULL stream)
     * @return a JCuda {@code CUstream} for the same stream; JCuda must not destroy it if Frugal owns it
     */
    public static CUstream toCUstream(CudaStream stream) {
        CUstream jcuda = new CUstream();
        Handles.setAddress(jcuda, Objects.requireNonNull(stream, "stream").address());
        return jcuda;
    }

    // ------------------------------------------------------------------------------ contexts

    /**
     * Frugal's primary context as a JCuda context.
     *
     * @param context a Frugal primary context
     * @return the same {@code CUcontext} for JCuda calls such as {@code cuCtxSetCurrent}; JCuda must
     *     not destroy it (it is the primary context: release it with {@code cuDevicePrimaryCtxRelease})
     */
    public static CUcontext toCUcontext(CudaContext context) {
        CUcontext jcuda = new CUcontext();
        Handles.setAddress(jcuda, Objects.requireNonNull(context, "context").handle().address());
        return jcuda;
    }

    /**
     * Checks that JCuda's context is Frugal's (the GPU's primary context), so pointers and streams
     * can cross between them.
     *
     * @param jcuda the context JCuda work runs in (e.g. from {@code cuCtxGetCurrent})
     * @param frugal Frugal's context for the same GPU
     * @throws IllegalArgumentException if they differ, with what to change
     */
    public static void requireSameContext(CUcontext jcuda, CudaContext frugal) {
        long jcudaAddress = address(jcuda);
        long frugalAddress = Objects.requireNonNull(frugal, "frugal").handle().address();
        if (jcudaAddress != frugalAddress) {
            throw new IllegalArgumentException("JCuda's context 0x" + Long.toHexString(jcudaAddress) + " is not "
                    + frugal + " (the primary context of device " + frugal.device() + "); Frugal only uses primary"
                    + " contexts, so create JCuda's with JCudaDriver.cuDevicePrimaryCtxRetain instead of cuCtxCreate");
        }
    }

    /**
     * The native value of any JCuda handle.
     *
     * @param handle any JCuda handle ({@code CUstream}, {@code CUcontext}, {@code CUevent}, ...)
     * @return its native value; for a {@code CUdeviceptr} use {@link #address(CUdeviceptr)}, which
     *     adds the byte offset
     */
    public static long address(NativePointerObject handle) {
        Objects.requireNonNull(handle, "handle");
        if (handle instanceof CUdeviceptr pointer) {
            return address(pointer);
        }
        return new HandleAddress(handle).value();
    }

    // ------------------------------------------------------------------------------ JCuda internals

    /** Reads a handle's native value through JCuda's protected copy constructor and getter. */
    private static final class HandleAddress extends NativePointerObject {
        HandleAddress(NativePointerObject source) {
            super(source);
        }

        long value() {
            return getNativePointer();
        }
    }

    /** Reads a device pointer's address (native pointer + byte offset) through JCuda's protected API. */
    private static final class DevicePointerAddress extends CUdeviceptr {
        DevicePointerAddress(CUdeviceptr source) {
            super(source, 0);
        }

        long value() {
            return getNativePointer() + getByteOffset();
        }
    }

    /**
     * Writes a handle's native value. JCuda only sets it from native code or package-private
     * constructors, so this uses a private lookup into JCuda's package, which is open on the class
     * path and for automatic modules.
     */
    private static final class Handles {
        static final VarHandle NATIVE_POINTER = nativePointer();

        private static VarHandle nativePointer() {
            try {
                return MethodHandles.privateLookupIn(NativePointerObject.class, MethodHandles.lookup())
                        .findVarHandle(NativePointerObject.class, "nativePointer", long.class);
            } catch (ReflectiveOperationException | IllegalAccessError | SecurityException e) {
                throw new IllegalStateException("cannot set JCuda handle values: the JCuda on the class path has no"
                        + " accessible NativePointerObject.nativePointer field (Frugal's interop is tested with"
                        + " JCuda 12.6.0)", e);
            }
        }

        static void setAddress(NativePointerObject handle, long address) {
            NATIVE_POINTER.set(handle, address);
        }
    }
}
