package dev.frugal.nativetests;

import static jcuda.driver.JCudaDriver.cuCtxGetCurrent;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.memory.Allocation;
import dev.frugal.memory.CachingAllocator;
import dev.frugal.memory.CudaDeviceRawAllocator;
import dev.frugal.memory.CudaMemoryStream;
import dev.frugal.memory.RawSegment;
import dev.frugal.memory.interop.JCudaInterop;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.RandomArrays;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.Test;

/**
 * Zero-copy hand-over between Frugal and real JCuda objects ({@link JCudaInterop}), as a JVM
 * service that already uses JCuda would do it: memory JCuda allocated is read and written by
 * Frugal and the other way round, a JCuda stream carries Frugal's work and a Frugal stream
 * JCuda's, and both see the same primary context. Each direction is proven by data written on one
 * side and read on the other, never only by comparing addresses. Uses JCuda's driver API only,
 * whose native library needs nothing but {@code libcuda.so.1}.
 */
@GpuTest
class JCudaInteropTest {
  private static final int COUNT = 4096;
  private static final long BYTES = COUNT * 4L;

  @Test
  void bothSidesShareThePrimaryContext(GpuDevice gpu) {
    JCudaDriver.setExceptionsEnabled(true);
    CUcontext current = new CUcontext();
    cuCtxGetCurrent(current);
    JCudaInterop.requireSameContext(current, gpu.context());
    assertEquals(gpu.context().handle().address(), JCudaInterop.address(JCudaInterop.toCUcontext(gpu.context())));
  }

  @Test
  void jcudaMemoryIsFrugalMemoryWithoutCopies(GpuDevice gpu) {
    JCudaDriver.setExceptionsEnabled(true);
    float[] values = RandomArrays.uniform(91, COUNT);
    CUdeviceptr pointer = new CUdeviceptr();
    cuMemAlloc(pointer, BYTES);
    try {
      cuMemcpyHtoD(pointer, Pointer.to(values), BYTES);
      RawSegment segment = JCudaInterop.wrap(pointer, BYTES);
      assertArrayEquals(values, readFloats(segment.address()), "Frugal reads what JCuda wrote");
      CudaDriver.memsetD8(segment.address(), (byte) 0x3f, BYTES);
      float[] back = new float[COUNT];
      cuMemcpyDtoH(Pointer.to(back), pointer, BYTES);
      for (int i = 0; i < COUNT; i++) {
        assertEquals(Float.intBitsToFloat(0x3f3f3f3f), back[i], "JCuda reads what Frugal wrote, element " + i);
      }
    } finally {
      cuMemFree(pointer);
    }
  }

  @Test
  void frugalAllocationsAndStreamsWorkInJCudaCalls(GpuDevice gpu) {
    JCudaDriver.setExceptionsEnabled(true);
    float[] values = RandomArrays.uniform(92, COUNT);
    CUstream jcudaStream = new CUstream();
    cuStreamCreate(jcudaStream, 0);
    try (CudaDeviceRawAllocator raw = new CudaDeviceRawAllocator(gpu.context());
         CachingAllocator allocator = new CachingAllocator(raw,
             AllocatorConfig.defaults().withDefaultStream(new CudaMemoryStream(gpu.stream())));
         Allocation allocation = allocator.allocate(BYTES, JCudaInterop.memoryStream(jcudaStream), "from jcuda stream");
         CudaStream wrapped = JCudaInterop.stream(jcudaStream)) {
      CUdeviceptr pointer = JCudaInterop.devicePointer(allocation);
      cuMemcpyHtoD(pointer, Pointer.to(values), BYTES);
      assertArrayEquals(values, readFloats(allocation.address()), "JCuda wrote into a Frugal allocation");

      // Frugal work on JCuda's stream, finished by JCuda's synchronise.
      CudaDriver.memsetD32Async(allocation.address(), Float.floatToRawIntBits(3f), COUNT, wrapped);
      cuStreamSynchronize(jcudaStream);
      float[] threes = new float[COUNT];
      cuMemcpyDtoH(Pointer.to(threes), pointer, BYTES);
      assertEquals(3f, threes[COUNT - 1], "Frugal's fill on JCuda's stream");

      // JCuda work on Frugal's stream, finished by Frugal's synchronise.
      cuMemsetD32Async(pointer, Float.floatToRawIntBits(5f), COUNT, JCudaInterop.toCUstream(gpu.stream()));
      gpu.stream().synchronize();
      float[] fives = readFloats(allocation.address());
      assertEquals(5f, fives[0], "JCuda's fill on Frugal's stream");
      assertEquals(5f, fives[COUNT - 1], "JCuda's fill on Frugal's stream");
    } finally {
      cuStreamDestroy(jcudaStream);
    }
  }

  private static float[] readFloats(long address) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, COUNT);
      CudaDriver.memcpyDtoH(host, address, BYTES);
      return host.toArray(ValueLayout.JAVA_FLOAT);
    }
  }
}
