package dev.frugal.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.cuda.discovery.CudaLibrary;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.nativetests.support.GpuDevice;
import dev.frugal.nativetests.support.GpuEnvironment;
import dev.frugal.nativetests.support.GpuTest;
import dev.frugal.nativetests.support.PoisoningDeviceApi;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.cuda.BackendParity;
import dev.frugal.runtime.cuda.CudaBackend;
import dev.frugal.runtime.cuda.DriverDeviceApi;
import dev.frugal.runtime.cuda.OpParityCases;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.precision.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The GPU parity suite: every case of the runtime's {@link OpParityCases} catalogue (every op,
 * forward and backward, f32/f16/bf16, tiny, odd and many-block shapes) run by the CUDA backend on
 * a real GPU against the CPU backend, each output within its per-dtype tolerance
 * ({@link BackendParity}). The CUDA backend's device is wrapped in a {@link PoisoningDeviceApi},
 * so every buffer starts as 0xFF bytes (NaN) instead of zeros and an element a kernel forgets to
 * write is a mismatch rather than a lucky zero. Each case runs twice on fresh inputs, so a value
 * left over from the previous run is caught as well.
 *
 * <p>The catalogue runs fused, as the CUDA executor runs programs (elementwise groups and groups
 * ending in a reduction as one generated kernel each); with {@code -D}{@value #UNFUSED_PROPERTY}
 * {@code =true} it runs a second time unfused (one kernel per node, so every op's own kernel is
 * checked too; off by default since it doubles the suite's NVRTC compilations, a few minutes on a
 * cold kernel cache). {@code -D}{@value #FILTER_PROPERTY}{@code =REGEX} runs only the cases (and
 * training steps) whose names contain a match, e.g. {@code matmul|conv2d}; the run script passes
 * such flags through {@code JAVA_OPTS}.
 * Training steps of small models built with the graph API (an MLP, a small CNN, a depthwise-
 * separable "MobileNet" block and a one-block GPT with dropout) run three steps from the same
 * parameters on both backends, comparing losses, gradients and updated parameters and momentum,
 * in fp32 and, for the MLP and the GPT, under fp16 and bf16 autocast; and six steps of each,
 * replaying the recorded third step as a CUDA graph, bit for bit against six steps run call by call.
 *
 * <p>One CUDA backend serves the whole class (kernels compile once per shape through the kernel
 * cache); a case's failure names the case, the output, the first mismatching indices with both
 * values, and the tolerance.
 */
@GpuTest(requires = {CudaLibrary.CUBLAS, CudaLibrary.NVRTC, CudaLibrary.CUDNN})
class CudaBackendParityTest {
  /** System property: {@code true} adds the unfused pass over the catalogue. */
  static final String UNFUSED_PROPERTY = "frugal.parity.unfused";
  /** System property: a regular expression; only cases whose names contain a match run. */
  static final String FILTER_PROPERTY = "frugal.parity.filter";

  /** Families whose bf16 cases run on cuBLAS or cuDNN, which need bf16 tensor cores (sm_80+). */
  private static final Set<String> MATRIX_FAMILIES = Set.of("matmul", "conv2d");

  private static final Executor CPU = Executor.cpu();
  private static final Pattern FILTER = Pattern.compile(System.getProperty(FILTER_PROPERTY, ""));
  private static PoisoningDeviceApi device;
  private static CudaBackend backend;

  /** The CUDA backend over the poisoned device under test, opened on first use. */
  private static synchronized Executor cuda() {
    if (backend == null) {
      device = PoisoningDeviceApi.poisoning(DriverDeviceApi.open(GpuEnvironment.current().testDevice(), AllocatorConfig.UNLIMITED));
      backend = new CudaBackend(device);
    }
    return new Executor(backend);
  }

  @AfterAll
  static synchronized void closeBackend() {
    if (backend != null) {
      backend.close();
      backend = null;
      device = null;
    }
  }

  @Test
  void poisonedBuffersReadBackAsNaN(GpuDevice gpu) {
    Executor cuda = cuda();
    Buffer b = backend.allocate(256, "poison check");
    try {
      float[] values = backend.download(b, Shape.of(64), DType.F32).toFloatArray();
      for (int i = 0; i < values.length; i++) {
        assertEquals(0xFFFFFFFF, Float.floatToRawIntBits(values[i]), "element " + i + " of a fresh buffer on " + gpu);
      }
      assertTrue(device.poisonedBytes() >= 256, "poisoned " + device.poisonedBytes() + " bytes");
    } finally {
      backend.free(b);
    }
    assertEquals("cuda", cuda.backend().name());
  }

  @TestFactory
  Stream<DynamicTest> everyOpMatchesCpu(GpuDevice gpu) {
    return selected().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
      assumeMatrixMath(gpu, c);
      BackendParity.compare(c, CPU, cuda());
    }));
  }

  @TestFactory
  Stream<DynamicTest> everyOpMatchesCpuUnfused(GpuDevice gpu) {
    Assumptions.assumeTrue(Boolean.getBoolean(UNFUSED_PROPERTY), "the unfused pass runs with -D" + UNFUSED_PROPERTY + "=true");
    return selected().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
      assumeMatrixMath(gpu, c);
      BackendParity.compare(c, CPU.withFusion(false), cuda().withFusion(false));
    }));
  }

  /** The catalogue's cases, narrowed by {@value #FILTER_PROPERTY}. */
  private static Stream<OpParityCases.Case> selected() {
    return OpParityCases.all().stream().filter(c -> FILTER.matcher(c.name()).find());
  }

  @TestFactory
  Stream<DynamicTest> trainingStepsMatchCpuOverThreeSteps(GpuDevice gpu) {
    List<DynamicTest> tests = new ArrayList<>();
    for (OpParityCases.TrainingCase tc : OpParityCases.trainingSteps()) {
      if (!FILTER.matcher("train/" + tc.name()).find()) {
        continue;
      }
      // fp32: 4x the CPU-vs-CPU bounds, for cuDNN's Winograd/FFT algorithms (loss rel 4e-4, gradients rel 4e-3)
      tests.add(DynamicTest.dynamicTest(tc.name() + " fp32", () -> BackendParity.compareTraining(tc, CPU, cuda(), 3, 4)));
      if (tc.name().equals("mlp") || tc.name().equals("tiny-gpt")) {
        // One rounding of a half activation apart on the two backends grows through the step: the
        // GPT's fp16 gradients differ by up to ~30x the fp32 bound on an emulated GPU.
        tests.add(DynamicTest.dynamicTest(tc.name() + " fp16 autocast", () -> BackendParity.compareTraining(tc,
            CPU.withAutocast(Precision.FP16), cuda().withAutocast(Precision.FP16), 3, 50)));
        tests.add(DynamicTest.dynamicTest(tc.name() + " bf16 autocast", () -> {
          Assumptions.assumeTrue(gpu.computeCapability() >= 80, "bf16 matrix math needs sm_80 or newer; " + gpu + " is older");
          BackendParity.compareTraining(tc, CPU.withAutocast(Precision.BF16), cuda().withAutocast(Precision.BF16), 3, 200);
        }));
      }
    }
    return tests.stream();
  }

  /**
   * Six steps of every training case replaying the recorded third step (a CUDA graph launch from
   * then on) give bit for bit the losses, gradients, parameters and state of six steps queued call
   * by call ({@code withStepReplay(false)}), on the same backend, so with the same cuDNN algorithms.
   */
  @TestFactory
  Stream<DynamicTest> replayedStepsAreBitIdenticalToStreamedSteps(GpuDevice gpu) {
    return OpParityCases.trainingSteps().stream()
        .filter(tc -> FILTER.matcher("replay/" + tc.name()).find())
        .map(tc -> DynamicTest.dynamicTest(tc.name(), () -> {
          Assumptions.assumeTrue(cuda().backend() instanceof CudaBackend b && b.deviceApi().canCapture(),
              "the device does not record steps (FRUGAL_CUDA_SYNC=1)");
          BackendParity.compareTraining(tc, cuda().withStepReplay(false), cuda(), 6, 0);
        }));
  }

  /** Skips a bf16 case that runs on cuBLAS or cuDNN on a GPU without bf16 tensor cores. */
  private static void assumeMatrixMath(GpuDevice gpu, OpParityCases.Case c) {
    Assumptions.assumeTrue(!MATRIX_FAMILIES.contains(c.family()) || !c.name().contains("/bf16/") || gpu.computeCapability() >= 80,
        "bf16 matrix math (cuBLAS, cuDNN) needs sm_80 or newer; " + gpu + " is older");
  }
}
