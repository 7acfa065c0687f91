package dev.frugal.nativetests.support;

import dev.frugal.cuda.discovery.CudaLibrary;
import java.lang.reflect.AnnotatedElement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The condition behind {@link GpuTest}: disables a test, with discovery's reason, when this
 * machine has no usable GPU or lacks a library the test {@linkplain GpuTest#requires() requires}.
 * A disabled test is reported as skipped with that reason, so a skipped GPU run says exactly what
 * to install instead of failing with a native error.
 */
public final class GpuAvailable implements ExecutionCondition {

  /** Used by JUnit through {@link GpuTest}. */
  public GpuAvailable() {}

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    List<CudaLibrary> required = new ArrayList<>();
    context.getTestClass().ifPresent(type -> collect(type, required));
    context.getElement().ifPresent(element -> collect(element, required));
    GpuEnvironment environment = GpuEnvironment.current();
    Optional<String> reason = GpuRequirements.unavailableReason(environment, required);
    return reason.map(ConditionEvaluationResult::disabled)
        .orElseGet(() -> ConditionEvaluationResult.enabled(GpuRequirements.describe(environment)));
  }

  private static void collect(AnnotatedElement element, List<CudaLibrary> into) {
    AnnotationSupport.findAnnotation(element, GpuTest.class).ifPresent(test -> into.addAll(Arrays.asList(test.requires())));
  }
}
