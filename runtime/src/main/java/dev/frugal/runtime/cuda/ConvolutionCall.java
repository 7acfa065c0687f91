package dev.frugal.runtime.cuda;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.graph.OpAttrs;
import java.util.Arrays;

/**
 * One cuDNN convolution call: cross-correlation of an NCHW input {@code x} with a KCRS filter
 * {@code w} ({@code [cOut, cIn/groups, kh, kw]}) into an NCHW output {@code y}, or one of its two
 * gradients. Operands are contiguous and all of {@code type}; accumulation is in float32.
 *
 * @param kind     which of the three computations
 * @param type     the element type of every operand
 * @param x        the input's dims [n, c, h, w]
 * @param w        the filter's dims [k, c/groups, r, s]
 * @param y        the output's dims [n, k, p, q]
 * @param geometry strides, padding, dilation and groups
 */
public record ConvolutionCall(Kind kind, DType type, int[] x, int[] w, int[] y, OpAttrs.Conv2d geometry) {
    /** The three calls; operands are given in the order listed. */
    public enum Kind {
        /** y = conv(x, w): operands x, w. */
        FORWARD,
        /** dx from dy and w ({@code cudnnConvolutionBackwardData}): operands dy, w; writes dx (x's dims). */
        BACKWARD_DATA,
        /** dw from x and dy ({@code cudnnConvolutionBackwardFilter}): operands x, dy; writes dw (w's dims). */
        BACKWARD_FILTER
    }

    /** Copies the dims. */
    public ConvolutionCall {
        x = x.clone();
        w = w.clone();
        y = y.clone();
    }

    @Override
    public int[] x() {
        return x.clone();
    }

    @Override
    public int[] w() {
        return w.clone();
    }

    @Override
    public int[] y() {
        return y.clone();
    }

    /** A key naming the call's shape, for the per-shape algorithm cache. */
    public String key() {
        return kind + " " + type + " x" + Arrays.toString(x) + " w" + Arrays.toString(w) + " y" + Arrays.toString(y) + " " + geometry;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConvolutionCall c && c.key().equals(key());
    }

    @Override
    public int hashCode() {
        return key().hashCode();
    }

    @Override
    public String toString() {
        return "convolution " + key();
    }
}
