package dev.frugal.cuda.nvrtc;

import java.util.Arrays;

/**
 * A kernel module compiled for one GPU architecture.
 *
 * @param name the program name given to the compiler
 * @param arch the target, e.g. {@code "sm_89"}
 * @param cubin the CUBIN image (an ELF file) to pass to {@link dev.frugal.cuda.driver.CudaModule#load}
 * @param log the compiler's warnings (empty when there were none, or when loaded from the cache)
 * @param fromCache whether the CUBIN came from the on-disk cache rather than a compilation
 */
public record CompiledKernel(String name, String arch, byte[] cubin, String log, boolean fromCache) {

  /** Copies the image so a caller cannot change a cached CUBIN. */
  public CompiledKernel {
    cubin = cubin.clone();
  }

  /** A copy of the CUBIN image. */
  @Override
  public byte[] cubin() {
    return cubin.clone();
  }

  /** Equal when every field is equal (the CUBIN bytes by content). */
  @Override
  public boolean equals(Object other) {
    return other instanceof CompiledKernel that && name.equals(that.name) && arch.equals(that.arch)
        && Arrays.equals(cubin, that.cubin) && log.equals(that.log) && fromCache == that.fromCache;
  }

  /** Consistent with {@link #equals(Object)}. */
  @Override
  public int hashCode() {
    return 31 * (31 * name.hashCode() + arch.hashCode()) + Arrays.hashCode(cubin);
  }

  /** A one-line description for logs and failing tests. */
  @Override
  public String toString() {
    return "CompiledKernel[" + name + ", " + arch + ", " + cubin.length + " bytes" + (fromCache ? ", cached" : "") + "]";
  }
}
