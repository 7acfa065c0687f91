package dev.frugal.trainer.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.frugal.models.Module;
import dev.frugal.models.ModuleTrace;
import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.Program;
import dev.frugal.runtime.graph.Graph;
import dev.frugal.runtime.graph.Value;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Runs an exported model in ONNX Runtime and the module in Frugal (eval mode) on the same batch, and compares the logits. */
public final class OnnxRuntimeAccess {
    /** The largest absolute difference allowed between the two runtimes' float32 logits. */
    public static final double TOLERANCE = 1e-4;

    private OnnxRuntimeAccess() {
    }

    /** A batch of {@code n} samples, standard-normal-ish, seeded. */
    public static float[] randomBatch(int n, Shape sample, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[Math.toIntExact(n * sample.numel())];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 4 - 2);
        }
        return x;
    }

    /** Frugal's eval-mode output for the batch {@code x} of {@code n} samples. */
    public static float[] frugal(Module model, Shape sample, int n, float[] x) {
        boolean wasTraining = model.isTraining();
        model.eval();
        try {
            int[] dims = new int[sample.rank() + 1];
            dims[0] = n;
            System.arraycopy(sample.dims(), 0, dims, 1, sample.rank());
            Graph g = new Graph("reference");
            ModuleTrace trace = ModuleTrace.of(g, model);
            Value in = g.input("x", Shape.of(dims), DType.F32);
            Value out = trace.forward(in);
            try (Program p = Executor.cpu().compile(g, List.of(out));
                 Tensor feed = Tensor.of(x, dims)) {
                trace.bind(p);
                return p.run(Map.of(in, feed)).get(0).toFloatArray();
            }
        } finally {
            model.train(wasTraining);
        }
    }

    /** ONNX Runtime's output for the batch {@code x} of {@code n} samples, checking the output's shape is {@code [n, classes]}. */
    public static float[] onnx(byte[] model, Shape sample, int n, float[] x, int classes) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] dims = new long[sample.rank() + 1];
        dims[0] = n;
        for (int i = 0; i < sample.rank(); i++) {
            dims[i + 1] = sample.dim(i);
        }
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            // no graph rewrites, so the numbers are those of the exported operators
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            try (OrtSession session = env.createSession(model, options);
                 OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), dims);
                 OrtSession.Result result = session.run(Map.of(OnnxExporter.INPUT, input))) {
                OnnxTensor out = (OnnxTensor) result.get(OnnxExporter.OUTPUT).orElseThrow();
                assertArrayEquals(new long[] {n, classes}, out.getInfo().getShape());
                FloatBuffer fb = out.getFloatBuffer();
                float[] logits = new float[fb.remaining()];
                fb.get(logits);
                return logits;
            }
        }
    }

    /** Both runtimes on {@code x}; asserts the logits agree within {@link #TOLERANCE}. */
    public static void assertSameLogits(String what, Module module, byte[] model, Shape sample, int n, float[] x, int classes) throws OrtException {
        float[] expected = frugal(module, sample, n, x);
        float[] actual = onnx(model, sample, n, x, classes);
        assertEquals(expected.length, actual.length, what);
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= TOLERANCE, what + " batch " + n + ": max |frugal - onnxruntime| = " + worst);
    }
}
