package dev.frugal.runtime.exec;

/**
 * An opaque handle to memory a {@link Backend} owns (host memory on the CPU, device memory on a
 * GPU). The executor only passes handles around; only the backend that made a buffer looks
 * inside it.
 */
public interface Buffer {
    /** Size of the buffer in bytes. */
    long byteSize();
}
