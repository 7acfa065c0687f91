package dev.frugal.trainer;

import dev.frugal.runtime.Shape;

/** Shape helpers shared by the trainer's programs. */
final class Shapes {
    private Shapes() {
    }

    /** {@code [n, ...sample]}: a batch of {@code n} samples. */
    static Shape batch(int n, Shape sample) {
        int[] dims = new int[sample.rank() + 1];
        dims[0] = n;
        System.arraycopy(sample.dims(), 0, dims, 1, sample.rank());
        return Shape.of(dims);
    }
}
