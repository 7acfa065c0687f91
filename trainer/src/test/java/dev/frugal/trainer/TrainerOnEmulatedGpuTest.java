package dev.frugal.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.Tensor;
import dev.frugal.runtime.cuda.CudaBackend;
import dev.frugal.runtime.cuda.HostDeviceApi;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.amp.LossScaling;
import dev.frugal.trainer.amp.MixedPrecision;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.optim.Sgd;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer on the CUDA backend over an emulated GPU ({@link HostDeviceApi}: device memory in
 * host memory, the generated kernels compiled by nvcc for the host), so what the trainer adds
 * for a device (device copies of the weights written back for checkpoints and at the end of a
 * fit, the step clock, device peak memory, recorded steps) is checked without a GPU. Skipped
 * without nvcc.
 */
class TrainerOnEmulatedGpuTest {

    /** A trainer on a fresh emulated GPU, closing both. */
    private static final class GpuTrainer implements AutoCloseable {
        final HostDeviceApi device = HostDeviceApi.openOrSkip();
        final CudaBackend backend = new CudaBackend(device);
        final Trainer trainer;

        GpuTrainer(Model model, TrainerConfig config) {
            this(model, config, 32);
        }

        GpuTrainer(Model model, TrainerConfig config, int batchSize) {
            trainer = new Trainer(model.module(), model.inputShape(), batchSize, config, new Executor(backend));
        }

        @Override
        public void close() {
            try {
                trainer.close();
            } finally {
                backend.close();
            }
        }
    }

    private static void assertClose(String what, double expected, double actual, double rel) {
        assertTrue(Math.abs(expected - actual) <= rel * Math.max(1.0, Math.abs(expected)), what + ": expected " + expected + ", got " + actual);
    }

    /**
     * Six steps and an evaluation of an MLP and a small CNN give the CPU's losses, test metrics
     * and trained weights (within float reassociation: the emulated GEMMs and convolutions
     * accumulate in another order), the steps after the second replayed from a recording.
     */
    @Test
    void zooModelsTrainOnTheCudaBackendAsOnTheCpu() throws IOException {
        TrainerConfig config = TrainerConfig.defaults().withEpochs(1).withMaxSteps(6).withOptimizer(new Sgd(0.9, false, 1e-4))
                .withLearningRate(0.05);
        for (String spec : List.of("mlp", "cnn-small:channels1=8,channels2=16,hidden=32")) {
            TrainerTest.Recorder onCpu = new TrainerTest.Recorder();
            TrainerTest.Recorder onGpu = new TrainerTest.Recorder();
            try (Model cpuModel = ModelZoo.create(spec, 11);
                 Model gpuModel = ModelZoo.create(spec, 11);
                 DataLoader cpuTrain = TrainerTest.trainLoader(11);
                 DataLoader gpuTrain = TrainerTest.trainLoader(11);
                 DataLoader test = TrainerTest.testLoader();
                 Trainer cpu = new Trainer(cpuModel.module(), cpuModel.inputShape(), 32, config);
                 GpuTrainer gpu = new GpuTrainer(gpuModel, config)) {
                FitResult expected = cpu.fit(cpuTrain, test, onCpu);
                FitResult actual = gpu.trainer.fit(gpuTrain, test, onGpu);
                assertEquals(6, onGpu.losses.size(), spec);
                for (int i = 0; i < 6; i++) {
                    assertClose(spec + " loss of step " + (i + 1), onCpu.losses.get(i), onGpu.losses.get(i), 1e-4);
                }
                assertClose(spec + " test loss", expected.finalEvaluation().loss(), actual.finalEvaluation().loss(), 1e-4);
                assertEquals(expected.finalEvaluation().accuracy(), actual.finalEvaluation().accuracy(), 0.011, spec + " test accuracy");
                // fit wrote the device's weights back into the module's host tensors
                Map<String, Tensor> cpuWeights = cpuModel.module().state();
                Map<String, Tensor> gpuWeights = gpuModel.module().state();
                for (String name : cpuWeights.keySet()) {
                    double[] e = cpuWeights.get(name).toDoubleArray();
                    double[] a = gpuWeights.get(name).toDoubleArray();
                    for (int i = 0; i < e.length; i++) {
                        assertClose(spec + " " + name + "[" + i + "] after the fit", e[i], a[i], 1e-4);
                    }
                }
                assertEquals(1, gpu.device.captures(), spec + ": the third step is recorded");
                assertEquals(4, gpu.device.replays(), spec + ": steps 3 to 6 replay it");
                assertEquals(gpu.backend.memory().snapshot().peakAllocatedBytes(), gpu.trainer.peakDeviceBytes(), spec);
                assertTrue(gpu.trainer.peakDeviceBytes() > 0, spec);
                assertTrue(gpu.device.marks() >= 12, spec + ": two marks around every step time it on the device");
            }
        }
    }

    /**
     * The accuracy criterion, on the emulated GPU: one epoch of the mlp on the real
     * Fashion-MNIST (seed 42, AdamW 1e-3, batch 64) reaches the CPU trainer's test accuracy within
     * 0.5 percentage points (measured: 0.8498 on the CPU, 0.8491 emulated). Skipped without the dataset.
     */
    @Test
    void anEpochOfFashionMnistReachesTheCpuAccuracy() throws IOException {
        Path data = FashionMnistFitTest.localData();
        org.junit.jupiter.api.Assumptions.assumeTrue(data != null,
                "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or set FRUGAL_DATA)");
        TrainerConfig config = TrainerConfig.defaults().withEpochs(1).withOptimizer(AdamW.defaults()).withLearningRate(1e-3).withLossEvery(50);
        double[] accuracy = new double[2];
        try (TrainingSession session = TrainingSession.open("cpu")) {
            for (int run = 0; run < 2; run++) {
                Model model = session.model("mlp", 42);
                DataLoader train = session.fashionMnistTrain(data, 64, 42);
                DataLoader test = session.fashionMnistTest(data);
                if (run == 0) {
                    try (Trainer cpu = new Trainer(model.module(), model.inputShape(), 64, config)) {
                        accuracy[0] = cpu.fit(train, test, null).finalEvaluation().accuracy();
                    }
                } else {
                    try (GpuTrainer gpu = new GpuTrainer(model, config, 64)) {
                        accuracy[1] = gpu.trainer.fit(train, test, null).finalEvaluation().accuracy();
                    }
                }
            }
        }
        assertTrue(accuracy[0] > 0.8, "CPU accuracy " + accuracy[0]);
        assertEquals(accuracy[0], accuracy[1], 0.005, "emulated GPU accuracy against the CPU's");
    }

    /**
     * Reading the loss every fourth step downloads only at those steps (and the epoch's last),
     * with the losses of a run that reads every step; under fp16 the step metrics carry the loss
     * scale the device's copy holds (read back with the loss), not the stale host value.
     */
    @Test
    void lossEveryQueuesTheStepsBetweenReads() throws IOException {
        TrainerConfig config = TrainerConfig.defaults().withEpochs(1).withOptimizer(new Sgd(0.9, false, 1e-4)).withLearningRate(0.05)
                .withMixedPrecision(new MixedPrecision(Precision.FP16, new LossScaling(1024, 2, 0.5, 2)));
        List<Double> scales = new ArrayList<>();
        TrainerTest.Recorder every = new TrainerTest.Recorder();
        TrainerTest.Recorder fourth = new TrainerTest.Recorder() {
            @Override
            public void onStep(StepMetrics m) {
                super.onStep(m);
                scales.add(m.lossScale());
            }
        };
        long downloadsEvery;
        long downloadsFourth;
        try (Model model = ModelZoo.create("mlp", 6);
             DataLoader train = TrainerTest.trainLoader(6);
             DataLoader test = TrainerTest.testLoader();
             GpuTrainer gpu = new GpuTrainer(model, config)) {
            gpu.trainer.fit(train, test, every);
            downloadsEvery = gpu.device.downloads();
        }
        try (Model model = ModelZoo.create("mlp", 6);
             DataLoader train = TrainerTest.trainLoader(6);
             DataLoader test = TrainerTest.testLoader();
             GpuTrainer gpu = new GpuTrainer(model, config.withLossEvery(4))) {
            gpu.trainer.fit(train, test, fourth);
            downloadsFourth = gpu.device.downloads();
            assertEquals(gpu.trainer.lossScale(), scales.getLast(), "the last step's scale is the trained one");
        }
        assertEquals(List.of(4L, 8L), fourth.steps);
        assertEquals(every.lossBits.get(3), fourth.lossBits.get(0));
        assertEquals(every.lossBits.get(7), fourth.lossBits.get(1));
        // growth every 2 good steps from 1024: the scale has grown by step 4
        assertTrue(scales.getFirst() > 1024, "scale at step 4: " + scales);
        // every read step downloads the loss and the scaler's two values; six fewer reads
        assertEquals(downloadsEvery - 6 * 3, downloadsFourth);
    }

    /**
     * A kernel fault in the second epoch (an illegal address, after which the device is lost) ends
     * the fit with that error, naming the kernel and the op that launched it, not with the failures
     * of the clean-up that follows (attached as suppressed); the backend still closes, and the
     * checkpoint of the first epoch resumes on another device to the end of the run.
     */
    @Test
    void aKernelFaultIsReportedWithItsOpAndTheLastCheckpointResumes(@TempDir Path dir) throws IOException {
        TrainerConfig config = TrainerConfig.defaults().withEpochs(2).withOptimizer(new Sgd(0.9, false, 1e-4)).withLearningRate(0.05)
                .withCheckpointDir(dir);
        try (Model model = ModelZoo.create("mlp", 8);
             DataLoader train = TrainerTest.trainLoader(8);
             DataLoader test = TrainerTest.testLoader()) {
            GpuTrainer gpu = new GpuTrainer(model, config);
            IllegalStateException fault;
            try {
                TrainingListener faultAfterStep10 = new TrainingListener() {
                    @Override
                    public void onStep(StepMetrics m) {
                        if (m.step() == 10) {
                            gpu.device.faultAtLaunch(gpu.device.launches() + 3);
                        }
                    }
                };
                fault = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                        () -> gpu.trainer.fit(train, test, faultAfterStep10));
            } finally {
                try {
                    gpu.close();
                } catch (IllegalStateException lost) {
                    assertTrue(lost.getMessage().contains("faulted earlier"), lost.getMessage());
                }
            }
            assertTrue(fault.getMessage().contains("illegal memory access in kernel ") && fault.getMessage().contains(" traced at "),
                    fault.getMessage());
            assertTrue(fault.getSuppressed().length > 0, "copying the weights back failed too, and is attached");
            assertTrue(gpu.device.leaksAtClose().isEmpty(), "the backend gave its memory back: " + gpu.device.leaksAtClose());
        }
        assertEquals(8, new CheckpointStore(dir).latest().orElseThrow().step(), "the first epoch's checkpoint survives");
        try (Model model = ModelZoo.create("mlp", 8);
             DataLoader train = TrainerTest.trainLoader(8);
             DataLoader test = TrainerTest.testLoader();
             GpuTrainer gpu = new GpuTrainer(model, config)) {
            assertTrue(gpu.trainer.resume(dir));
            assertEquals(16, gpu.trainer.fit(train, test, null).steps());
        }
    }

    /**
     * A run cut after six steps and resumed on another device, into a model of other weights,
     * continues exactly as the uninterrupted run: the checkpoint holds the weights trained on the
     * device, and resuming sends them back down.
     */
    @Test
    void checkpointsHoldTheDeviceWeightsAndResumeContinuesExactly(@TempDir Path dir) throws IOException {
        TrainerConfig base = TrainerConfig.defaults().withEpochs(2).withOptimizer(new AdamW(0.9, 0.99, 1e-8, 0.05)).withLearningRate(1e-3);
        TrainerTest.Recorder whole = new TrainerTest.Recorder();
        try (Model model = ModelZoo.create("mlp", 5);
             DataLoader train = TrainerTest.trainLoader(5);
             DataLoader test = TrainerTest.testLoader();
             GpuTrainer gpu = new GpuTrainer(model, base.withCheckpointDir(dir.resolve("whole")))) {
            gpu.trainer.fit(train, test, whole);
        }
        assertEquals(16, whole.lossBits.size());

        Path cut = dir.resolve("cut");
        TrainerTest.Recorder first = new TrainerTest.Recorder();
        try (Model model = ModelZoo.create("mlp", 5);
             DataLoader train = TrainerTest.trainLoader(5);
             DataLoader test = TrainerTest.testLoader();
             GpuTrainer gpu = new GpuTrainer(model, base.withMaxSteps(6).withCheckpointDir(cut))) {
            gpu.trainer.fit(train, test, first);
        }
        assertEquals(6, new CheckpointStore(cut).latest().orElseThrow().step());

        TrainerTest.Recorder second = new TrainerTest.Recorder();
        try (Model model = ModelZoo.create("mlp", 99); // other weights: the checkpoint must replace them on the device
             DataLoader train = TrainerTest.trainLoader(5);
             DataLoader test = TrainerTest.testLoader();
             GpuTrainer gpu = new GpuTrainer(model, base.withCheckpointDir(cut))) {
            assertTrue(gpu.trainer.resume(cut));
            FitResult r = gpu.trainer.fit(train, test, second);
            assertEquals(16, r.steps());
        }
        List<Long> joined = new ArrayList<>(first.lossBits);
        joined.addAll(second.lossBits);
        assertEquals(whole.lossBits, joined, "losses of the resumed run");
        assertEquals(whole.evalBits.subList(whole.evalBits.size() - 2, whole.evalBits.size()),
                second.evalBits.subList(second.evalBits.size() - 2, second.evalBits.size()), "final evaluation of the resumed run");
    }
}
