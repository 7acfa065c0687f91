package dev.frugal.nativetests.support;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Supplies the per-JVM {@link GpuDevice} to test methods (and lifecycle methods) that declare a
 * parameter of that type. The fixture lives in the root extension store, so it is opened by the
 * first test that asks for it and closed by JUnit when the whole run ends. Resolution happens on
 * the thread that runs the test, so the context is made current there.
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
    GpuDevice gpu = context.getRoot().getStore(NAMESPACE)
        .getOrComputeIfAbsent(GpuDevice.class, key -> GpuDevice.open(), GpuDevice.class);
    gpu.makeCurrent();
    return gpu;
  }
}
