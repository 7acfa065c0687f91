package dev.frugal.memory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link MemoryStream} for CPU work, which runs synchronously in the calling thread: by the
 * time memory is freed the work that used it is done, so its events are complete at once.
 */
public final class HostStream implements MemoryStream {

    /** The stream allocations use when no stream is named (id 0, like CUDA's legacy default stream). */
    public static final HostStream DEFAULT = new HostStream(0);

    private static final AtomicLong NEXT_ID = new AtomicLong(1L << 32);

    private static final StreamEvent COMPLETED = new StreamEvent() {
        @Override
        public boolean isComplete() {
            return true;
        }

        @Override
        public void synchronize() {
        }

        @Override
        public String toString() {
            return "completed host event";
        }
    };

    private final long id;

    private HostStream(long id) {
        this.id = id;
    }

    /** @return a new host stream with an id distinct from every other host stream's */
    public static HostStream create() {
        return new HostStream(NEXT_ID.getAndIncrement());
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public StreamEvent recordEvent() {
        return COMPLETED;
    }

    @Override
    public String toString() {
        return "host stream " + id;
    }
}
