package dev.frugal.bench.memory;

import dev.frugal.memory.Allocation;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.HostRawAllocator;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Allocate/free throughput of the caching allocator over host memory, against the ways plain Java
 * code gets off-heap memory: a confined or shared {@link Arena} per buffer (allocate + close), and
 * libc {@code malloc}/{@code free} through FFM (no arena at all).
 *
 * <p>Note that arenas zero the memory they allocate and the others do not; that is part of what a
 * caller pays, so it is measured as is. Run with
 * {@code java --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar AllocatorBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AllocatorBenchmark {

    /** One buffer size per run of the single-buffer benchmarks. */
    @State(Scope.Benchmark)
    public static class Size {
        /** Bytes per allocation: a small, a mid-sized (still small pool) and a large-pool request. */
        @Param({"4096", "262144", "4194304"})
        public long bytes;
    }

    /** The allocators under test, one per trial. */
    @State(Scope.Thread)
    public static class Allocators {
        HostRawAllocator raw;
        CachingAllocator caching;
        MethodHandle malloc;
        MethodHandle free;
        /** Sizes of the mixed batch: 16 requests from 100 bytes to 3 MiB, fixed seed. */
        long[] batchSizes;
        /** Order in which the batch is freed: shuffled, so blocks merge in varied orders. */
        int[] freeOrder;

        @Setup(Level.Trial)
        public void setUp() {
            raw = new HostRawAllocator();
            caching = new CachingAllocator(raw, AllocatorConfig.defaults().withDebug(false));
            Linker linker = Linker.nativeLinker();
            malloc = linker.downcallHandle(linker.defaultLookup().find("malloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            Random random = new Random(42);
            batchSizes = new long[16];
            for (int i = 0; i < batchSizes.length; i++) {
                batchSizes[i] = random.nextInt(4) == 0 ? 1 + random.nextInt(3 << 20) : 100 + random.nextInt(64 << 10);
            }
            freeOrder = new int[batchSizes.length];
            for (int i = 0; i < freeOrder.length; i++) {
                freeOrder[i] = i;
            }
            for (int i = freeOrder.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = freeOrder[i];
                freeOrder[i] = freeOrder[j];
                freeOrder[j] = t;
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            caching.close();
            raw.close();
        }
    }

    /** Caching allocator: allocate and free one buffer (a cache hit after the first call). */
    @Benchmark
    public long cachingAllocateFree(Allocators a, Size size) {
        Allocation allocation = a.caching.allocate(size.bytes);
        long address = allocation.address();
        allocation.close();
        return address;
    }

    /** A confined arena per buffer: allocate (zeroed) and close. */
    @Benchmark
    public long confinedArenaAllocateClose(Size size) {
        try (Arena arena = Arena.ofConfined()) {
            return arena.allocate(size.bytes).address();
        }
    }

    /** A shared arena per buffer: allocate (zeroed) and close, which needs a thread handshake. */
    @Benchmark
    public long sharedArenaAllocateClose(Size size) {
        try (Arena arena = Arena.ofShared()) {
            return arena.allocate(size.bytes).address();
        }
    }

    /** libc malloc and free through FFM downcalls: no arena, no zeroing. */
    @Benchmark
    public long mallocFree(Allocators a, Size size) throws Throwable {
        MemorySegment pointer = (MemorySegment) a.malloc.invokeExact(size.bytes);
        a.free.invokeExact(pointer);
        return pointer.address();
    }

    /** Caching allocator: 16 mixed-size buffers live at once, freed in shuffled order (splits and merges). */
    @Benchmark
    public void cachingMixedBatch(Allocators a, Blackhole sink) {
        Allocation[] live = new Allocation[a.batchSizes.length];
        for (int i = 0; i < live.length; i++) {
            live[i] = a.caching.allocate(a.batchSizes[i]);
            sink.consume(live[i].address());
        }
        for (int i : a.freeOrder) {
            live[i].close();
        }
    }

    /** The same batch with malloc and free. */
    @Benchmark
    public void mallocMixedBatch(Allocators a, Blackhole sink) throws Throwable {
        MemorySegment[] live = new MemorySegment[a.batchSizes.length];
        for (int i = 0; i < live.length; i++) {
            live[i] = (MemorySegment) a.malloc.invokeExact(a.batchSizes[i]);
            sink.consume(live[i].address());
        }
        for (int i : a.freeOrder) {
            a.free.invokeExact(live[i]);
        }
    }

    /** The same batch with one confined arena per buffer. */
    @Benchmark
    public void confinedArenaMixedBatch(Allocators a, Blackhole sink) {
        Arena[] arenas = new Arena[a.batchSizes.length];
        for (int i = 0; i < arenas.length; i++) {
            arenas[i] = Arena.ofConfined();
            sink.consume(arenas[i].allocate(a.batchSizes[i]).address());
        }
        for (int i : a.freeOrder) {
            arenas[i].close();
        }
    }
}
