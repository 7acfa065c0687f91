package dev.frugal.memory.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.memory.HostRawAllocator;
import dev.frugal.memory.RawSegment;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Address round trips between Frugal and real JCuda objects. Addresses are only carried, never
 * dereferenced, so neither a GPU nor JCuda's native libraries are needed.
 */
class JCudaInteropTest {

    @ParameterizedTest
    @ValueSource(longs = {0x7f3a_1c00_0000L, 0x2_0000_0200L, 0xffff_8000_0000_1000L, 512})
    void frugalAddressRoundTripsThroughCUdeviceptr(long address) {
        CUdeviceptr pointer = JCudaInterop.devicePointer(address);
        assertEquals(address, JCudaInterop.address(pointer));
        assertEquals("CUdeviceptr[nativePointer=0x" + Long.toHexString(address) + ",byteOffset=0]", pointer.toString(),
                "shaped like a pointer JCuda's cuMemAlloc filled in");
    }

    @Test
    void jcudaByteOffsetsAreIncludedInTheAddress() {
        long base = 0x7f00_0000_0000L;
        assertEquals(base + 4096, JCudaInterop.address(JCudaInterop.devicePointer(base).withByteOffset(4096)));
        assertEquals(base, JCudaInterop.address(new CUdeviceptr().withByteOffset(base)),
                "JCuda's own way to point at an address: offset from NULL");
        assertEquals(base + 96, JCudaInterop.address(new CUdeviceptr().withByteOffset(base).withByteOffset(96)));
    }

    @Test
    void allocationIsHandedOverWithoutCopyAndRefusedAfterFree() {
        try (CachingAllocator allocator = new CachingAllocator(new HostRawAllocator())) {
            Allocation allocation = allocator.allocate(4096, "interop");
            CUdeviceptr pointer = JCudaInterop.devicePointer(allocation);
            assertEquals(allocation.address(), JCudaInterop.address(pointer));
            allocation.close();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> JCudaInterop.devicePointer(allocation));
            assertTrue(e.getMessage().contains("was freed"), e.getMessage());
        }
    }

    @Test
    void jcudaMemoryIsWrappedWithoutCopy() {
        CUdeviceptr pointer = JCudaInterop.devicePointer(0x7f00_0010_0000L);
        RawSegment segment = JCudaInterop.wrap(pointer, 1 << 20);
        assertEquals(0x7f00_0010_0000L, segment.address());
        assertEquals(1 << 20, segment.size());
        assertFalse(segment.isHostAccessible(), "JCuda device memory has no host view");
        assertEquals(segment.address(), JCudaInterop.address(JCudaInterop.devicePointer(segment)));
        assertEquals(0x7f00_0010_0100L, JCudaInterop.wrap(pointer.withByteOffset(256), 64).address());
    }

    @Test
    void wrapChecksSizeAndPointer() {
        CUdeviceptr pointer = JCudaInterop.devicePointer(0x7f00_0000_0000L);
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> JCudaInterop.wrap(pointer, 0));
        assertTrue(zero.getMessage().contains("positive size"), zero.getMessage());
        assertThrows(IllegalArgumentException.class, () -> JCudaInterop.wrap(pointer, -8));
        IllegalArgumentException unallocated = assertThrows(IllegalArgumentException.class,
                () -> JCudaInterop.wrap(new CUdeviceptr(), 1024));
        assertTrue(unallocated.getMessage().contains("NULL"), unallocated.getMessage());
        NullPointerException missing = assertThrows(NullPointerException.class, () -> JCudaInterop.wrap(null, 1024));
        assertEquals("pointer", missing.getMessage());
        assertThrows(NullPointerException.class, () -> JCudaInterop.devicePointer((Allocation) null));
    }

    @Test
    void streamsRoundTripBothWays() {
        CudaStream frugal = CudaStream.wrap(0x5555_0000_1230L);
        CUstream jcuda = JCudaInterop.toCUstream(frugal);
        assertEquals(frugal.address(), JCudaInterop.address(jcuda));
        CudaStream back = JCudaInterop.stream(jcuda);
        assertEquals(frugal.address(), back.address());
        back.close(); // borrowed: closing must not try to destroy JCuda's stream (there is no driver here)

        CudaMemoryStream forAllocator = JCudaInterop.memoryStream(jcuda);
        assertEquals(frugal.address(), forAllocator.id());

        assertEquals(0, JCudaInterop.address(JCudaInterop.toCUstream(CudaStream.DEFAULT)), "the NULL stream");
        assertEquals(0, JCudaInterop.stream(new CUstream()).address(), "JCuda's default CUstream is the NULL stream");
        assertThrows(NullPointerException.class, () -> JCudaInterop.toCUstream(null));
    }

    @Test
    void genericAddressAddsTheByteOffsetOfDevicePointers() {
        jcuda.NativePointerObject asHandle = JCudaInterop.devicePointer(0x1000).withByteOffset(16);
        assertEquals(0x1010, JCudaInterop.address(asHandle));
        CUstream stream = JCudaInterop.toCUstream(CudaStream.wrap(0xabc0));
        jcuda.NativePointerObject streamHandle = stream;
        assertEquals(0xabc0, JCudaInterop.address(streamHandle));
    }
}
