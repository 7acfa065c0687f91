package dev.frugal.runtime.cuda;

import dev.frugal.memory.Allocation;
import dev.frugal.runtime.exec.Buffer;

/**
 * A {@link CudaBackend} buffer: {@code byteSize} bytes of device memory at {@code address}. An
 * owning buffer holds its {@link Allocation} from the device's caching allocator; a slice (a
 * planned region of an arena) or a wrapped tensor's device copy owns nothing.
 *
 * @param address device address of the first byte
 * @param owner   the allocation freed with the buffer, or null
 */
record CudaBuffer(long address, long byteSize, Allocation owner) implements Buffer {
    /** The device address of the buffer in slot {@code slot}. */
    static long address(Buffer[] slots, int slot) {
        return ((CudaBuffer) slots[slot]).address;
    }
}
