package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.Evaluation;
import dev.frugal.trainer.Evaluator;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.DatasetLocator;
import dev.frugal.trainer.data.DatasetSpec;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.data.LoaderOptions;
import dev.frugal.trainer.quant.Calibration;
import dev.frugal.trainer.quant.QuantizationSpec;
import dev.frugal.trainer.quant.QuantizedModels;
import dev.frugal.trainer.quant.QuantizedModule;
import dev.frugal.trainer.run.RunDirectory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code frugal quantize RUN_DIR}: post-training int8 quantization of a float32 run. Loads the
 * run's latest checkpoint, calibrates the activation ranges on training batches
 * ({@link Calibration}), evaluates the float32 and the int8 model on the test set, and writes a
 * new run directory (a {@code config.json} with {@code quantize} set and one checkpoint holding
 * the weights and the observed ranges) that {@code frugal eval} and {@code frugal export}
 * (QDQ ONNX) read like a quantization-aware training run.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Post-training int8 quantization: calibrate a float32 run's activation ranges on training batches and write a quantized run.")
public final class QuantizeCommand implements Callable<Integer> {
    /** The default number of calibration batches. */
    public static final int DEFAULT_BATCHES = 32;
    /** The suffix of the default output directory, next to the run. */
    public static final String SUFFIX = "-int8";

    @Parameters(paramLabel = "RUN_DIR", description = "A float32 image-classifier run directory written by frugal train.")
    Path runDir;
    @Option(names = "--calibration-batches", paramLabel = "N", description = "Training batches (of the run's batch size, unshuffled,"
            + " not augmented) whose activation ranges are observed (default " + DEFAULT_BATCHES + ").")
    int calibrationBatches = DEFAULT_BATCHES;
    @Option(names = "--quantize", paramLabel = "SPEC", description = "What to quantize: int8[:ops=conv2d+matmul] (default int8).")
    String quantize = QuantizationSpec.INT8;
    @Option(names = "--output", paramLabel = "DIR", description = "The quantized run directory to write (default: RUN_DIR" + SUFFIX + ").")
    Path output;
    @Option(names = "--data", paramLabel = "DIR", description = "Directory holding the dataset (default: where the run found it, or the usual search).")
    Path data;
    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public QuantizeCommand() {
    }

    /** Calibrates, evaluates and writes the quantized run; prints one line; exit 0. */
    @Override
    public Integer call() throws Exception {
        try {
            return quantize();
        } catch (Exception e) {
            if (verbose) {
                e.printStackTrace(spec.commandLine().getErr());
            }
            throw e;
        }
    }

    private int quantize() throws Exception {
        Path configFile = runDir.resolve(RunDirectory.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException(runDir + " has no " + RunDirectory.CONFIG_FILE + "; expected a run directory of frugal train");
        }
        TrainConfig cfg = ConfigFiles.load(configFile);
        if (cfg.textDataset()) {
            throw new IllegalArgumentException("frugal quantize covers image classifiers; " + cfg.model() + " is a language model");
        }
        if (cfg.quantization() != null) {
            throw new IllegalArgumentException(runDir + " is already quantized (" + cfg.quantize() + "); quantize a float32 run");
        }
        if (!"fp32".equals(cfg.precision())) {
            throw new IllegalArgumentException(runDir + " trained in " + cfg.precision() + "; frugal quantize calibrates float32 runs");
        }
        if (calibrationBatches < 1) {
            throw new IllegalArgumentException("--calibration-batches must be at least 1, got " + calibrationBatches);
        }
        QuantizationSpec quantization = QuantizationSpec.parse(quantize);
        CheckpointStore store = new CheckpointStore(runDir.resolve(TrainCommand.CHECKPOINTS));
        var latest = store.latest();
        if (latest.isEmpty()) {
            throw new IllegalArgumentException(runDir + " has no checkpoint under " + store.root() + " (the run ended before its first epoch?)");
        }
        Path target = output != null ? output : runDir.resolveSibling(runDir.getFileName() + SUFFIX);
        Path dataDir = DatasetLocator.forThisMachine(DatasetSpec.FASHION_MNIST, System.err).locate(data != null ? data : cfg.data());
        LoaderOptions calibrationOptions = LoaderOptions.of(cfg.batchSize()).withShuffle(false)
                .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD);
        PrintWriter out = spec.commandLine().getOut();
        try (Checkpoint c = store.load(latest.get().step());
             Model m = QuantizedModels.quantize(loaded(cfg, c), quantization);
             DataLoader train = new DataLoader(FashionMnist.train(dataDir), calibrationOptions);
             DataLoader test = new DataLoader(FashionMnist.test(dataDir), TrainCommand.evaluationOptions())) {
            QuantizedModule q = (QuantizedModule) m.module();
            Evaluation fp32;
            try (Evaluator ev = new Evaluator(q.inner(), m.inputShape(), Executor.cpu())) {
                fp32 = ev.evaluate(test);
            }
            int seen = Calibration.calibrate(q, train, calibrationBatches, Executor.cpu());
            Evaluation int8;
            try (Evaluator ev = new Evaluator(q, m.inputShape(), Executor.cpu())) {
                int8 = ev.evaluate(test);
            }
            String method = String.format(Locale.ROOT, "post-training calibration (%d batches of %d training images)", seen, cfg.batchSize());
            try (RunDirectory run = RunDirectory.create(target)) {
                run.writeConfig(TrainCommand.plainValues(cfg.withOverrides(Map.of("quantize", quantization.toString(),
                        "run-dir", run.path())).toMap()));
                new CheckpointStore(run.path().resolve(TrainCommand.CHECKPOINTS)).save(new Checkpoint(c.step(), c.epoch(),
                        new LinkedHashMap<>(m.module().state()), new LinkedHashMap<>(), c.rngState(),
                        Map.of("quantized_from", runDir.toAbsolutePath().toString())));
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("model", cfg.model());
                summary.put("source_run", runDir.toAbsolutePath().toString());
                summary.put("step", c.step());
                summary.put("fp32_test_accuracy", fp32.accuracy());
                summary.put("fp32_test_loss", fp32.loss());
                summary.put("test_accuracy", int8.accuracy());
                summary.put("test_loss", int8.loss());
                summary.put("quantization", QuantizedModels.summary(m, method));
                run.writeSummary(summary);
                out.printf(Locale.ROOT, "%s step %d: test accuracy fp32 %.4f, int8 %.4f (%+.4f; %s); wrote %s%n", cfg.model(), c.step(),
                        fp32.accuracy(), int8.accuracy(), int8.accuracy() - fp32.accuracy(), method, run.path());
                out.flush();
            }
        }
        return 0;
    }

    /** The run's float32 model with the checkpoint's weights. */
    private static Model loaded(TrainConfig cfg, Checkpoint c) {
        Model m = ModelZoo.create(cfg.model(), cfg.seed());
        try {
            m.module().loadState(c.model());
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }
}
