package dev.frugal.nativetests.support;

import dev.frugal.cuda.LibraryStatus;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Supplies the per-JVM {@link GpuDevice} to test methods (and lifecycle methods) that declare a
 * parameter of that type. The fixture lives in the root extension store, so it is opened by the
 * first test that asks for it and closed by JUnit when the whole run ends. Resolution happens on
 * the thread that runs the test, so the context is made current there.
 *
 * <p>When the fixture is opened, the GPU and every library's path and version are published as a
 * report entry ({@code frugal.gpu}), so a report from a remote GPU machine says what it ran on.
 */
public final class GpuDeviceResolver implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(GpuDeviceResolver.class);

  /** Used by JUnit through {@link GpuTest}. */
  public GpuDeviceResolver() {}

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == GpuDevice.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    boolean[] opened = {false};
    GpuDevice gpu = context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(GpuDevice.class, key -> {
      opened[0] = true;
      return GpuDevice.open();
    }, GpuDevice.class);
    gpu.makeCurrent();
    if (opened[0]) {
      context.publishReportEntry("frugal.gpu", describe(gpu));
    }
    return gpu;
  }

  private static String describe(GpuDevice gpu) {
    GpuEnvironment environment = GpuEnvironment.current();
    String libraries = environment.report().libraries().stream()
        .map(GpuDeviceResolver::describe)
        .collect(Collectors.joining("; "));
    return GpuRequirements.describe(environment) + ", NVRTC target " + arch(gpu) + "; libraries: " + libraries;
  }

  /** The kernel target, or why there is none: a missing NVRTC must fail only the tests that compile. */
  private static String arch(GpuDevice gpu) {
    try {
      return gpu.arch();
    } catch (RuntimeException e) {
      return "unavailable (" + e.getMessage() + ")";
    }
  }

  private static String describe(LibraryStatus library) {
    return library.name() + (library.found() ? " " + library.version() + " at " + library.path() : " missing");
  }
}
