package dev.frugal.nativetests.support;

import dev.frugal.cuda.discovery.CudaLibrary;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class or method that needs a real GPU. It is tagged {@code gpu} (the GPU bundle
 * runs exactly that tag), it is skipped with the reason library discovery gives when there is no
 * usable GPU or a required library is missing ({@link GpuAvailable}), and its methods may take a
 * {@link GpuDevice} parameter: the per-JVM device fixture ({@link GpuDeviceResolver}).
 *
 * <p>The CUDA driver is always required; name the other libraries a test calls in
 * {@link #requires()} so that, say, a machine without cuDNN skips the convolution tests with
 * "cudnn: libcudnn.so.9 not found (searched ...)" instead of failing them.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Tag("gpu")
@ExtendWith({GpuAvailable.class, GpuDeviceResolver.class})
public @interface GpuTest {

  /** Libraries the test needs besides the CUDA driver. */
  CudaLibrary[] requires() default {};
}
