package dev.frugal.cuda.cublas;

/**
 * One algorithm {@link CublasLt#heuristic} proposed.
 *
 * @param opaque the 64-byte {@code cublasLtMatmulAlgo_t}, as 8 longs (pass back unchanged)
 * @param workspaceBytes the device workspace it needs
 * @param wavesCount cuBLASLt's estimate of SM occupancy waves (lower near 1.0 is better)
 */
public record MatmulAlgorithm(long[] opaque, long workspaceBytes, float wavesCount) {

  /** Copies the opaque words and checks their count. */
  public MatmulAlgorithm {
    if (opaque.length != 8) {
      throw new IllegalArgumentException("cublasLtMatmulAlgo_t is 8 longs, got " + opaque.length);
    }
    opaque = opaque.clone();
  }

  /** A copy of the opaque words. */
  @Override
  public long[] opaque() {
    return opaque.clone();
  }
}
