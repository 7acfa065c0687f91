package dev.frugal.cli;

import dev.frugal.memory.ByteFormat;
import dev.frugal.memory.FrugalOutOfMemoryException;
import dev.frugal.models.Module;
import dev.frugal.models.Variable;
import dev.frugal.models.zoo.Model;
import dev.frugal.runtime.exec.Executor;
import dev.frugal.runtime.exec.MemoryBudgetExceededException;
import dev.frugal.runtime.exec.MemoryPlan;
import dev.frugal.models.zoo.ModelZoo;
import dev.frugal.trainer.Distillation;
import dev.frugal.trainer.EndReason;
import dev.frugal.trainer.ImageClassification;
import dev.frugal.trainer.NextTokenPrediction;
import dev.frugal.trainer.checkpoint.Checkpoint;
import dev.frugal.trainer.checkpoint.CheckpointStore;
import dev.frugal.trainer.Evaluation;
import dev.frugal.trainer.Evaluator;
import dev.frugal.trainer.EvaluationMetrics;
import dev.frugal.trainer.FitResult;
import dev.frugal.trainer.MemoryBudgetPlanner;
import dev.frugal.trainer.budget.Budgets;
import dev.frugal.trainer.budget.Guardrail;
import dev.frugal.trainer.budget.GuardrailAction;
import dev.frugal.trainer.budget.Usage;
import dev.frugal.trainer.PerSampleLoss;
import dev.frugal.trainer.data.Curriculum;
import dev.frugal.trainer.data.CurriculumScores;
import dev.frugal.trainer.data.CurriculumSpec;
import dev.frugal.trainer.data.CurriculumWarmup;
import dev.frugal.trainer.report.RunReport;
import dev.frugal.trainer.schedule.EvaluationHistory;
import dev.frugal.trainer.schedule.Listeners;
import dev.frugal.trainer.schedule.ReduceLrOnPlateau;
import dev.frugal.trainer.StepMetrics;
import dev.frugal.trainer.Trainer;
import dev.frugal.trainer.TrainerConfig;
import dev.frugal.trainer.TrainingDevice;
import dev.frugal.trainer.TrainingListener;
import dev.frugal.trainer.TrainingTask;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.data.BatchSource;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.FashionMnist;
import dev.frugal.trainer.data.LastBatchPolicy;
import dev.frugal.trainer.data.LoaderOptions;
import dev.frugal.trainer.optim.AdamW;
import dev.frugal.trainer.optim.Optimizer;
import dev.frugal.trainer.optim.Sgd;
import dev.frugal.trainer.prune.PrunedModel;
import dev.frugal.trainer.prune.Pruner;
import dev.frugal.trainer.prune.Pruning;
import dev.frugal.trainer.prune.PruningSummary;
import dev.frugal.trainer.quant.QuantizedModels;
import dev.frugal.trainer.run.MetricsLog;
import dev.frugal.trainer.run.RunDirectory;
import dev.frugal.trainer.schedule.LrSchedule;
import dev.frugal.trainer.schedule.LrSchedules;
import dev.frugal.trainer.text.TokenizerFile;
import dev.frugal.trainer.transfer.PretrainedWeights;
import dev.frugal.trainer.transfer.WeightImportReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code frugal train}: trains a zoo model through the {@link Trainer} API, an image classifier on
 * Fashion-MNIST or a language model ({@code tiny-gpt}) on a text file ({@code --dataset text --data
 * FILE}, see {@link TrainingData}), and records the run in a run directory ({@code config.json},
 * {@code env.json}, {@code metrics.jsonl}, {@code summary.json}, {@code checkpoints/}, and for text
 * the tokenizer, {@code tokenizer.json}). With no options it trains {@code cnn-small} with its recipe. Options come in layers, later ones winning key by key: the global defaults, the
 * model's recipe ({@link dev.frugal.trainer.config.ModelRecipes}), {@code --config FILE}, then
 * the flags given ({@link TrainConfig#layered}).
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a model (default: cnn-small on Fashion-MNIST; a language model such as tiny-gpt on a text file with --dataset text --data FILE) and write a run directory.",
                "Options come in layers, later ones winning: global defaults, the model's training recipe (see frugal models), --config FILE, flags."})
public final class TrainCommand implements Callable<Integer> {
    /** Steps between two step records in metrics.jsonl (the first and last steps are always logged). */
    static final int LOG_EVERY = 50;
    /** Subdirectory of the run directory holding checkpoints. */
    static final String CHECKPOINTS = "checkpoints";

    @Option(names = "--model", paramLabel = "SPEC", description = "Zoo model, NAME or NAME:key=value,... (default cnn-small; see frugal models).")
    String model;
    @Option(names = "--dataset", description = "fashion-mnist (image classifiers; the default) or text (language models such as tiny-gpt, on the text file --data FILE).")
    String dataset;
    @Option(names = "--data", paramLabel = "DIR|FILE", description = "Directory holding Fashion-MNIST (otherwise FRUGAL_DATA, the system dataset, the cache, or a download); for --dataset text, the text file.")
    Path data;
    @Option(names = "--tokenizer", description = "For --dataset text: byte (UTF-8 bytes, 256 ids; the default) or char (the file's distinct characters); saved in the run directory as tokenizer.json.")
    String tokenizer;
    @Option(names = "--val-fraction", paramLabel = "F", description = "For --dataset text: the share of the tokens held out at the end of the file for validation (default 0.1).")
    Double valFraction;
    @Option(names = "--epochs", description = "Passes over the training data (default: the model's recipe, else 3).")
    Integer epochs;
    @Option(names = "--steps", description = "Stop after this many optimizer steps (default 0: no limit).")
    Long steps;
    @Option(names = "--batch-size", paramLabel = "N|auto", description = "Training batch size (default: the model's recipe, else 128); auto: the largest that fits --memory-budget.")
    String batchSize;
    @Option(names = "--memory-budget", paramLabel = "SIZE", description = "Most memory training may take in all, e.g. 2GiB or 512MiB: the plan (frugal plan) recomputes activations to fit, and the run fails before its first step when it cannot (default: none).")
    String memoryBudget;
    @Option(names = "--budget-time", paramLabel = "DURATION", description = "Most wall-clock time training may take, e.g. 10m, 1h30m or 90s: the run ends (as budget-time) with a final evaluation and checkpoint before it would pass it (default: none).")
    String budgetTime;
    @Option(names = "--budget-energy", paramLabel = "ENERGY", description = "Most energy training may draw, e.g. 50kJ or 0.2kWh (RAPL counters where readable, else an estimate from --tdp-watts; ends as budget-energy; default: none).")
    String budgetEnergy;
    @Option(names = "--budget-memory", paramLabel = "SIZE", description = "The same as --memory-budget.")
    String budgetMemory;
    @Option(names = "--budget-steps", paramLabel = "N", description = "Most optimizer steps; the run ends as budget-steps (default: none).")
    Long budgetSteps;
    @Option(names = "--guardrails", paramLabel = "LIST", description = "What to do, in order, when a budget is projected to run out: evaluate-less, checkpoint, shrink-batch, stop (default: all four, in that order), or none.")
    String guardrails;
    @Option(names = "--plateau", paramLabel = "SPEC", description = "Reduce the learning rate when a metric stops improving (PyTorch's ReduceLROnPlateau), on top of --schedule: "
            + ReduceLrOnPlateau.SYNTAX + " (defaults metric=test_loss, factor=0.1, patience=10 evaluations, threshold=1e-4 rel, cooldown=0, min=0, eps=1e-8; default: off).")
    String plateau;
    @Option(names = "--curriculum", paramLabel = "SPEC", description = "Curriculum learning, easy samples first (Platanios et al. 2019): "
            + CurriculumSpec.SYNTAX + "; scores from a file (one per training sample) or from per-sample losses after a warm-up of N steps (pacing default root, start default 0.01; default: off).")
    String curriculum;
    @Option(names = "--tdp-watts", paramLabel = "W", description = "The CPU's thermal design power, for the energy estimate when no energy counter is readable (default 65).")
    Double tdpWatts;
    @Option(names = "--lr", description = "Learning rate (default: the model's recipe, else 0.05 for sgd, 0.001 for adamw).")
    Double lr;
    @Option(names = "--optimizer", description = "sgd or adamw (default: the model's recipe, else sgd; another optimizer than the recipe's drops the recipe's lr, momentum, nesterov and weight decay).")
    String optimizer;
    @Option(names = "--momentum", description = "SGD momentum (default: the model's recipe, else 0.9).")
    Double momentum;
    @Option(names = "--nesterov", description = "Nesterov momentum for sgd.")
    Boolean nesterov;
    @Option(names = "--weight-decay", description = "Weight decay (default 0 for sgd, 0.01 for adamw, decoupled).")
    Double weightDecay;
    @Option(names = "--schedule", description = "Learning-rate schedule: constant, step:every=N[,gamma=G], warmup-cosine:warmup=N|P%%[,min=X] (warmup in steps or as a share of the run), one-cycle (default: the model's recipe, else constant).")
    String schedule;
    @Option(names = "--clip-norm", description = "Clip gradients to this global norm (default 0: off).")
    Double clipNorm;
    @Option(names = "--augment", paramLabel = "SPEC", description = "Training-data augmentation: none, or a comma list of crop=P (random crop, P pixels of zero padding) and flip (random horizontal flip), e.g. crop=2,flip (default none; evaluation is never augmented).")
    String augment;
    @Option(names = "--eval-every", paramLabel = "EPOCHS", description = "Evaluate after every N-th epoch and after the last (default 1).")
    Integer evalEvery;
    @Option(names = "--loss-every", paramLabel = "STEPS", description = "Read the training loss back every N-th step and at each epoch's"
            + " last (default 1); on a GPU the steps between are queued without waiting for it. Progress, metrics.jsonl and train_loss"
            + " see the read losses.")
    Integer lossEvery;
    @Option(names = "--early-stopping-metric", description = "test_accuracy, test_loss or train_loss (mean training loss since the previous evaluation); for --dataset text val_loss or train_loss; lower is better for a *loss (default test_accuracy, for text val_loss).")
    String earlyStoppingMetric;
    @Option(names = "--early-stopping-patience", description = "Evaluations without improvement before stopping (default 0: off).")
    Integer earlyStoppingPatience;
    @Option(names = "--early-stopping-min-delta", description = "Smallest change that counts as an improvement (default 0).")
    Double earlyStoppingMinDelta;
    @Option(names = "--keep-checkpoints", paramLabel = "N", description = "Keep the newest N checkpoints, deleting older ones after each save (default 3, at least 1).")
    Integer keepCheckpoints;
    @Option(names = "--precision", description = "fp32, fp16 or bf16: mixed precision casts matmuls and convolutions to the half type"
            + " (float32 master weights, optimizer and losses); default fp32.")
    String precision;

    @Option(names = "--loss-scale", paramLabel = "SPEC", description = "auto (dynamic loss scaling for fp16 only), none, or"
            + " dynamic[:init=65536,growth=2,backoff=0.5,interval=2000].")
    String lossScale;
    @Option(names = "--device", description = "auto, cpu, cuda or cuda:N (default auto: the first CUDA GPU when one opens, else the CPU).")
    String device;
    @Option(names = "--seed", description = "Seed of initialisation, shuffling, dropout and augmentation (default 42).")
    Long seed;
    @Option(names = "--run-dir", paramLabel = "DIR", description = "Run directory (default runs/<time>-<model>).")
    Path runDir;
    @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON file of options (it overrides the model's recipe; flags override it).")
    Path config;
    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue a run from its latest checkpoint, with its config.json.")
    Path resume;
    @Option(names = "--init-from", paramLabel = "FILE", description = "Initialise the model from a safetensors file, such as a PyTorch state_dict"
            + " (safetensors.torch.save_file): tensors are matched by name and shape; the report of what matched, was missing and was"
            + " unexpected is printed and written to init-report.json.")
    Path initFrom;
    @Option(names = "--init-map", paramLabel = "MAP.json", description = "With --init-from: a JSON object {\"frugal.name\": \"file.name\", ...}"
            + " for the names that differ (the others match by equal names).")
    Path initMap;
    @Option(names = "--freeze", paramLabel = "GLOBS", description = "Comma-separated globs over full parameter names (e.g. 'block1.*,block2.*')"
            + " whose parameters do not train: no gradient, no update, no optimizer state (batch-norm running statistics still update).")
    String freeze;
    @Option(names = "--teacher", paramLabel = "RUN_DIR", description = "Knowledge distillation: train the model against the soft targets of the"
            + " image classifier trained in RUN_DIR (its config.json's model with its latest checkpoint's weights, run in eval mode and not trained);"
            + " the loss is alpha * T^2 * KL(teacher || student, at temperature T) + (1 - alpha) * cross-entropy with the labels.")
    Path teacher;
    @Option(names = "--distill-temperature", paramLabel = "T", description = "With --teacher: the softmax temperature, above 0 (default 4).")
    Double distillTemperature;
    @Option(names = "--distill-alpha", paramLabel = "A", description = "With --teacher: the weight of the teacher's soft targets, in [0, 1] (default 0.5).")
    Double distillAlpha;
    @Option(names = "--prune", paramLabel = "SPEC", description = "Prune while training: magnitude:SPARSITY[,scope=global|layer] zeroes"
            + " the smallest convolution and linear weights; structured:SPARSITY[,norm=l1|l2] removes that share of each layer's channels"
            + " (mlp, cnn-small) and writes the smaller model to RUN_DIR/pruned. When: schedule=cubic[,start=10%%,end=60%%,every=N]"
            + " (gradual, the default) or schedule=once[,at=50%%] (then fine-tune for the rest of the run).")
    String prune;
    @Option(names = "--quantize", paramLabel = "SPEC", description = "Quantization-aware training: int8[:ops=conv2d+matmul,momentum=0.01]"
            + " fake-quantizes the weights (per output channel, symmetric) and inputs (per tensor, observed range) of convolutions and"
            + " matmuls, with a straight-through gradient; frugal eval and frugal export then use the int8 model. Float32 only.")
    String quantize;
    @Option(names = "--no-progress", description = "No progress bar (it is also off when output is not a terminal).")
    boolean noProgress;
    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Builds the trainer; a test puts in one that runs out of memory, to rehearse the retry. */
    @FunctionalInterface
    interface TrainerFactory {
        Trainer create(Module model, TrainingTask task, int batchSize, TrainerConfig config, Executor gpuExecutor);
    }

    TrainerFactory trainers = Trainer::new;

    /** The command; picocli fills in the options. */
    public TrainCommand() {
    }

    /**
     * When this command started (in {@link System#nanoTime()}'s terms; the JVM's start for the
     * {@code frugal} launcher): starting, loading data and compiling count against a time budget.
     */
    private final long commandStart = FrugalCommand.commandStart(System.nanoTime());
    /** What writing report.html after the run takes, kept free of a time budget (measured: about 1.3 s). */
    private static final double REPORT_SECONDS = 2.0;

    /** Runs the training; exit 0 when it ended normally, 3 on a non-finite loss. */
    @Override
    public Integer call() throws Exception {
        try {
            return train();
        } catch (Exception e) {
            if (verbose) {
                e.printStackTrace(spec.commandLine().getErr());
            }
            throw e;
        }
    }

    /** The flags given on the command line, by configuration key. */
    private Map<String, Object> flags() {
        Map<String, Object> f = new LinkedHashMap<>();
        put(f, "model", model);
        put(f, "dataset", dataset);
        put(f, "data", data == null ? null : data.toString());
        put(f, "tokenizer", tokenizer);
        put(f, "val-fraction", valFraction);
        put(f, "epochs", epochs);
        put(f, "steps", steps);
        put(f, "batch-size", batchSizeFlag(batchSize));
        put(f, "lr", lr);
        put(f, "optimizer", optimizer);
        put(f, "momentum", momentum);
        put(f, "nesterov", nesterov);
        put(f, "weight-decay", weightDecay);
        put(f, "schedule", schedule);
        put(f, "clip-norm", clipNorm);
        put(f, "augment", augment);
        put(f, "eval-every", evalEvery);
        put(f, "loss-every", lossEvery);
        put(f, "early-stopping-metric", earlyStoppingMetric);
        put(f, "early-stopping-patience", earlyStoppingPatience);
        put(f, "early-stopping-min-delta", earlyStoppingMinDelta);
        put(f, "keep-checkpoints", keepCheckpoints);
        put(f, "precision", precision);
        put(f, "loss-scale", lossScale);
        put(f, "device", device);
        if (budgetMemory != null && memoryBudget != null && !budgetMemory.equals(memoryBudget)) {
            throw new IllegalArgumentException("--budget-memory " + budgetMemory + " and --memory-budget " + memoryBudget
                    + " disagree; they are the same option, give one");
        }
        put(f, "memory-budget", memoryBudget != null ? memoryBudget : budgetMemory);
        put(f, "budget-time", budgetTime);
        put(f, "budget-energy", budgetEnergy);
        put(f, "budget-steps", budgetSteps);
        put(f, "guardrails", guardrails);
        put(f, "tdp-watts", tdpWatts);
        put(f, "plateau", plateau);
        put(f, "curriculum", curriculum);
        put(f, "seed", seed);
        put(f, "run-dir", runDir == null ? null : runDir.toString());
        put(f, "init-from", initFrom == null ? null : initFrom.toString());
        put(f, "init-map", initMap == null ? null : initMap.toString());
        put(f, "freeze", freeze);
        put(f, "teacher", teacher == null ? null : teacher.toString());
        put(f, "distill-temperature", distillTemperature);
        put(f, "distill-alpha", distillAlpha);
        put(f, "prune", prune);
        put(f, "quantize", quantize);
        return f;
    }

    /** {@code --batch-size} as a configuration value: {@code auto}, or a whole number. */
    static Object batchSizeFlag(String text) {
        if (text == null || text.strip().equalsIgnoreCase("auto")) {
            return text == null ? null : "auto";
        }
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--batch-size " + text + ": expected a whole number of at least 1, or auto");
        }
    }

    private static void put(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }

    private int train() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        TrainConfig cfg;
        if (resume != null) {
            Path saved = resume.resolve(RunDirectory.CONFIG_FILE);
            if (!Files.isRegularFile(saved)) {
                throw new IllegalArgumentException("--resume " + resume + ": no " + RunDirectory.CONFIG_FILE + " there; is it a run directory of frugal train?");
            }
            if (!flags().isEmpty() || config != null) {
                throw new IllegalArgumentException("--resume continues a run with its own " + RunDirectory.CONFIG_FILE
                        + "; drop the other options (" + String.join(", ", flags().keySet()) + (config != null ? ", config" : "") + ")");
            }
            cfg = ConfigFiles.load(saved).resolved();
        } else {
            Map<String, Object> file = config != null ? ConfigFiles.readOverrides(config) : Map.of();
            cfg = TrainConfig.layered(file, flags()).resolved();
        }
        checkSupported(cfg);
        if (resume == null) {
            checkInitFiles(cfg);
        }
        // the data before the run directory: a missing or unusable file leaves no empty run behind
        TrainingData data = TrainingData.load(cfg, resume, System.err);
        cfg = data.configure(cfg);
        // the teacher before the run directory too: a bad one leaves no run behind
        Teacher teacherRun = cfg.teacher() == null ? null : Teacher.load(cfg);
        RunDirectory run;
        try {
            run = resume != null ? RunDirectory.open(resume)
                    : cfg.runDir() != null ? RunDirectory.create(cfg.runDir()) : RunDirectory.createUnder(Path.of("runs"), cfg.model());
        } catch (IOException | RuntimeException e) {
            if (teacherRun != null) {
                teacherRun.model().close();
            }
            throw e;
        }
        try {
            return trainIn(run, cfg, data, teacherRun, out);
        } catch (IOException | RuntimeException | Error e) {
            if (resume == null) {
                try {
                    run.removeIfUnused(); // failed before its first file: no empty run directory is left
                } catch (IOException | RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /** Trains in the run directory {@code run}, which the caller made or reopened; closes it. */
    private int trainIn(RunDirectory run, TrainConfig cfg, TrainingData data, Teacher teacherRun, PrintWriter out)
            throws IOException {
        try (run;
             TrainingDevice device = TrainingDevice.open(cfg.device(), cfg.memoryBudgetBytes(), out::println);
             Model teacherModel = teacherRun == null ? null : teacherRun.model();
             Model m = QuantizedModels.create(cfg.model(), cfg.seed(), cfg.quantization());
             BatchSource test = data.evaluation(cfg.memoryBudgetBytes() > 0)) {
            TrainingTask task = TrainingTask.forModel(m);
            if (teacherRun != null) {
                task = new Distillation((ImageClassification) task, teacherModel.module(), cfg.distillTemperature(), cfg.distillAlpha());
                out.printf(Locale.ROOT, "distilling from %s (%s, step %d): temperature %s, alpha %s%n", teacherRun.runDir(), teacherRun.spec(),
                        teacherRun.step(), cfg.distillTemperature(), cfg.distillAlpha());
            }
            // a resumed run's checkpoint holds every variable, so the pretrained weights are loaded once, at the start
            WeightImportReport imported = resume == null && cfg.initFrom() != null ? initialise(cfg, m, out) : null;
            long budget = cfg.memoryBudgetBytes();
            List<Integer> evalSizes = test.batchSizes();
            if (cfg.autoBatchSize()) {
                MemoryBudgetPlanner planner = new MemoryBudgetPlanner(m.module(), task, stepConfig(cfg), budget, evalSizes);
                int best = planner.maxBatchSize();
                if (best == 0) {
                    throw new IllegalArgumentException("--batch-size auto: not even a batch of 1 fits the memory budget "
                            + ByteFormat.exact(budget) + " (the evaluation programs take " + ByteFormat.exact(planner.evaluationBytes())
                            + ")\n" + planner.plan(1).explain());
                }
                out.println("batch size auto: " + best + " (the largest that fits the memory budget " + ByteFormat.format(budget) + ")");
                cfg = cfg.withOverrides(Map.of("batch-size", best));
            }
            Built built = buildTrainer(cfg, m, task, data, run, budget, evalSizes, device.gpuExecutor(), out);
            cfg = built.cfg();
            try (BatchSource train = built.train(); Trainer trainer = built.trainer()) {
                if (data instanceof TrainingData.Text text) {
                    out.printf(Locale.ROOT, "text %s: %s tokenizer (%d ids), %d training tokens, %d held out; an epoch is %d steps of %d windows"
                            + " of %d tokens%n", text.corpus().file(), text.corpus().tokenizer().kind(), text.corpus().tokenizer().vocabSize(),
                            text.corpus().training().length, text.corpus().validation().length, train.batchesPerEpoch(), cfg.batchSize(),
                            text.context());
                }
                if (budget > 0) {
                    MemoryPlan plan = trainer.memoryPlan();
                    out.printf(Locale.ROOT, "memory budget %s: predicted peak %s, checkpointing %s, recompute %.3fx step FLOPs%n",
                            ByteFormat.format(budget), ByteFormat.format(trainer.predictedPeakBytes()),
                            plan.checkpointed() ? "yes (" + plan.checkpoints().size() + " recomputed segment(s))" : "no", plan.recomputeFlopsRatio());
                }
                if (resume == null) {
                    run.writeConfig(plainValues(cfg.toMap()));
                    run.writeEnv();
                    if (imported != null) {
                        run.writeInitReport(imported.toMap());
                    }
                    if (data instanceof TrainingData.Text text) {
                        // evaluation, sampling and a resumed run decode with exactly this vocabulary
                        TokenizerFile.write(text.corpus().tokenizer(), run.path());
                    }
                }
                if (resume != null) {
                    if (!trainer.resume(run.path().resolve(CHECKPOINTS))) {
                        throw new IllegalArgumentException("--resume " + resume + ": no checkpoint under " + run.path().resolve(CHECKPOINTS));
                    }
                    out.println("resuming " + run.path() + " at step " + trainer.step() + " (epoch " + (trainer.epoch() + 1) + ")");
                }
                if (built.plateau() != null && resume != null) {
                    // the plateau's state is its evaluation history, which metrics.jsonl keeps
                    built.plateau().replay(EvaluationHistory.read(run.path().resolve(RunDirectory.METRICS_FILE),
                            built.plateau().settings().metric(), trainer.step(), task.metricNames()));
                }
                CurriculumWarmup warmup = curriculumFor(built, cfg, m, data, run, trainer.step(), train.sampleCount());
                // Starting, loading the data and compiling are part of the run a time budget limits.
                trainer.addSetupSeconds((System.nanoTime() - commandStart) / 1e9);
                trainer.reserveFinishSeconds(REPORT_SECONDS);
                out.flush();
                FitResult r;
                try (Progress progress = new Progress(run.metrics(), cfg.progress() && !noProgress, out)) {
                    r = trainer.fit(train, test, Listeners.all(progress, built.plateau(), warmup));
                }
                Map<String, Object> summary = summary(cfg, m, data, trainer, r, device);
                if (teacherRun != null) {
                    Map<String, Object> t = new LinkedHashMap<>();
                    t.put("run_dir", teacherRun.runDir().toString());
                    t.put("model", teacherRun.spec());
                    t.put("step", teacherRun.step());
                    t.put("temperature", cfg.distillTemperature());
                    t.put("alpha", cfg.distillAlpha());
                    summary.put("teacher", t);
                }
                if (cfg.quantization() != null) {
                    summary.put("quantization", QuantizedModels.summary(m, "quantization-aware training"));
                }
                if (trainer.pruner() != null) {
                    summary.put("pruning", finishPruning(cfg, m, trainer.pruner(), r.steps(), run.path(), test, out));
                }
                run.writeSummary(summary);
                writeReport(run.path(), out);
                if (r.finalEvaluation() != null) {
                    out.println(finalLine(data, r));
                }
                out.println("run directory: " + run.path());
                out.flush();
                if (r.endedBy() == EndReason.NON_FINITE_LOSS) {
                    spec.commandLine().getErr().println("frugal train: " + r.message());
                    return 3;
                }
                return 0;
            }
        }
    }

    /**
     * The end of a pruned run: for structured pruning, the smaller model is built from the kept
     * channels, written to {@code RUN_DIR/pruned} and evaluated on the test set (it must agree with
     * the masked model's own evaluation); the summary block for either method.
     */
    private static Map<String, Object> finishPruning(TrainConfig cfg, Model m, Pruner pruner, long stepsDone, Path runDir, BatchSource test,
                                                     PrintWriter out) throws IOException {
        double reached = pruner.schedule().sparsityAfter(stepsDone);
        if (reached < pruner.pruning().spec().sparsity()) {
            out.printf(Locale.ROOT, "pruning: the run ended after %d steps, before the schedule's last update (before step %d): "
                    + "sparsity %.4f of the %s asked for%n", stepsDone, pruner.schedule().lastStep() + 1, reached, pruner.pruning().spec().sparsity());
        }
        if (!pruner.pruning().structured()) {
            Map<String, Object> block = PruningSummary.of(m, pruner, null, null, null, stepsDone);
            out.printf(Locale.ROOT, "pruned %s: %.1f%% of the convolution and linear weights are zero (%d of %d parameters left non-zero)%n",
                    pruner.pruning().spec(), 100 * pruner.maskedShare(), (Long) block.get("parameters_after"), m.parameterCount());
            return block;
        }
        try (Model pruned = PrunedModel.write(m, pruner, runDir, cfg.seed());
             Evaluator evaluator = new Evaluator(pruned.module(), TrainingTask.forModel(pruned),
                     Executor.cpu().withAutocast(cfg.mixedPrecision().precision()))) {
            Evaluation e = evaluator.evaluate(test);
            String result = e.hasAccuracy() ? String.format(Locale.ROOT, "test accuracy %.4f", e.accuracy())
                    : String.format(Locale.ROOT, "%s %.4f", EvaluationMetrics.VAL_LOSS, e.loss());
            out.printf(Locale.ROOT, "pruned model %s: %d -> %d parameters, %d -> %d forward FLOPs per sample (%.2fx), %s (%s)%n",
                    pruned.spec(), m.parameterCount(), pruned.parameterCount(), m.forwardFlops(), pruned.forwardFlops(),
                    (double) pruned.forwardFlops() / m.forwardFlops(), result, PrunedModel.file(runDir));
            return e.hasAccuracy() ? PruningSummary.of(m, pruner, pruned, e.accuracy(), null, stepsDone)
                    : PruningSummary.of(m, pruner, pruned, null, e.loss(), stepsDone);
        }
    }

    /**
     * A distillation teacher: the zoo model of a run directory's {@code config.json} with its latest
     * checkpoint's weights.
     *
     * @param runDir the teacher's run directory
     * @param spec its model
     * @param step the step of the checkpoint loaded
     * @param model the model, loaded; the caller closes it
     */
    record Teacher(Path runDir, String spec, long step, Model model) {
        /**
         * Loads {@code cfg.teacher()}, checking that teacher and student are image classifiers of
         * the same input shape and classes.
         *
         * @throws IllegalArgumentException naming the run directory, or both models, when not
         */
        static Teacher load(TrainConfig cfg) throws IOException {
            Path dir = cfg.teacher();
            String flag = "--teacher " + dir;
            Path configFile = dir.resolve(RunDirectory.CONFIG_FILE);
            if (!Files.isRegularFile(configFile)) {
                throw new IllegalArgumentException(flag + ": no " + RunDirectory.CONFIG_FILE + " there; expected a run directory of frugal train");
            }
            TrainConfig tcfg = ConfigFiles.load(configFile);
            String spec = tcfg.model();
            try (Model student = ModelZoo.build(cfg.model()); Model shape = ModelZoo.build(spec)) {
                if (NextTokenPrediction.isLanguageModel(student.entry()) || cfg.textDataset()) {
                    throw new IllegalArgumentException(flag + ": distillation trains image classifiers; the student " + cfg.model()
                            + " is a language model");
                }
                if (NextTokenPrediction.isLanguageModel(shape.entry()) || tcfg.textDataset()) {
                    throw new IllegalArgumentException(flag + ": distillation needs an image classifier as the teacher; " + spec
                            + " is a language model");
                }
                checkCompatible(flag, spec, shape.inputShape(), shape.classes(), cfg.model(), student.inputShape(), student.classes());
            }
            CheckpointStore store = new CheckpointStore(dir.resolve(CHECKPOINTS));
            var latest = store.latest();
            if (latest.isEmpty()) {
                throw new IllegalArgumentException(flag + ": no checkpoint under " + store.root() + " (the teacher's run ended before its first one?)");
            }
            Model m = ModelZoo.create(spec, tcfg.seed());
            try (Checkpoint c = store.load(latest.get().step())) {
                m.module().loadState(c.model());
                m.module().eval();
                return new Teacher(dir, spec, c.step(), m);
            } catch (IOException | RuntimeException e) {
                m.close();
                throw e;
            }
        }

        /** Teacher and student must classify the same images into the same classes; the message names both. */
        static void checkCompatible(String flag, String teacher, dev.frugal.runtime.Shape teacherInput, int teacherClasses,
                                    String student, dev.frugal.runtime.Shape studentInput, int studentClasses) {
            if (!teacherInput.equals(studentInput) || teacherClasses != studentClasses) {
                throw new IllegalArgumentException(flag + ": the teacher " + teacher + " classifies images of " + teacherInput + " into "
                        + teacherClasses + " classes, the student " + student + " images of " + studentInput + " into " + studentClasses
                        + "; they must agree");
            }
        }
    }

    /** Loads {@code init-from} into the model (renamed by {@code init-map}) and prints what matched. */
    private static WeightImportReport initialise(TrainConfig cfg, Model m, PrintWriter out) throws IOException {
        Map<String, String> names = cfg.initMap() == null ? Map.of() : PretrainedWeights.readNameMap(cfg.initMap());
        WeightImportReport report = PretrainedWeights.load(m.module(), cfg.initFrom(), names);
        out.println(report.describe());
        out.flush();
        return report;
    }

    /** The last line about the result: test accuracy and loss, or the held-out loss per token (and in bits). */
    private static String finalLine(TrainingData data, FitResult r) {
        Evaluation e = r.finalEvaluation();
        if (data instanceof TrainingData.Text text) {
            return String.format(Locale.ROOT, "val loss %.4f nats per token (%.3f bits per %s) after %d steps (%s)", e.loss(),
                    e.loss() / Math.log(2), text.corpus().tokenizer().kind(), r.steps(), r.endedBy().label());
        }
        return String.format("test accuracy %.4f, test loss %.4f after %d steps (%s)", e.accuracy(), e.loss(), r.steps(), r.endedBy().label());
    }

    /** The trainer, its training batches and the configuration they were built with (the batch size may have been halved). */
    private record Built(TrainConfig cfg, BatchSource train, Trainer trainer, ReduceLrOnPlateau plateau, Curriculum curriculum) {
    }

    /**
     * Builds the training batches and the trainer. When the memory manager runs out while the
     * trainer compiles its programs (something else took the memory), halves the batch size and
     * scales the learning rate by the same factor (the linear scaling rule), down to a batch of 1;
     * a resumed run keeps its batch size, since its data order depends on it.
     */
    private Built buildTrainer(TrainConfig start, Model m, TrainingTask task, TrainingData data, RunDirectory run, long budget,
                               List<Integer> evalSizes, Executor gpuExecutor, PrintWriter out) throws IOException {
        TrainConfig cfg = start;
        while (true) {
            Curriculum cur = cfg.curriculum() == null ? null : CurriculumSpec.parse(cfg.curriculum()).newCurriculum();
            BatchSource train = data.training(cfg, cur);
            try {
                long planned = plannedSteps(train.batchesPerEpoch(), cfg.epochs(), cfg.steps());
                LrSchedule lrs = LrSchedules.parse(cfg.schedule(), cfg.effectiveLr(), planned);
                ReduceLrOnPlateau plateau = cfg.plateau() == null ? null
                        : new ReduceLrOnPlateau(lrs, ReduceLrOnPlateau.Settings.parse(cfg.plateau(), task.metricNames()));
                TrainerConfig tc = stepConfig(cfg)
                        .withEpochs(cfg.epochs())
                        .withMaxSteps(cfg.steps())
                        .withSchedule(plateau != null ? plateau::lr : lrs::lr)
                        .withEarlyStopping(cfg.earlyStoppingEnabled() ? cfg.earlyStoppingMetric() : null,
                                Math.max(1, cfg.earlyStoppingPatience()), cfg.earlyStoppingMinDelta(), task.metricNames())
                        .withCheckpointDir(run.path().resolve(CHECKPOINTS))
                        .withKeepCheckpoints(cfg.keepCheckpoints())
                        .withEvalEvery(cfg.evalEvery())
                        .withLossEvery(cfg.lossEvery())
                        .withRunBudgets(cfg.runBudgets(), cfg.guardrailList())
                        .withTdpWatts(cfg.tdpWatts());
                if (budget > 0) {
                    tc = tc.withMemoryBudget(budget, evalSizes);
                }
                return new Built(cfg, train, trainers.create(m.module(), task, cfg.batchSize(), tc, gpuExecutor), plateau, cur);
            } catch (IllegalArgumentException e) {
                train.close();
                if (!(e.getCause() instanceof MemoryBudgetExceededException)) {
                    throw e;
                }
                // Say which batch would fit, so the user has a way forward besides a larger budget.
                int fits = new MemoryBudgetPlanner(m.module(), task, stepConfig(cfg), budget, evalSizes).maxBatchSize();
                if (fits > 0 && resume == null && cfg.guardrailList().contains(Guardrail.SHRINK_BATCH)) {
                    // The shrink-batch guardrail: the largest batch that fits, the learning rate scaled with it.
                    int batch = cfg.batchSize();
                    double lr = cfg.effectiveLr() * fits / batch;
                    out.printf(Locale.ROOT, "guardrail shrink-batch (budget-memory): even recomputing activations, batch size %d does not fit"
                            + " the memory budget %s; training at batch size %d with learning rate %s (scaled by %d/%d, the linear scaling rule)%n",
                            batch, ByteFormat.format(budget), fits, lr, fits, batch);
                    out.flush();
                    cfg = cfg.withOverrides(Map.of("batch-size", fits, "lr", lr));
                    continue;
                }
                throw new IllegalArgumentException(e.getMessage() + (fits > 0
                        ? "the largest batch that fits this budget is " + fits + " (--batch-size " + fits + ", or --batch-size auto)"
                        : "not even a batch of 1 fits this budget"), e.getCause());
            } catch (FrugalOutOfMemoryException e) {
                train.close();
                int batch = cfg.batchSize();
                if (batch == 1 || resume != null) {
                    throw new IllegalStateException("out of memory compiling the training programs at batch size " + batch
                            + (resume != null ? " (a resumed run keeps its batch size)" : ", even the smallest") + ": " + firstLine(e.getMessage()), e);
                }
                int half = batch / 2;
                double lr = cfg.effectiveLr() * half / batch;
                out.printf(Locale.ROOT, "out of memory compiling the training programs at batch size %d (%s); retrying at batch size %d"
                        + " with learning rate %s (scaled by %d/%d, the linear scaling rule)%n", batch, firstLine(e.getMessage()), half, lr, half, batch);
                out.flush();
                cfg = cfg.withOverrides(Map.of("batch-size", half, "lr", lr));
            } catch (RuntimeException | IOException e) {
                train.close();
                throw e;
            }
        }
    }

    /**
     * Gives the curriculum its scores: read from the spec's file, or (warm-up) from per-sample
     * losses once the warm-up's steps are done; the warm-up's listener does that during the fit
     * and keeps them in the run directory, so a resumed run reads them back. Curricula rank
     * images ({@link #checkSupported} refuses one for text).
     *
     * @return the warm-up listener, or null when there is none
     */
    private static CurriculumWarmup curriculumFor(Built built, TrainConfig cfg, Model m, TrainingData data, RunDirectory run, long step,
                                                  int count) throws IOException {
        if (built.curriculum() == null || !(data instanceof TrainingData.Images images)) {
            return null;
        }
        Path dataDir = images.dir();
        CurriculumSpec spec = CurriculumSpec.parse(cfg.curriculum());
        CurriculumWarmup warmup = null;
        if (spec.scoresFromWarmup()) {
            warmup = new CurriculumWarmup(built.curriculum(), () -> {
                // every training image once, in order, unaugmented
                try (DataLoader scoring = new DataLoader(FashionMnist.train(dataDir), evaluationOptions(false));
                     PerSampleLoss loss = new PerSampleLoss(m.module(), m.inputShape(), Executor.cpu())) {
                    return loss.losses(scoring);
                }
            }, run.path().resolve("curriculum-scores.txt"), count);
            warmup.prepare(step);
        } else {
            built.curriculum().setScores(CurriculumScores.read(spec.scoresFile(), count));
        }
        built.curriculum().checkReadyAt(step);
        return warmup;
    }

    /** Writes the run's report.html; a report that cannot be drawn is a warning, never a failed run. */
    private static void writeReport(Path runDir, PrintWriter out) {
        try {
            out.println("report: " + RunReport.write(runDir));
        } catch (IOException | RuntimeException e) {
            out.println("report: not written (" + e.getMessage() + "); frugal report " + runDir + " tries again");
        }
        out.flush();
    }

    private static String firstLine(String text) {
        int nl = text == null ? -1 : text.indexOf('\n');
        return nl < 0 ? String.valueOf(text) : text.substring(0, nl);
    }

    /**
     * What the training step's graph depends on: the optimizer, the clipping, the precision with its loss scaling and the frozen parameters (the schedule,
     * limits and checkpoints are left at their defaults).
     *
     * @param cfg the run's configuration
     * @return the trainer configuration of the step
     */
    static TrainerConfig stepConfig(TrainConfig cfg) {
        return TrainerConfig.defaults().withOptimizer(optimizer(cfg)).withClipNorm(cfg.clipNorm()).withMixedPrecision(cfg.mixedPrecision())
                .withFreeze(cfg.freezeGlobs()).withPruning(pruning(cfg));
    }

    /**
     * The optimizer steps a run will take, which schedules such as one-cycle need exactly: the
     * training loader's batches per epoch (with the drop-last policy, floor(samples / batch size))
     * times the epochs, capped by the step limit.
     *
     * @param batchesPerEpoch training batches per epoch
     * @param epochs epochs
     * @param stepLimit the step limit; 0: none
     * @return the planned steps
     */
    static long plannedSteps(int batchesPerEpoch, int epochs, long stepLimit) {
        long all = (long) batchesPerEpoch * epochs;
        return stepLimit > 0 ? Math.min(stepLimit, all) : all;
    }

    /**
     * The training loader's options: shuffled by the run's seed, the last partial batch dropped
     * (the step is compiled for one batch size), the configured augmentation, Fashion-MNIST's
     * normalisation.
     *
     * @param cfg the run's configuration
     * @return the options
     */
    static LoaderOptions trainingOptions(TrainConfig cfg) {
        LoaderOptions options = LoaderOptions.of(cfg.batchSize())
                .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD)
                .withSeed(cfg.seed())
                .withLastBatch(LastBatchPolicy.DROP);
        return cfg.augmentation().applyTo(options);
    }

    /** Evaluation batch size of the image classifiers: large, since evaluation has no backward pass. */
    static final int EVAL_BATCH = 1000;
    /**
     * Evaluation batch size under a memory budget: the evaluation programs are compiled next to
     * the training step and share the budget, and at 1000 images a convolutional model's forward
     * activations alone can take hundreds of MiB; 100 keeps evaluation a small share.
     */
    static final int BUDGETED_EVAL_BATCH = 100;

    /**
     * The evaluation loader's options: in order, batches of {@value #EVAL_BATCH}, never augmented
     * (evaluation measures the model on the test images as they are), Fashion-MNIST's normalisation.
     *
     * @return the options
     */
    static LoaderOptions evaluationOptions() {
        return evaluationOptions(false);
    }

    /**
     * The evaluation loader's options, in batches of {@value #BUDGETED_EVAL_BATCH} when training
     * runs under a memory budget (see {@link #evaluationBatch}).
     *
     * @param budgeted whether a memory budget is set
     * @return the options
     */
    static LoaderOptions evaluationOptions(boolean budgeted) {
        // LoaderOptions.of has no augmentation, and --augment is deliberately not applied here
        return LoaderOptions.of(evaluationBatch(budgeted)).withShuffle(false)
                .withNormalization(LoaderOptions.FASHION_MNIST_MEAN, LoaderOptions.FASHION_MNIST_STD);
    }

    /** The evaluation batch size of an image classifier's run with or without a memory budget. */
    static int evaluationBatch(boolean budgeted) {
        return budgeted ? BUDGETED_EVAL_BATCH : EVAL_BATCH;
    }

    /**
     * The evaluation batch size of a run on a task with or without a memory budget: images as
     * {@link #evaluationBatch(boolean)}, windows of text as {@link TrainingData.Text#EVAL_BATCH}
     * (the last batch of the held-out tail may be smaller).
     */
    static int evaluationBatch(boolean budgeted, TrainingTask task) {
        if (task.predictionsPerSample() > 1) {
            return budgeted ? TrainingData.Text.BUDGETED_EVAL_BATCH : TrainingData.Text.EVAL_BATCH;
        }
        return evaluationBatch(budgeted);
    }

    /** The configuration with paths as plain strings (Jackson would write them as file: URIs). */
    static Map<String, Object> plainValues(Map<String, Object> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> out.put(k, v instanceof Path p ? p.toString() : v));
        return out;
    }

    /** Rejects what the configuration allows but this build cannot do yet, naming the option. */
    static void checkSupported(TrainConfig cfg) {
        if (!cfg.dataset().equals(TrainConfig.FASHION_MNIST) && !cfg.textDataset()) {
            throw new IllegalArgumentException("unknown dataset '" + cfg.dataset() + "'; valid: " + TrainConfig.FASHION_MNIST + ", " + TrainConfig.TEXT);
        }
        if (cfg.textDataset() && cfg.curriculum() != null) {
            throw new IllegalArgumentException("--curriculum ranks training images; a text run draws random windows, so it has none (drop --curriculum)");
        }
        if (cfg.textDataset() && !cfg.augment().equals("none")) {
            throw new IllegalArgumentException("--augment " + cfg.augment() + " crops and flips images; a text run has none (drop --augment)");
        }
        pruning(cfg); // a model without channel groups under structured pruning fails here, before the run directory is made
    }

    /** The run's pruning for its model; null without {@code --prune}. */
    static Pruning pruning(TrainConfig cfg) {
        return cfg.pruning() == null ? null : Pruning.of(cfg.pruning(), ModelZoo.parse(cfg.model()));
    }

    /** A missing {@code --init-from} or {@code --init-map} file fails before the run directory is made. */
    static void checkInitFiles(TrainConfig cfg) {
        if (cfg.initFrom() != null && !Files.isRegularFile(cfg.initFrom())) {
            throw new IllegalArgumentException("--init-from " + cfg.initFrom() + ": no such file; expected a safetensors file of weights");
        }
        if (cfg.initMap() != null && !Files.isRegularFile(cfg.initMap())) {
            throw new IllegalArgumentException("--init-map " + cfg.initMap() + ": no such file; expected a JSON object {\"frugal.name\": \"file.name\"}");
        }
    }

    static Optimizer optimizer(TrainConfig cfg) {
        return switch (cfg.optimizer()) {
            case "sgd" -> new Sgd(cfg.momentum(), cfg.nesterov(), cfg.effectiveWeightDecay());
            case "adamw" -> new AdamW(0.9, 0.999, 1e-8, cfg.effectiveWeightDecay());
            default -> throw new IllegalArgumentException("unknown optimizer '" + cfg.optimizer() + "'; valid: sgd, adamw");
        };
    }

    private static Map<String, Object> summary(TrainConfig cfg, Model m, TrainingData data, Trainer trainer, FitResult r, TrainingDevice device) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("model", cfg.model());
        s.put("parameters", m.parameterCount());
        Map<String, Variable> params = m.module().namedParameters();
        long frozen = trainer.frozenParameters().stream().mapToLong(name -> params.get(name).numel()).sum();
        s.put("trainable_parameters", m.parameterCount() - frozen);
        s.put("frozen_parameters", frozen);
        s.put("frozen", trainer.frozenParameters());
        s.put("epochs", r.epochs());
        s.put("steps", r.steps());
        Evaluation last = r.finalEvaluation();
        if (data instanceof TrainingData.Text text) {
            // nats per token of the held-out tail; this fit's evaluations, as for best_test_accuracy
            s.put(EvaluationMetrics.VAL_LOSS, last == null ? null : last.loss());
            s.put("best_val_loss", r.evaluations().stream().mapToDouble(Evaluation::loss).min().stream().boxed().findFirst().orElse(null));
            s.put("tokenizer", text.corpus().tokenizer().kind());
            s.put("vocab_size", text.corpus().tokenizer().vocabSize());
            s.put("train_tokens", text.corpus().training().length);
            s.put("val_tokens", text.corpus().validation().length);
        } else {
            s.put("test_accuracy", last == null ? null : last.accuracy());
            s.put("test_loss", last == null ? null : last.loss());
            // this fit's evaluations: a budgeted run's last one need not be its best
            s.put("best_test_accuracy", r.evaluations().stream().mapToDouble(Evaluation::accuracy).max().stream().boxed().findFirst().orElse(null));
        }
        s.put("train_seconds", r.trainSeconds());
        s.put("samples_per_second", r.samplesPerSecond());
        s.put("step_seconds", r.stepSeconds());
        s.put("step_samples_per_second", r.stepSamplesPerSecond());
        int perSample = trainer.task().predictionsPerSample();
        if (perSample > 1) {
            // a sample is a window of tokens: throughput in tokens, the unit language models are compared in
            s.put("tokens_per_second", r.samplesPerSecond() * perSample);
            s.put("step_tokens_per_second", r.stepSamplesPerSecond() * perSample);
        }
        Usage used = r.usage();
        s.put("wall_seconds", used.wallSeconds());
        s.put("device_seconds", used.deviceSeconds());
        s.put("energy_joules", used.energyJoules());
        s.put("energy_source", r.energySource());
        s.put("flops_per_second", r.flopsPerSecond());
        s.put("flops_utilisation", r.flopsUtilisation() >= 0 ? r.flopsUtilisation() : null);
        // the process's peak resident memory where the OS tells it, else what the trainer holds
        s.put("peak_host_bytes", used.peakHostBytes() > 0 ? used.peakHostBytes() : trainer.hostBytes());
        // On a GPU: the peak of the device's memory manager, which holds every device buffer. On the
        // CPU backend the training device is the host. Under a memory budget the trainer has
        // a memory manager of its own: its measured peak plus the bound tensors (parameters,
        // buffers, optimizer state, allocated outside it). Otherwise every buffer is allocated
        // once at compile time, so the programs' buffers plus the variables are the peak.
        s.put("peak_device_bytes", trainer.peakDeviceBytes());
        s.put("predicted_peak_bytes", trainer.predictedPeakBytes());
        s.put("recompute_flops_ratio", trainer.memoryPlan().recomputeFlopsRatio());
        long budget = cfg.memoryBudgetBytes();
        s.put("memory_budget_bytes", budget > 0 ? budget : null);
        s.put("device", device.device().toString());
        s.put("precision", cfg.precision());
        // the scale the run ended with and the steps it skipped (PyTorch GradScaler's semantics)
        s.put("loss_scale", Double.isNaN(trainer.lossScale()) ? null : trainer.lossScale());
        s.put("skipped_steps", trainer.skippedSteps());
        Budgets b = cfg.runBudgets();
        Map<String, Object> budgets = new LinkedHashMap<>();
        budgets.put("time_seconds", b.timeSeconds() > 0 ? b.timeSeconds() : null);
        budgets.put("energy_joules", b.energyJoules() > 0 ? b.energyJoules() : null);
        budgets.put("memory_bytes", budget > 0 ? budget : null);
        budgets.put("steps", b.steps() > 0 ? b.steps() : null);
        s.put("budgets", budgets);
        Map<String, Object> use = new LinkedHashMap<>();
        if (b.timeSeconds() > 0) {
            use.put("time", used.wallSeconds() / b.timeSeconds());
        }
        if (b.energyJoules() > 0) {
            use.put("energy", used.energyJoules() / b.energyJoules());
        }
        if (budget > 0) {
            use.put("memory", (double) trainer.peakDeviceBytes() / budget);
        }
        if (b.steps() > 0) {
            use.put("steps", (double) r.steps() / b.steps());
        }
        s.put("budget_use", use);
        List<Map<String, Object>> actions = new java.util.ArrayList<>();
        for (GuardrailAction a : r.guardrails()) {
            actions.add(guardrailRecord(a));
        }
        s.put("guardrails", actions);
        s.put("ended_by", r.endedBy().label());
        if (!r.message().isEmpty()) {
            s.put("message", r.message());
        }
        s.put("last_checkpoint", trainer.lastCheckpoint() == null ? null : trainer.lastCheckpoint().toString());
        return s;
    }

    /** Draws the progress bar (when on) and writes metrics.jsonl. */
    private static final class Progress implements TrainingListener, AutoCloseable {
        private final MetricsLog metrics;
        private final boolean barWanted;
        private final PrintWriter out;
        private ProgressBar bar;
        private long total;
        private long startNanos;
        private long startStep;

        Progress(MetricsLog metrics, boolean barWanted, PrintWriter out) {
            this.metrics = metrics;
            this.out = out;
            // Only on a terminal: a bar written into a log file is noise.
            this.barWanted = barWanted && System.console() != null && System.console().isTerminal();
        }

        @Override
        public void onStart(long totalSteps, long fromStep) {
            total = totalSteps;
            startStep = fromStep;
            startNanos = System.nanoTime();
            if (barWanted) {
                bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps).setStyle(ProgressBarStyle.ASCII)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err)).setUnit(" steps", 1).showSpeed().build();
                bar.stepTo(fromStep);
            }
        }

        @Override
        public void onStep(StepMetrics s) {
            if (bar != null) {
                bar.stepTo(s.step());
                bar.setExtraMessage(String.format(" loss %.4f", s.loss()));
            }
            if (s.step() == 1 || s.step() % LOG_EVERY == 0 || s.step() == total) {
                double seconds = (System.nanoTime() - startNanos) / 1e9;
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("type", "step");
                rec.put("step", s.step());
                rec.put("epoch", s.epoch() + 1);
                rec.put("loss", s.loss());
                rec.put("lr", s.learningRate());
                rec.put("samples_per_second", seconds > 0 ? (s.step() - startStep) * (double) s.samples() / seconds : 0);
                if (s.usage() != null) {
                    putUsage(rec, s.usage());
                    rec.put("device_bytes", s.deviceBytes());
                    rec.put("peak_device_bytes", s.deviceBytes());
                    rec.put("flops_per_second", s.flopsPerSecond());
                    rec.put("flops_utilisation", s.flopsUtilisation() >= 0 ? s.flopsUtilisation() : null);
                }
                if (!Double.isNaN(s.lossScale())) {
                    rec.put("loss_scale", s.lossScale());
                    rec.put("skipped_steps", s.skippedSteps());
                }
                metrics.append(rec);
            }
        }

        @Override
        public void onEvaluation(EvaluationMetrics em) {
            Evaluation e = em.test();
            int epoch = em.epoch();
            long step = em.step();
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("type", "eval");
            rec.put("epoch", epoch + 1);
            rec.put("step", step);
            // every metric early stopping can watch, under the name it is configured by
            for (String name : em.names()) {
                double v = em.metric(name);
                rec.put(name, Double.isFinite(v) ? v : null);
            }
            metrics.append(rec);
            if (bar == null) {
                if (e.hasAccuracy()) {
                    out.printf("epoch %d (step %d): test accuracy %.4f, test loss %.4f%n", epoch + 1, step, e.accuracy(), e.loss());
                } else {
                    out.printf(Locale.ROOT, "epoch %d (step %d): val loss %.4f, train loss %.4f%n", epoch + 1, step, e.loss(), em.trainLoss());
                }
                out.flush();
            }
        }

        @Override
        public void onEpochEnd(int epoch, long step, Usage usage) {
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("type", "epoch");
            rec.put("epoch", epoch + 1);
            rec.put("step", step);
            putUsage(rec, usage);
            metrics.append(rec);
        }

        @Override
        public void onGuardrail(GuardrailAction action) {
            Map<String, Object> rec = new LinkedHashMap<>();
            rec.put("type", "guardrail");
            rec.putAll(guardrailRecord(action));
            metrics.append(rec);
            out.printf("guardrail %s at step %d (%s): %s%n", action.guardrail().label(), action.step(), action.budget(), action.reason());
            out.flush();
        }

        private static void putUsage(Map<String, Object> rec, Usage u) {
            rec.put("wall_seconds", u.wallSeconds());
            rec.put("device_seconds", u.deviceSeconds());
            rec.put("energy_joules", u.energyJoules());
            rec.put("samples", u.samples());
            rec.put("host_bytes", u.hostBytes() >= 0 ? u.hostBytes() : null);
            rec.put("peak_host_bytes", u.peakHostBytes() >= 0 ? u.peakHostBytes() : null);
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }

    /** A guardrail action as run files record it. */
    private static Map<String, Object> guardrailRecord(GuardrailAction a) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", a.step());
        rec.put("action", a.guardrail().label());
        rec.put("budget", a.budget());
        rec.put("reason", a.reason());
        return rec;
    }
}
