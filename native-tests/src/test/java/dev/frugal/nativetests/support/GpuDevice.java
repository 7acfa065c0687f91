package dev.frugal.nativetests.support;

import dev.frugal.cuda.driver.CudaContext;
import dev.frugal.cuda.driver.CudaDriver;
import dev.frugal.cuda.driver.CudaModule;
import dev.frugal.cuda.driver.CudaStream;
import dev.frugal.cuda.nvrtc.CompiledKernel;
import dev.frugal.cuda.nvrtc.HalfHeaders;
import dev.frugal.cuda.nvrtc.KernelCompiler;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The GPU shared by every test in one JVM: the primary context of one device, retained once, a
 * non-blocking stream, and an NVRTC compiler for the device's exact architecture. Tests get it as
 * a method parameter ({@link GpuDeviceResolver}), which also makes the context current on the
 * test's thread, since the current context is per OS thread. JUnit closes it once, after the last
 * test ({@link ExtensionContext.Store.CloseableResource} in the root store).
 *
 * <p>Sharing one context mirrors how Frugal runs (one primary context per process) and keeps
 * the suite fast: retaining a primary context costs hundreds of milliseconds.
 *
 * <p>The device ordinal comes from the system property {@value GpuEnvironment#DEVICE_PROPERTY} (default 0);
 * to test another GPU, prefer {@code CUDA_VISIBLE_DEVICES}.
 */
public final class GpuDevice implements ExtensionContext.Store.CloseableResource {
  private final int ordinal;
  private final CudaContext context;
  private final CudaStream stream;
  private final int computeCapability;
  private final String name;
  private KernelCompiler compiler;
  private String arch;
  private boolean closed;

  private GpuDevice(int ordinal, CudaContext context, CudaStream stream) {
    this.ordinal = ordinal;
    this.context = context;
    this.stream = stream;
    this.computeCapability = CudaDriver.computeCapability(context.device());
    this.name = CudaDriver.deviceName(context.device());
  }

  /** Retains the primary context of the test device and creates the shared stream. */
  static GpuDevice open() {
    int ordinal = GpuEnvironment.current().testDevice();
    CudaContext context = CudaContext.retainPrimary(ordinal);
    try {
      context.makeCurrent();
      return new GpuDevice(ordinal, context, CudaStream.create());
    } catch (RuntimeException e) {
      context.close();
      throw e;
    }
  }

  /** The CUDA ordinal of the device under test. */
  public int ordinal() {
    return ordinal;
  }

  /** The retained primary context. */
  public CudaContext context() {
    return context;
  }

  /** The {@code CUdevice} handle. */
  public int device() {
    return context.device();
  }

  /** The device's name, for messages. */
  public String name() {
    return name;
  }

  /** Compute capability as 10 * major + minor (e.g. 90 for an H100). */
  public int computeCapability() {
    return computeCapability;
  }

  /** The shared non-blocking stream; tests synchronise it before reading results. */
  public CudaStream stream() {
    return stream;
  }

  /**
   * Skips the calling test, saying why, when {@code precision} is bf16 and this GPU is older than
   * sm_80: cuBLAS and cuDNN run bf16 matrix math on bf16 tensor cores, which start with Ampere.
   */
  public void assumeBf16MatrixMath(Precision precision) {
    Assumptions.assumeTrue(precision != Precision.BF16 || computeCapability >= 80,
        "bf16 matrix math (cuBLAS, cuDNN) needs sm_80 or newer; " + this + " is older");
  }

  /** Makes the context current on the calling thread (needed on every new thread). */
  public void makeCurrent() {
    context.makeCurrent();
  }

  /** The {@code sm_XX} NVRTC targets for this device ({@link KernelCompiler#archForDevice}). */
  public synchronized String arch() {
    if (arch == null) {
      arch = KernelCompiler.archForDevice(device());
    }
    return arch;
  }

  /**
   * A compiler without an on-disk cache: the tests exercise NVRTC itself on every run instead of
   * possibly loading a CUBIN compiled by an earlier build.
   */
  public synchronized KernelCompiler compiler() {
    if (compiler == null) {
      compiler = new KernelCompiler(null, HalfHeaders.AUTO);
    }
    return compiler;
  }

  /** Compiles {@code source} for this device with the default ({@link HalfHeaders#AUTO}) headers. */
  public CompiledKernel compile(String programName, String source) {
    return compiler().compile(programName, source, arch(), List.of());
  }

  /** Compiles {@code source} for this device and loads it into the context. */
  public CudaModule load(String programName, String source) {
    makeCurrent();
    return CudaModule.load(compile(programName, source).cubin());
  }

  /** Synchronises and releases everything, once; called by JUnit after the last test. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    context.makeCurrent();
    try {
      stream.synchronize();
    } finally {
      stream.close();
      context.close();
    }
  }

  @Override
  public String toString() {
    return "GPU " + ordinal + " " + name + " (sm_" + computeCapability + ")";
  }
}
