package dev.frugal.runtime.graph;

import dev.frugal.runtime.DType;

import java.util.Arrays;

/**
 * The static attributes of a graph node, one record per family of operations. Attributes are
 * part of a node's identity (they print, and they key compiled kernels), so every record has
 * value semantics and a readable {@code toString()}.
 */
public sealed interface OpAttrs {

    /** For operations with no attributes. */
    record None() implements OpAttrs {
        /** The one instance. */
        public static final None INSTANCE = new None();

        @Override
        public String toString() {
            return "";
        }
    }

    /** A graph input's name and kind. */
    record Input(String name, InputKind kind) implements OpAttrs {
        @Override
        public String toString() {
            return kind.name().toLowerCase(java.util.Locale.ROOT) + " " + name;
        }
    }

    /** A scalar constant's value (stored in the node's dtype). */
    record Constant(double value) implements OpAttrs {
        @Override
        public String toString() {
            return "value=" + value;
        }
    }

    /** One axis (IOTA, CONCAT, GATHER, SCATTER_ADD). */
    record Axis(int axis) implements OpAttrs {
        @Override
        public String toString() {
            return "axis=" + axis;
        }
    }

    /** Reduced axes (normalised, ascending) and whether they are kept with size 1. */
    record Reduce(int[] axes, boolean keepDims) implements OpAttrs {
        @Override
        public boolean equals(Object o) {
            return o instanceof Reduce r && Arrays.equals(axes, r.axes) && keepDims == r.keepDims;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(axes) * 31 + Boolean.hashCode(keepDims);
        }

        @Override
        public String toString() {
            return "axes=" + Arrays.toString(axes) + (keepDims ? " keepdims" : "");
        }
    }

    /** Whether the last two axes of each matmul operand are transposed. */
    record Matmul(boolean transA, boolean transB) implements OpAttrs {
        @Override
        public String toString() {
            return transA && transB ? "transA transB" : transA ? "transA" : transB ? "transB" : "";
        }
    }

    /** Axis order: output axis i is input axis {@code perm[i]}. */
    record Permute(int[] perm) implements OpAttrs {
        @Override
        public boolean equals(Object o) {
            return o instanceof Permute p && Arrays.equals(perm, p.perm);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(perm);
        }

        @Override
        public String toString() {
            return "perm=" + Arrays.toString(perm);
        }
    }

    /** Per-axis start (inclusive), end (exclusive) and step (>= 1). */
    record Slice(int[] starts, int[] ends, int[] steps) implements OpAttrs {
        @Override
        public boolean equals(Object o) {
            return o instanceof Slice s && Arrays.equals(starts, s.starts) && Arrays.equals(ends, s.ends) && Arrays.equals(steps, s.steps);
        }

        @Override
        public int hashCode() {
            return (Arrays.hashCode(starts) * 31 + Arrays.hashCode(ends)) * 31 + Arrays.hashCode(steps);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < starts.length; i++) {
                sb.append(i > 0 ? "," : "").append(starts[i]).append(':').append(ends[i]);
                if (steps[i] != 1) {
                    sb.append(':').append(steps[i]);
                }
            }
            return sb.append(']').toString();
        }
    }

    /** Zero padding before and after each axis. */
    record Pad(int[] before, int[] after) implements OpAttrs {
        @Override
        public boolean equals(Object o) {
            return o instanceof Pad p && Arrays.equals(before, p.before) && Arrays.equals(after, p.after);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(before) * 31 + Arrays.hashCode(after);
        }

        @Override
        public String toString() {
            return "before=" + Arrays.toString(before) + " after=" + Arrays.toString(after);
        }
    }

    /** Convolution geometry (NCHW). */
    record Conv2d(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) implements OpAttrs {
        @Override
        public String toString() {
            return "stride=" + strideH + "x" + strideW + " pad=" + padH + "x" + padW + " dilation=" + dilationH + "x" + dilationW
                    + (groups != 1 ? " groups=" + groups : "");
        }
    }

    /** Pooling window geometry (NCHW). */
    record Pool2d(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, boolean countIncludePad) implements OpAttrs {
        @Override
        public String toString() {
            return "kernel=" + kernelH + "x" + kernelW + " stride=" + strideH + "x" + strideW + " pad=" + padH + "x" + padW
                    + (countIncludePad ? " count_include_pad" : "");
        }
    }

    /** Seed and stream of a counter-based random draw; the counter offset is the node's input. */
    record Random(long seed, long stream) implements OpAttrs {
        @Override
        public String toString() {
            return "seed=" + seed + " stream=" + stream;
        }
    }

    /**
     * Scaled dot-product attention: whether key j is masked out for query i when j > i
     * (causal), and the factor applied to {@code q · k} before the softmax (usually
     * {@code 1/sqrt(D)}).
     */
    record Attention(boolean causal, double scale) implements OpAttrs {
        @Override
        public String toString() {
            return (causal ? "causal " : "") + "scale=" + scale;
        }
    }

    /** Softmax cross-entropy: the label smoothing s in [0, 1] (target {@code (1-s) onehot + s/C}). */
    record CrossEntropy(double labelSmoothing) implements OpAttrs {
        @Override
        public String toString() {
            return labelSmoothing == 0 ? "" : "label_smoothing=" + labelSmoothing;
        }
    }

    /**
     * Layer normalisation: how many trailing axes are normalised, the epsilon added to the
     * variance, and whether a weight and a bias are inputs (after x, in that order).
     */
    record LayerNorm(int axes, double eps, boolean weight, boolean bias) implements OpAttrs {
        @Override
        public String toString() {
            return "axes=" + axes + " eps=" + eps + (weight ? " weight" : "") + (bias ? " bias" : "");
        }
    }

    /** Target type of a cast (also the node's dtype; kept for printing). */
    record Cast(DType to) implements OpAttrs {
        @Override
        public String toString() {
            return "to=" + to;
        }
    }
}
