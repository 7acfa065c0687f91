package dev.frugal.cuda.cudnn;

import java.util.List;
import java.util.Optional;

/**
 * One entry of a cuDNN algorithm search ({@code cudnnConvolution*AlgoPerf_t}), from the
 * heuristics (time is -1) or from a timed Find (time in milliseconds).
 *
 * @param algorithm the algorithm
 * @param status its cuDNN status: 0 if it can run this convolution, otherwise why not
 * @param statusName cuDNN's name for {@code status}
 * @param timeMillis measured time in milliseconds, or a negative value when not measured
 * @param workspaceBytes the device workspace it needs
 * @param deterministic whether it gives bit-identical results run to run
 * @param mathType the math type to set on the convolution descriptor before running it
 * @param <A> {@link ForwardAlgorithm}, {@link BackwardDataAlgorithm} or {@link BackwardFilterAlgorithm}
 */
public record AlgorithmPerf<A extends Enum<A>>(A algorithm, int status, String statusName, float timeMillis,
    long workspaceBytes, boolean deterministic, CudnnMathType mathType) {

  /** Whether cuDNN can run this algorithm for the convolution it was asked about. */
  public boolean isUsable() {
    return status == Cudnn.SUCCESS;
  }

  /**
   * The first usable entry of {@code ranked} (cuDNN returns them best first) within the workspace
   * limit, and deterministic if asked.
   */
  public static <A extends Enum<A>> Optional<AlgorithmPerf<A>> best(List<AlgorithmPerf<A>> ranked,
      long workspaceLimit, boolean requireDeterministic) {
    for (AlgorithmPerf<A> perf : ranked) {
      if (perf.isUsable() && perf.workspaceBytes() <= workspaceLimit && (perf.deterministic() || !requireDeterministic)) {
        return Optional.of(perf);
      }
    }
    return Optional.empty();
  }
}
