package dev.frugal.models;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;

import java.util.SplittableRandom;

/**
 * How a {@link Variable}'s value is filled at {@link Module#initialize(long)}: a pure function of
 * the shape and a random stream, so the same seed gives bit-identical weights on every machine.
 *
 * <p>Random draws use only {@link SplittableRandom#nextDouble()}, whose algorithm (SplitMix64)
 * is fixed, and Box-Muller for normals written out here rather than
 * {@code RandomGenerator.nextGaussian()}, whose algorithm is not specified.
 */
@FunctionalInterface
public interface Initializer {

    /** The next element of a tensor being filled; called once per element, in row-major order. */
    double next(SplittableRandom rng);

    /**
     * A new tensor of {@code shape} and {@code dtype} filled element by element in row-major
     * order from {@code rng}.
     */
    default Tensor create(Shape shape, DType dtype, SplittableRandom rng) {
        long n = shape.numel();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cannot initialise a " + dtype + shape + " tensor: more than 2^31-1 elements");
        }
        if (dtype == DType.F32) {
            // The float path copies in one go; values are rounded to float exactly as setFlat would.
            float[] values = new float[(int) n];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) next(rng);
            }
            return Tensor.of(values, shape.dims());
        }
        double[] values = new double[(int) n];
        for (int i = 0; i < values.length; i++) {
            values[i] = next(rng);
        }
        return Tensor.of(values, dtype, shape.dims());
    }

    /** Every element {@code value}. */
    static Initializer constant(double value) {
        return rng -> value;
    }

    /** Every element 0 (biases of norms, running means, counters). */
    static Initializer zeros() {
        return constant(0.0);
    }

    /** Every element 1 (scales of norms, running variances). */
    static Initializer ones() {
        return constant(1.0);
    }

    /** Uniform on {@code [-bound, bound)}. */
    static Initializer uniform(double bound) {
        if (!(bound >= 0) || Double.isInfinite(bound)) {
            throw new IllegalArgumentException("uniform initialiser bound must be a finite number >= 0, got " + bound);
        }
        return rng -> (2 * rng.nextDouble() - 1) * bound;
    }

    /**
     * PyTorch's default for {@code nn.Linear} and {@code nn.ConvNd} weights and biases:
     * {@code kaiming_uniform_(a=sqrt(5))}, which is uniform on {@code [-1/sqrt(fanIn), 1/sqrt(fanIn))}
     * (gain {@code sqrt(2/(1+a^2)) = sqrt(1/3)} times {@code sqrt(3/fanIn)}).
     *
     * @param fanIn input features (Linear) or {@code inChannels/groups * kh * kw} (Conv2d)
     */
    static Initializer kaimingUniform(long fanIn) {
        if (fanIn < 1) {
            throw new IllegalArgumentException("fan-in must be >= 1, got " + fanIn);
        }
        return uniform(1.0 / Math.sqrt(fanIn));
    }

    /**
     * Normal with the given mean and standard deviation ({@code nn.Embedding}'s default is
     * {@code normal(0, 1)}), by the Box-Muller transform: two uniforms per draw, the cosine branch
     * only, so each element consumes a fixed number of draws.
     */
    static Initializer normal(double mean, double std) {
        if (!(std >= 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("normal initialiser standard deviation must be a finite number >= 0, got " + std);
        }
        return rng -> {
            double u1 = 1.0 - rng.nextDouble(); // in (0, 1], so the log is finite
            double u2 = rng.nextDouble();
            return mean + std * Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
        };
    }
}
