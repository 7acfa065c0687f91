package dev.frugal.nativetests.support;

import java.util.SplittableRandom;

/**
 * Seeded random inputs. Each test uses a fixed seed, so a failure on a GPU machine reproduces
 * exactly; the seed goes into assertion messages through the caller's description.
 */
public final class RandomArrays {
  private RandomArrays() {}

  /** {@code count} floats uniform in {@code [-1, 1)}. */
  public static float[] uniform(long seed, int count) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] values = new float[count];
    for (int i = 0; i < count; i++) {
      values[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return values;
  }

  /** {@code count} floats uniform in {@code [low, high)}. */
  public static float[] uniform(long seed, int count, float low, float high) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] values = new float[count];
    for (int i = 0; i < count; i++) {
      values[i] = (float) (low + random.nextDouble() * (high - low));
    }
    return values;
  }

  /** Element-wise absolute values: the {@code |A|}, {@code |B|} of error scales. */
  public static float[] abs(float[] values) {
    float[] out = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = Math.abs(values[i]);
    }
    return out;
  }
}
