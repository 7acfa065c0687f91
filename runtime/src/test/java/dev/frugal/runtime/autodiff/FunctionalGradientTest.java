package dev.frugal.runtime.autodiff;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.graph.Functional;
import dev.frugal.runtime.graph.Ops;
import dev.frugal.runtime.testing.Distribution;
import dev.frugal.runtime.testing.GradientCheck;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of every composite operation in {@link Functional}. */
class FunctionalGradientTest {

    @Test
    void linear() {
        GradientCheck.of("linear").input("x", Shape.of(3, 4)).input("w", Shape.of(5, 4)).input("b", Shape.of(5))
                .check(in -> Functional.linear(in.get(0), in.get(1), in.get(2)));
    }

    @Test
    void linearOverBatchAxesWithoutBias() {
        GradientCheck.of("linear_batched").input("x", Shape.of(2, 3, 4)).input("w", Shape.of(2, 4))
                .check(in -> Functional.linear(in.get(0), in.get(1), null));
    }

    @Test
    void linearOfAVector() {
        GradientCheck.of("linear_vector").input("x", Shape.of(4)).input("w", Shape.of(3, 4)).input("b", Shape.of(3))
                .check(in -> Functional.linear(in.get(0), in.get(1), in.get(2)));
    }

    @Test
    void softmax() {
        GradientCheck.of("softmax").input("x", Shape.of(3, 5), Distribution.uniform(-3, 3))
                .check(in -> Functional.softmax(in.get(0), 1));
    }

    @Test
    void softmaxOverALeadingAxis() {
        GradientCheck.of("softmax_axis0").input("x", Shape.of(4, 3, 2))
                .check(in -> Functional.softmax(in.get(0), 0));
    }

    @Test
    void logSoftmax() {
        GradientCheck.of("log_softmax").input("x", Shape.of(3, 5), Distribution.uniform(-3, 3))
                .check(in -> Functional.logSoftmax(in.get(0), -1));
    }

    @Test
    void crossEntropy() {
        GradientCheck.of("cross_entropy").input("logits", Shape.of(4, 5))
                .constantInput("labels", Shape.of(4), DType.I64, Distribution.indices(5))
                .check(in -> Functional.crossEntropy(in.get(0), in.get(1)));
    }

    @Test
    void crossEntropyWithLabelSmoothing() {
        GradientCheck.of("cross_entropy_smoothed").input("logits", Shape.of(4, 5))
                .constantInput("labels", Shape.of(4), DType.I32, Distribution.indices(5))
                .check(in -> Functional.crossEntropy(in.get(0), in.get(1), 0.1));
    }

    @Test
    void mseLoss() {
        GradientCheck.of("mse_loss").input("prediction", Shape.of(3, 4)).input("target", Shape.of(3, 4))
                .check(in -> Functional.mseLoss(in.get(0), in.get(1)));
    }

    @Test
    void layerNormWithAffine() {
        GradientCheck.of("layer_norm").input("x", Shape.of(3, 2, 4)).input("w", Shape.of(2, 4)).input("b", Shape.of(2, 4))
                .check(in -> Functional.layerNorm(in.get(0), Shape.of(2, 4), in.get(1), in.get(2), 1e-5));
    }

    @Test
    void layerNormWithoutAffine() {
        GradientCheck.of("layer_norm_plain").input("x", Shape.of(3, 5))
                .check(in -> Functional.layerNorm(in.get(0), Shape.of(5), null, null, 1e-5));
    }

    @Test
    void batchNormTrainingOutput() {
        GradientCheck.of("batch_norm2d_train").input("x", Shape.of(3, 2, 2, 3)).input("w", Shape.of(2)).input("b", Shape.of(2))
                .constantInput("running_mean", Shape.of(2), DType.F64, Distribution.normal())
                .constantInput("running_var", Shape.of(2), DType.F64, Distribution.uniform(0.5, 2))
                .check(in -> Functional.batchNorm2dTrain(in.get(0), in.get(1), in.get(2), in.get(3), in.get(4), 0.1, 1e-5).output());
    }

    @Test
    void batchNormTrainingRunningStatistics() {
        // the running statistics are differentiable functions of the batch and the old statistics
        GradientCheck.of("batch_norm2d_running").input("x", Shape.of(3, 2, 2, 2))
                .input("running_mean", Shape.of(2)).input("running_var", Shape.of(2), Distribution.uniform(0.5, 2))
                .check(in -> {
                    Functional.BatchNormResult r = Functional.batchNorm2dTrain(in.get(0), null, null, in.get(1), in.get(2), 0.1, 1e-5);
                    return Ops.concat(0, r.runningMean(), r.runningVar());
                });
    }

    @Test
    void batchNormEval() {
        GradientCheck.of("batch_norm2d_eval").input("x", Shape.of(2, 3, 2, 2)).input("w", Shape.of(3)).input("b", Shape.of(3))
                .input("running_mean", Shape.of(3)).input("running_var", Shape.of(3), Distribution.uniform(0.5, 2))
                .check(in -> Functional.batchNorm2dEval(in.get(0), in.get(1), in.get(2), in.get(3), in.get(4), 1e-5));
    }

    @Test
    void geluExact() {
        GradientCheck.of("gelu").input("x", Shape.of(3, 4), Distribution.uniform(-3, 3))
                .check(in -> Functional.gelu(in.get(0)));
    }

    @Test
    void geluTanhApproximation() {
        GradientCheck.of("gelu_tanh").input("x", Shape.of(3, 4), Distribution.uniform(-3, 3))
                .check(in -> Functional.gelu(in.get(0), true));
    }

    @Test
    void silu() {
        GradientCheck.of("silu").input("x", Shape.of(3, 4), Distribution.uniform(-3, 3))
                .check(in -> Functional.silu(in.get(0)));
    }

    @Test
    void dropoutInTraining() {
        // a fixed counter offset fixes the mask, so dropout is linear in x
        GradientCheck.of("dropout").input("x", Shape.of(4, 5))
                .constantInput("offset", Shape.scalar(), DType.I64, Distribution.indices(1_000_000))
                .check(in -> Functional.dropout(in.get(0), 0.3, true, in.get(1), 1234, 7));
    }

    @Test
    void embedding() {
        GradientCheck.of("embedding").input("table", Shape.of(6, 3))
                .constantInput("ids", Shape.of(2, 3), DType.I64, Distribution.indices(6))
                .check(in -> Functional.embedding(in.get(0), in.get(1)));
    }

    @Test
    void flatten() {
        GradientCheck.of("flatten").input("x", Shape.of(2, 3, 4)).check(in -> Functional.flatten(in.get(0)));
    }

    @Test
    void mean() {
        GradientCheck.of("mean").input("x", Shape.of(3, 4)).check(in -> Functional.mean(in.get(0), true, 0));
    }

    @Test
    void unbiasedVariance() {
        GradientCheck.of("variance").input("x", Shape.of(3, 2, 4)).check(in -> Functional.variance(in.get(0), 1, false, 0, 2));
    }
}
