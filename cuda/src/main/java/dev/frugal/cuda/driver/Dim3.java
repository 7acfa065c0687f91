package dev.frugal.cuda.driver;

/**
 * A grid or block size for a kernel launch.
 *
 * @param x size in x, at least 1
 * @param y size in y, at least 1
 * @param z size in z, at least 1
 */
public record Dim3(int x, int y, int z) {

  /** Rejects non-positive sizes, which the driver would report only as an opaque INVALID_VALUE. */
  public Dim3 {
    if (x < 1 || y < 1 || z < 1) {
      throw new IllegalArgumentException("launch dimensions must be >= 1, got (" + x + ", " + y + ", " + z + ")");
    }
  }

  /** A one-dimensional size. */
  public static Dim3 of(int x) {
    return new Dim3(x, 1, 1);
  }

  /** A one-line description for logs and failing tests. */
  @Override
  public String toString() {
    return "(" + x + ", " + y + ", " + z + ")";
  }
}
