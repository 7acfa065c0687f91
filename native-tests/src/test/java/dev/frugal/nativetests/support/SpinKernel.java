package dev.frugal.nativetests.support;

import dev.frugal.cuda.driver.CudaFunction;
import dev.frugal.cuda.driver.CudaModule;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.driver.Dim3;
import dev.frugal.cuda.driver.KernelArguments;

/**
 * A one-thread kernel that keeps a stream busy for a given time, reading the GPU's nanosecond
 * {@code %globaltimer}. Tests use it to make "the stream is still working" a certainty rather than
 * a race: the host's next few calls take microseconds, the spin takes hundreds of milliseconds, so
 * an event recorded after it is reliably incomplete while the test looks. Close to unload.
 */
public final class SpinKernel implements AutoCloseable {
  /** The kernel, {@code spin_ns(unsigned long long nanoseconds)}; public so CPU-only CI compile-checks it. */
  public static final String SOURCE = """
      extern "C" __global__ void spin_ns(unsigned long long nanoseconds) {
        unsigned long long start;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
        unsigned long long now = start;
        while (now - start < nanoseconds) {
          asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        }
      }
      """;

  private final CudaModule module;
  private final CudaFunction function;

  private SpinKernel(CudaModule module) {
    this.module = module;
    this.function = module.function("spin_ns");
  }

  /** Compiles the kernel for {@code gpu} and loads it into its context. */
  public static SpinKernel load(GpuDevice gpu) {
    return new SpinKernel(gpu.load("spin_ns", SOURCE));
  }

  /** Queues a spin of {@code millis} milliseconds on {@code stream}; returns at once. */
  public void spin(CudaStream stream, long millis) {
    try (KernelArguments arguments = new KernelArguments().i64(millis * 1_000_000L)) {
      function.launch(Dim3.of(1), Dim3.of(1), 0, stream, arguments);
    }
  }

  /** Unloads the module. */
  @Override
  public void close() {
    module.close();
  }
}
