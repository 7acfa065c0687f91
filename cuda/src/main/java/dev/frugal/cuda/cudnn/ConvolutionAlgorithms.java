package dev.frugal.cuda.cudnn;

import java.util.Objects;

/**
 * The algorithms chosen for one convolution shape: forward, backward-data and backward-filter,
 * each with the workspace and math type it needs. Caching choices per shape is the CUDA backend's
 * job; this is only the value it caches.
 *
 * @param forward the forward choice
 * @param backwardData the input-gradient choice
 * @param backwardFilter the filter-gradient choice
 */
public record ConvolutionAlgorithms(AlgorithmPerf<ForwardAlgorithm> forward,
    AlgorithmPerf<BackwardDataAlgorithm> backwardData, AlgorithmPerf<BackwardFilterAlgorithm> backwardFilter) {

  /** Checks that all three are present and usable. */
  public ConvolutionAlgorithms {
    requireUsable(forward, "forward");
    requireUsable(backwardData, "backwardData");
    requireUsable(backwardFilter, "backwardFilter");
  }

  private static void requireUsable(AlgorithmPerf<?> perf, String role) {
    Objects.requireNonNull(perf, role);
    if (!perf.isUsable()) {
      throw new IllegalArgumentException(role + " algorithm " + perf.algorithm() + " is not usable: "
          + perf.statusName());
    }
  }

  /** The largest workspace any of the three needs: one buffer of this size serves all of them. */
  public long workspaceBytes() {
    return Math.max(forward.workspaceBytes(), Math.max(backwardData.workspaceBytes(), backwardFilter.workspaceBytes()));
  }

  /** Whether all three give bit-identical results run to run. */
  public boolean deterministic() {
    return forward.deterministic() && backwardData.deterministic() && backwardFilter.deterministic();
  }
}
