package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.Evaluation;
import dev.frugal.trainer.Evaluator;
import dev.frugal.trainer.TrainingTask;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.DatasetLocator;
import dev.frugal.trainer.data.DatasetSpec;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.data.LoaderOptions;
import dev.frugal.trainer.run.RunDirectory;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code frugal eval RUN_DIR}: rebuilds the run's model from its {@code config.json}, loads the
 * latest checkpoint's weights and prints the test-set accuracy and loss, or for a language model
 * the loss per token on the held-out tail of its text (read again with the run's tokenizer).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate the latest checkpoint of a run directory on the test set (a language model: on the held-out tail of its text).")
public final class EvalCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "A run directory written by frugal train.")
    Path runDir;
    @Option(names = "--data", paramLabel = "DIR|FILE", description = "Directory holding the dataset, or a language model's text file (default: where the run found it, or the usual search).")
    Path data;
    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public EvalCommand() {
    }

    /** Evaluates and prints one line; exit 0. */
    @Override
    public Integer call() throws Exception {
        try {
            return evaluate();
        } catch (Exception e) {
            if (verbose) {
                e.printStackTrace(spec.commandLine().getErr());
            }
            throw e;
        }
    }

    private int evaluate() throws Exception {
        Path configFile = runDir.resolve(RunDirectory.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException(runDir + " has no " + RunDirectory.CONFIG_FILE + "; expected a run directory of frugal train");
        }
        TrainConfig cfg = ConfigFiles.load(configFile);
        CheckpointStore store = new CheckpointStore(runDir.resolve(TrainCommand.CHECKPOINTS));
        var latest = store.latest();
        if (latest.isEmpty()) {
            throw new IllegalArgumentException(runDir + " has no checkpoint under " + store.root() + " (the run ended before its first epoch?)");
        }
        if (cfg.textDataset()) {
            return evaluateText(data != null ? cfg.withOverrides(Map.of("data", data)) : cfg);
        }
        Path dataDir = DatasetLocator.forThisMachine(DatasetSpec.FASHION_MNIST, System.err).locate(data != null ? data : cfg.data());
        // the same data as the evaluations during training, so the numbers agree with summary.json
        LoaderOptions options = TrainCommand.evaluationOptions();
        // a structured-pruning run evaluates its smaller model
        RunModel run = RunModel.load(runDir, cfg);
        try (Model m = run.model();
             DataLoader test = new DataLoader(FashionMnist.test(dataDir), options);
             Evaluator evaluator = new Evaluator(m.module(), m.inputShape(), evaluationExecutor(cfg))) {
            Evaluation e = evaluator.evaluate(test);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s step %d: test accuracy %.4f, test loss %.4f (%d samples, %s)%n", run.label(), run.step(), e.accuracy(), e.loss(),
                    e.samples(), run.source());
            out.flush();
        }
        return 0;
    }

    /** The executor the run's own evaluations used: the CPU, in the run's precision (the autocast pass for fp16/bf16). */
    private static Executor evaluationExecutor(TrainConfig cfg) {
        return Executor.cpu().withAutocast(cfg.mixedPrecision().precision());
    }

    /**
     * A language model: the loss per token on the held-out windows, as the run's evaluations
     * measured it (with the smaller model of a structured-pruning run).
     */
    private int evaluateText(TrainConfig cfg) throws Exception {
        // the run's own tokenizer, so the held-out tail is the tokens it was trained next to
        TrainingData.Text text = (TrainingData.Text) TrainingData.load(cfg, runDir, System.err);
        RunModel run = RunModel.load(runDir, cfg);
        try (Model m = run.model();
             BatchSource heldOut = text.evaluation(false);
             Evaluator evaluator = new Evaluator(m.module(), TrainingTask.forModel(m), evaluationExecutor(cfg))) {
            Evaluation e = evaluator.evaluate(heldOut);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "%s step %d: val loss %.4f nats per token (%.3f bits per %s; %d windows of %d tokens, %s)%n", run.label(),
                    run.step(), e.loss(), e.loss() / Math.log(2), text.corpus().tokenizer().kind(), e.samples(), text.context(), run.source());
            out.flush();
        }
        return 0;
    }
}
