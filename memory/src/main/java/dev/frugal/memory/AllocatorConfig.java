package dev.frugal.memory;

import java.util.Objects;

/**
 * Settings of a {@link CachingAllocator}.
 *
 * @param memoryLimit the most bytes of raw segments the allocator may hold at once (its reserved
 *     bytes); {@link #UNLIMITED} for none. A limit below the device's size makes a big GPU behave
 *     like a small one: requests beyond it fail exactly as a real out-of-memory would. It counts
 *     whole segments (2 MiB for small requests, 20 MiB for medium ones); when such a segment
 *     would cross the limit, a segment of exactly the request is tried instead.
 * @param debug whether to capture allocation and free stack traces, tie host views to the
 *     allocation's lifetime, poison freed host memory and throw {@link MemoryLeakException} at close
 * @param defaultStream the stream {@link CachingAllocator#allocate(long)} uses when none is named
 * @param exactSegments whether every raw segment is exactly one request (rounded to the 512-byte
 *     block), never a 2 MiB or 20 MiB segment shared by later requests: for memory that is
 *     planned ahead (a compiled program's buffers under a budget), where every byte reserved
 *     should be a byte planned and packing buys nothing
 */
public record AllocatorConfig(long memoryLimit, boolean debug, MemoryStream defaultStream, boolean exactSegments) {

    /** No memory limit. */
    public static final long UNLIMITED = Long.MAX_VALUE;
    /** Environment variable that turns debug mode on for {@link #defaults()} when set to {@code 1} or {@code true}. */
    public static final String DEBUG_ENV = "FRUGAL_MEMORY_DEBUG";

    /** Checks the limit and the stream. */
    public AllocatorConfig {
        if (memoryLimit <= 0) {
            throw new IllegalArgumentException("memoryLimit must be positive bytes (or UNLIMITED), got " + memoryLimit);
        }
        Objects.requireNonNull(defaultStream, "defaultStream");
    }

    /** @return no limit, debug mode from {@value #DEBUG_ENV}, the {@link HostStream#DEFAULT} stream */
    public static AllocatorConfig defaults() {
        String env = System.getenv(DEBUG_ENV);
        boolean debug = env != null && (env.equals("1") || env.equalsIgnoreCase("true"));
        return new AllocatorConfig(UNLIMITED, debug, HostStream.DEFAULT, false);
    }

    /** @return this configuration with another memory limit */
    public AllocatorConfig withMemoryLimit(long bytes) {
        return new AllocatorConfig(bytes, debug, defaultStream, exactSegments);
    }

    /** @return this configuration with debug mode on or off */
    public AllocatorConfig withDebug(boolean on) {
        return new AllocatorConfig(memoryLimit, on, defaultStream, exactSegments);
    }

    /** @return this configuration with another default stream */
    public AllocatorConfig withDefaultStream(MemoryStream stream) {
        return new AllocatorConfig(memoryLimit, debug, stream, exactSegments);
    }

    /** @return this configuration with exact segments on or off */
    public AllocatorConfig withExactSegments(boolean on) {
        return new AllocatorConfig(memoryLimit, debug, defaultStream, on);
    }
}
