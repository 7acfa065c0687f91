package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.trainer.NextTokenPrediction;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.checkpoint.StoredCheckpoint;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.run.RunDirectory;
import dev.frugal.trainer.text.NextTokenSampler;
import dev.frugal.trainer.text.TextGenerator;
import dev.frugal.trainer.text.Tokenizer;
import dev.frugal.trainer.text.TokenizerFile;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code frugal sample RUN_DIR --prompt TEXT}: continues a prompt with a language model a run
 * trained. Loads the run's {@code config.json}, its tokenizer ({@code tokenizer.json}) and the
 * latest checkpoint (or {@code --checkpoint STEP}), compiles the model's forward pass for one
 * window once ({@link TextGenerator}), and prints the prompt followed by the generated tokens,
 * decoded as training encoded them (bytes as UTF-8, an invalid sequence as U+FFFD).
 */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = {"Generate text with a language model trained by frugal train --dataset text: prints the prompt and its continuation.",
                "Temperature 0 decodes greedily; the same seed, run and prompt give the same text."})
public final class SampleCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "A run directory of frugal train --dataset text.")
    Path runDir;
    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The text to continue (at least one character).")
    String prompt;
    @Option(names = "--tokens", paramLabel = "N", description = "Tokens to generate (default 200; a token is a byte or a character, as the run's tokenizer).")
    int tokens = 200;
    @Option(names = "--temperature", description = "Divides the logits: below 1 sharper, above 1 flatter, 0 greedy (default 0.8).")
    double temperature = 0.8;
    @Option(names = "--top-k", paramLabel = "K", description = "Draw from the K most likely tokens only; 0 for all (default 40).")
    int topK = 40;
    @Option(names = "--seed", description = "Seed of the draws (default 1).")
    long seed = 1;
    @Option(names = "--checkpoint", paramLabel = "STEP", description = "The checkpoint's step (default: the latest).")
    Long checkpoint;
    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public SampleCommand() {
    }

    /** Samples and prints; exit 0. */
    @Override
    public Integer call() throws Exception {
        try {
            return sample();
        } catch (Exception e) {
            if (verbose) {
                e.printStackTrace(spec.commandLine().getErr());
            }
            throw e;
        }
    }

    private int sample() throws Exception {
        if (tokens < 1) {
            throw new IllegalArgumentException("--tokens " + tokens + ": expected at least 1 token to generate");
        }
        if (prompt.isEmpty()) {
            throw new IllegalArgumentException("--prompt is empty; give at least one character to continue (e.g. a newline)");
        }
        NextTokenSampler sampler = new NextTokenSampler(temperature, topK, seed);
        Path configFile = runDir.resolve(RunDirectory.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException(runDir + " has no " + RunDirectory.CONFIG_FILE + "; expected a run directory of frugal train");
        }
        TrainConfig cfg = ConfigFiles.load(configFile);
        if (!cfg.textDataset() || !Files.isRegularFile(runDir.resolve(TokenizerFile.NAME))) {
            throw new IllegalArgumentException(runDir + " trained " + cfg.model() + " on " + cfg.dataset() + ", not a language model on"
                    + " text; frugal sample needs a run of frugal train --dataset text (e.g. --model tiny-gpt)");
        }
        Tokenizer tokenizer = TokenizerFile.read(runDir);
        int[] promptIds;
        try {
            promptIds = tokenizer.encode(prompt);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--prompt: " + e.getMessage(), e);
        }
        CheckpointStore store = new CheckpointStore(runDir.resolve(TrainCommand.CHECKPOINTS));
        StoredCheckpoint chosen = choose(store);
        PrintWriter out = spec.commandLine().getOut();
        try (Model m = ModelZoo.create(cfg.model(), cfg.seed());
             Checkpoint c = store.load(chosen.step())) {
            m.module().loadState(c.model());
            int context = m.spec().get(NextTokenPrediction.CONTEXT_OPTION);
            try (TextGenerator generator = new TextGenerator(m.module(), context, Executor.cpu())) {
                int[] generated = generator.generate(promptIds, tokens, sampler);
                int[] all = Arrays.copyOf(promptIds, promptIds.length + generated.length);
                System.arraycopy(generated, 0, all, promptIds.length, generated.length);
                out.println(tokenizer.decode(all));
            }
        }
        out.flush();
        return 0;
    }

    /** The checkpoint asked for, or the latest; refused with the steps there are when it is missing. */
    private StoredCheckpoint choose(CheckpointStore store) throws Exception {
        List<StoredCheckpoint> stored = store.list();
        if (stored.isEmpty()) {
            throw new IllegalArgumentException(runDir + " has no checkpoint under " + store.root() + " (the run ended before its first epoch?)");
        }
        if (checkpoint == null) {
            return store.latest().orElseThrow();
        }
        for (StoredCheckpoint s : stored) {
            if (s.step() == checkpoint) {
                return s;
            }
        }
        throw new IllegalArgumentException("--checkpoint " + checkpoint + ": no checkpoint of that step under " + store.root()
                + "; there are steps " + stored.stream().map(s -> Long.toString(s.step())).toList());
    }
}
