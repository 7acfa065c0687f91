package dev.frugal.memory;

import dev.frugal.cuda.driver.CudaEvent;
import dev.frugal.cuda.driver.CudaStream;
import java.util.Objects;

/**
 * A CUDA stream as the caching allocator sees it: its id is the {@code CUstream} handle's address
 * (0 for the legacy default stream), and its events are timing-free CUDA events, destroyed once
 * the allocator has seen them complete.
 */
public final class CudaMemoryStream implements MemoryStream {

    private final CudaStream stream;

    /** @param stream the stream; it stays owned by the caller */
    public CudaMemoryStream(CudaStream stream) {
        this.stream = Objects.requireNonNull(stream, "stream");
    }

    /** @return the wrapped stream */
    public CudaStream stream() {
        return stream;
    }

    @Override
    public long id() {
        return stream.address();
    }

    @Override
    public StreamEvent recordEvent() {
        CudaEvent event = CudaEvent.createWithoutTiming();
        try {
            event.record(stream);
        } catch (RuntimeException e) {
            event.close();
            throw e;
        }
        return new StreamEvent() {
            @Override
            public boolean isComplete() {
                return event.isComplete();
            }

            @Override
            public void synchronize() {
                event.synchronize();
            }

            @Override
            public void release() {
                event.close();
            }
        };
    }

    @Override
    public String toString() {
        return "CUDA stream 0x" + Long.toHexString(stream.address());
    }
}
