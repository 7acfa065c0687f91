package dev.frugal.trainer.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.frugal.memory.ByteFormat;
import dev.frugal.trainer.EvaluationMetrics;
import dev.frugal.trainer.budget.Budgets;
import dev.frugal.trainer.budget.EstimatedEnergyMeter;
import dev.frugal.trainer.budget.Guardrail;
import dev.frugal.trainer.data.CurriculumSpec;
import dev.frugal.trainer.prune.PruningSpec;
import dev.frugal.trainer.schedule.ReduceLrOnPlateau;
import dev.frugal.trainer.transfer.FrozenParameters;
import dev.frugal.runtime.precision.Precision;
import dev.frugal.trainer.amp.LossScalingSpec;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.math.BigInteger;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Every option of {@code frugal train}. Each component's {@link JsonProperty} name is its
 * command-line flag without the dashes and its key in configuration files; Jackson writes the
 * record with those names, so the run directory's {@code config.json} reads back through
 * {@link ConfigFiles#load}. The constructor validates every value, naming the key, so a
 * {@code TrainConfig} that exists is usable as far as this class can tell (whether the model,
 * dataset, schedule or device exist is checked by their own parsers).
 *
 * <p>{@code lr} and {@code weight-decay} may be {@code null}: "the optimizer's default"
 * ({@link #defaultLr}, {@link #defaultWeightDecay}), so that {@code --optimizer adamw} alone gets
 * AdamW's learning rate rather than SGD's. {@link #resolved()} fills them in.
 *
 * <p>{@code frugal train} builds its configuration in layers, later ones winning key by key: the
 * global {@link #defaults()}, the model's recipe ({@link ModelRecipes}), the {@code --config}
 * file, the flags ({@link #layered}).
 *
 * @param model model spec, {@code NAME[:key=value,...]}
 * @param dataset dataset name: {@code fashion-mnist} (image classifiers) or {@code text} (language
 *     models, on the text file {@code data})
 * @param data directory holding the dataset, or for {@code text} the text file; {@code null}:
 *     search the usual places (Fashion-MNIST only)
 * @param tokenizer how a {@code text} dataset becomes tokens: {@code byte} (UTF-8 bytes, 256 ids)
 *     or {@code char} (the text's distinct characters); ignored by other datasets
 * @param valFraction the share of a {@code text} dataset's tokens held out at its end for
 *     validation, above 0 and below 1; ignored by other datasets
 * @param epochs passes over the training set; at least 1
 * @param steps optimizer steps after which training ends; 0: no limit (the epochs decide)
 * @param batchSize samples per step; at least 1, or {@link #AUTO_BATCH_SIZE} ({@code auto} in files and
 *     flags): the largest batch that fits {@code memory-budget}, which it needs
 * @param lr base learning rate; {@code null}: the optimizer's default
 * @param optimizer {@code sgd} or {@code adamw}
 * @param momentum SGD momentum, in {@code [0, 1)}; ignored by AdamW
 * @param nesterov Nesterov momentum (SGD with momentum > 0 only)
 * @param weightDecay weight decay (decoupled for AdamW); {@code null}: the optimizer's default
 * @param schedule learning-rate schedule spec (see {@code LrSchedules.parse})
 * @param clipNorm clip gradients to this global L2 norm; 0: no clipping
 * @param augment training-data augmentation, {@code none} or a comma list of {@code crop=P} and
 *     {@code flip} ({@link AugmentSpec}); stored in canonical form
 * @param precision {@code fp32}, {@code fp16} or {@code bf16}: the autocast pass's precision
 * @param lossScale {@code auto} (dynamic loss scaling for fp16 only), {@code none}, or
 *     {@code dynamic[:init=..,growth=..,backoff=..,interval=..]} ({@code LossScalingSpec})
 * @param device {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}
 * @param memoryBudget the most memory training may take, a size such as {@code 2GiB} or
 *     {@code 512MiB} ({@code ByteFormat.parse}); {@code null}: no budget
 * @param budgetTime the most wall-clock time training may take, a duration such as {@code 10m}
 *     ({@code BudgetUnits.parseDuration}); {@code null}: no time budget
 * @param budgetEnergy the most energy training may draw, such as {@code 50kJ}
 *     ({@code BudgetUnits.parseEnergy}); {@code null}: no energy budget
 * @param budgetSteps the most optimizer steps, ending the run as {@code budget-steps}; 0: none
 * @param guardrails what the trainer may do, in order, when a budget is projected to run out:
 *     a comma list of {@code evaluate-less}, {@code checkpoint}, {@code shrink-batch}, {@code stop}
 *     ({@code Guardrail.parseList}), or {@code none}
 * @param tdpWatts the CPU's thermal design power, for the energy estimate where no energy
 *     counter is readable
 * @param plateau reduce the learning rate when a metric stops improving, on top of {@code schedule}:
 *     a {@code ReduceLrOnPlateau} spec such as {@code plateau:metric=test_loss,factor=0.5,patience=2};
 *     {@code null}: off
 * @param curriculum curriculum learning: a {@code CurriculumSpec} such as
 *     {@code curriculum:warmup=200,steps=1500,pacing=root,start=0.2}; {@code null}: off
 * @param seed seed of initialisation, shuffling, dropout and augmentation
 * @param runDir the run directory; {@code null}: a new one under the runs root
 * @param evalEvery evaluate every this many epochs; at least 1
 * @param lossEvery read the training loss back every this many steps (and at each epoch's and
 *     the run's last step); the steps between run without waiting for the GPU; at least 1
 * @param earlyStoppingMetric the metric early stopping watches, one of the dataset's evaluation
 *     metrics ({@link #evaluationMetrics(String)}: {@code test_accuracy}, {@code test_loss},
 *     {@code train_loss} for Fashion-MNIST; {@code val_loss}, {@code train_loss} for text) when
 *     early stopping is on (any of {@link EvaluationMetrics#ALL_NAMES} otherwise); lower is
 *     better when its name ends in {@code loss} ({@link EvaluationMetrics#higherIsBetter}, used by
 *     the trainer too)
 * @param earlyStoppingPatience evaluations without improvement that stop training; 0: early stopping off
 * @param earlyStoppingMinDelta the least change that counts as an improvement; at least 0
 * @param keepCheckpoints how many of the newest checkpoints to keep; at least 1
 * @param progress show a progress bar (it turns itself off when output is not a terminal)
 * @param resume run directory to resume from; {@code null}: a fresh run
 * @param initFrom a safetensors file (such as a PyTorch {@code state_dict}) whose tensors initialise
 *     the model's variables of the same name ({@code PretrainedWeights}); {@code null}: the model's
 *     own initialisation
 * @param initMap a JSON object mapping the model's names to the file's where they differ; needs
 *     {@code init-from}; {@code null}: equal names only
 * @param freeze comma-separated globs over full parameter names ({@code block1.*,block2.*}) whose
 *     parameters do not train ({@code FrozenParameters}); stored in canonical form; {@code null}: none
 * @param teacher the run directory of a trained image classifier whose soft targets the model is
 *     distilled from ({@code Distillation}); {@code null}: no distillation
 * @param distillTemperature the distillation's softmax temperature; above 0
 * @param distillAlpha the weight of the teacher's soft targets in the loss (the labels get
 *     {@code 1 - alpha}); in [0, 1]
 * @param prune what to prune and when ({@code PruningSpec}: {@code magnitude:0.8},
 *     {@code structured:0.5,schedule=once,at=60%}, ...); stored in canonical form; {@code null}: no pruning
 * @param quantize int8 quantization-aware training ({@code QuantizationSpec}: {@code int8},
 *     {@code int8:ops=conv2d,momentum=0.01}); stored in canonical form; float32 only; {@code null}: none
 */
public record TrainConfig(
    @JsonProperty("model") String model,
    @JsonProperty("dataset") String dataset,
    @JsonProperty("data") Path data,
    @JsonProperty("tokenizer") String tokenizer,
    @JsonProperty("val-fraction") double valFraction,
    @JsonProperty("epochs") int epochs,
    @JsonProperty("steps") long steps,
    @JsonProperty("batch-size") int batchSize,
    @JsonProperty("lr") Double lr,
    @JsonProperty("optimizer") String optimizer,
    @JsonProperty("momentum") double momentum,
    @JsonProperty("nesterov") boolean nesterov,
    @JsonProperty("weight-decay") Double weightDecay,
    @JsonProperty("schedule") String schedule,
    @JsonProperty("clip-norm") double clipNorm,
    @JsonProperty("augment") String augment,
    @JsonProperty("precision") String precision,
    @JsonProperty("loss-scale") String lossScale,
    @JsonProperty("device") String device,
    @JsonProperty("memory-budget") String memoryBudget,
    @JsonProperty("budget-time") String budgetTime,
    @JsonProperty("budget-energy") String budgetEnergy,
    @JsonProperty("budget-steps") long budgetSteps,
    @JsonProperty("guardrails") String guardrails,
    @JsonProperty("tdp-watts") double tdpWatts,
    @JsonProperty("plateau") String plateau,
    @JsonProperty("curriculum") String curriculum,
    @JsonProperty("seed") long seed,
    @JsonProperty("run-dir") Path runDir,
    @JsonProperty("eval-every") int evalEvery,
    @JsonProperty("loss-every") int lossEvery,
    @JsonProperty("early-stopping-metric") String earlyStoppingMetric,
    @JsonProperty("early-stopping-patience") int earlyStoppingPatience,
    @JsonProperty("early-stopping-min-delta") double earlyStoppingMinDelta,
    @JsonProperty("keep-checkpoints") int keepCheckpoints,
    @JsonProperty("progress") boolean progress,
    @JsonProperty("resume") Path resume,
    @JsonProperty("init-from") Path initFrom,
    @JsonProperty("init-map") Path initMap,
    @JsonProperty("freeze") String freeze,
    @JsonProperty("teacher") Path teacher,
    @JsonProperty("distill-temperature") double distillTemperature,
    @JsonProperty("distill-alpha") double distillAlpha,
    @JsonProperty("prune") String prune,
    @JsonProperty("quantize") String quantize) {

    /** {@code batchSize} meaning {@code auto}: the largest batch that fits the memory budget. */
    public static final int AUTO_BATCH_SIZE = 0;
    /** The optimizers {@code optimizer} accepts. */
    public static final List<String> OPTIMIZERS = List.of("sgd", "adamw");
    /** The precisions {@code precision} accepts. */
    public static final List<String> PRECISIONS = List.of("fp32", "fp16", "bf16");
    /** The dataset of image classifiers (the default). */
    public static final String FASHION_MNIST = "fashion-mnist";
    /** The dataset of language models: a text file. */
    public static final String TEXT = "text";
    /** The tokenizers {@code tokenizer} accepts (see {@code text.Tokenizer}). */
    public static final List<String> TOKENIZERS = List.of("byte", "char");

    private static final Pattern DEVICE = Pattern.compile("auto|cpu|cuda(:\\d+)?");
    /** Text options whose null means "none". */
    private static final List<String> NULLABLE_TEXT = List.of("memory-budget", "budget-time", "budget-energy", "plateau", "curriculum", "freeze",
        "prune", "quantize");
    private static final List<RecordComponent> COMPONENTS = List.of(TrainConfig.class.getRecordComponents());
    // @JsonProperty cannot target record components, so Java propagates it to the accessors
    private static final List<String> KEYS = COMPONENTS.stream()
        .map(c -> c.getAccessor().getAnnotation(JsonProperty.class).value()).toList();

    /**
     * Checks every value.
     *
     * @throws ConfigException naming the key, the value and what is valid
     */
    public TrainConfig {
        requireText("model", model);
        requireText("dataset", dataset);
        requireText("tokenizer", tokenizer);
        if (!TOKENIZERS.contains(tokenizer)) {
            throw new ConfigException("unknown tokenizer '" + tokenizer + "'; valid: " + String.join(", ", TOKENIZERS));
        }
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new ConfigException("val-fraction must be above 0 and below 1 (the share of the text held out), got " + valFraction);
        }
        atLeast("epochs", epochs, 1);
        atLeast("steps", steps, 0);
        if (batchSize < 1 && batchSize != AUTO_BATCH_SIZE) {
            throw new ConfigException("batch-size must be at least 1 or auto, got " + batchSize);
        }
        if (lr != null && !(Double.isFinite(lr) && lr > 0)) {
            throw new ConfigException("lr must be a finite number > 0, got " + lr);
        }
        requireText("optimizer", optimizer);
        optimizer = optimizer.strip().toLowerCase(Locale.ROOT);
        if (!OPTIMIZERS.contains(optimizer)) {
            throw new ConfigException("unknown optimizer '" + optimizer + "'; valid: " + String.join(", ", OPTIMIZERS));
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new ConfigException("momentum must be in [0, 1), got " + momentum);
        }
        if (nesterov && !(optimizer.equals("sgd") && momentum > 0)) {
            throw new ConfigException("nesterov needs the sgd optimizer with momentum > 0 (optimizer " + optimizer
                + ", momentum " + momentum + ")");
        }
        if (weightDecay != null) {
            finiteAtLeastZero("weight-decay", weightDecay);
        }
        requireText("schedule", schedule);
        finiteAtLeastZero("clip-norm", clipNorm);
        requireText("augment", augment);
        augment = AugmentSpec.parse(augment).toString();
        requireText("precision", precision);
        if (!PRECISIONS.contains(precision)) {
            throw new ConfigException("unknown precision '" + precision + "'; valid: " + String.join(", ", PRECISIONS));
        }
        requireText("loss-scale", lossScale);
        try {
            LossScalingSpec.resolve(lossScale, Precision.parse(precision));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        requireText("device", device);
        if (!DEVICE.matcher(device).matches()) {
            throw new ConfigException("unknown device '" + device + "'; valid: auto, cpu, cuda, cuda:N");
        }
        if (memoryBudget != null) {
            try {
                if (ByteFormat.parse(memoryBudget) < 1) {
                    throw new ConfigException("memory-budget must be more than 0 bytes, got '" + memoryBudget + "'");
                }
            } catch (ConfigException e) {
                throw e;
            } catch (IllegalArgumentException e) {
                throw new ConfigException("memory-budget: " + e.getMessage(), e);
            }
        }
        try {
            Budgets.parse(budgetTime, budgetEnergy, null, budgetSteps == 0 ? null : budgetSteps);
            guardrails = String.join(",", Guardrail.parseList(guardrails).stream().map(Guardrail::label).toList());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        if (guardrails.isEmpty()) {
            guardrails = "none";
        }
        if (!(tdpWatts > 0) || !Double.isFinite(tdpWatts)) {
            throw new ConfigException("tdp-watts must be a positive number of watts, got " + tdpWatts);
        }
        try {
            if (plateau != null) {
                ReduceLrOnPlateau.Settings.parse(plateau, evaluationMetrics(dataset));
            }
            if (curriculum != null) {
                curriculum = CurriculumSpec.parse(curriculum).describe();
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        if (batchSize == AUTO_BATCH_SIZE && memoryBudget == null) {
            throw new ConfigException("batch-size auto picks the largest batch that fits the memory budget, so it needs memory-budget"
                + " (e.g. --memory-budget 2GiB)");
        }
        atLeast("eval-every", evalEvery, 1);
        atLeast("loss-every", lossEvery, 1);
        requireText("early-stopping-metric", earlyStoppingMetric);
        atLeast("early-stopping-patience", earlyStoppingPatience, 0);
        // the dataset's metrics when early stopping is on; any task's otherwise, so that the global
        // default (an image classifier's test_accuracy) does not make every text run invalid
        List<String> watchable = earlyStoppingPatience > 0 ? evaluationMetrics(dataset) : EvaluationMetrics.ALL_NAMES;
        if (!EvaluationMetrics.isMetric(earlyStoppingMetric, watchable)) {
            throw new ConfigException("early-stopping-metric: " + EvaluationMetrics.unknownMetricMessage(earlyStoppingMetric,
                evaluationMetrics(dataset)));
        }
        finiteAtLeastZero("early-stopping-min-delta", earlyStoppingMinDelta);
        atLeast("keep-checkpoints", keepCheckpoints, 1);
        if (initMap != null && initFrom == null) {
            throw new ConfigException("init-map renames the tensors of init-from, so it needs init-from (--init-from FILE.safetensors)");
        }
        if (freeze != null) {
            List<String> globs = FrozenParameters.parseGlobs(freeze);
            if (globs.isEmpty()) {
                throw new ConfigException("freeze must name parameters, a comma list of globs such as 'block1.*,block2.*', got '" + freeze + "'");
            }
            freeze = String.join(",", globs);
        }
        if (!(distillTemperature > 0) || !Double.isFinite(distillTemperature)) {
            throw new ConfigException("distill-temperature must be a finite number above 0, got " + distillTemperature);
        }
        if (!(distillAlpha >= 0 && distillAlpha <= 1)) {
            throw new ConfigException("distill-alpha must be in [0, 1] (the weight of the teacher's soft targets), got " + distillAlpha);
        }
        if (teacher != null && TEXT.equals(dataset)) {
            throw new ConfigException("teacher: distillation trains image classifiers, not a language model on the text dataset");
        }
        if (prune != null) {
            try {
                prune = PruningSpec.parse(prune).toString();
            } catch (IllegalArgumentException e) {
                throw new ConfigException("prune: " + e.getMessage());
            }
        }
        quantize = checkedQuantize(quantize, precision);
        if (prune != null && quantize != null && PruningSpec.parse(prune).method() == PruningSpec.Method.STRUCTURED) {
            throw new ConfigException("prune structured and quantize are not supported together yet: the smaller model is rebuilt from the"
                + " zoo spec, without the quantization observers; use one of them (magnitude pruning works with quantize)");
        }
    }

    /**
     * The globs of {@code freeze}.
     *
     * @return the globs; empty when nothing is frozen
     */
    public List<String> freezeGlobs() {
        return FrozenParameters.parseGlobs(freeze);
    }

    /** {@code quantize} in canonical form, checked: a valid spec, and a float32 run (fake quantization's rounding is exact only in float32). */
    private static String checkedQuantize(String quantize, String precision) {
        if (quantize == null) {
            return null;
        }
        String canonical;
        try {
            canonical = dev.frugal.trainer.quant.QuantizationSpec.parse(quantize).toString();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        if (!"fp32".equals(precision)) {
            throw new ConfigException("quantize: int8 quantization-aware training runs in float32 (its fake quantization computes the int8 grid"
                + " exactly only there); drop --precision " + precision + " or --quantize");
        }
        return canonical;
    }

    /** The quantization {@code quantize} asks for; null when none. */
    public dev.frugal.trainer.quant.QuantizationSpec quantization() {
        return quantize == null ? null : dev.frugal.trainer.quant.QuantizationSpec.parse(quantize);
    }

    /** The pruning {@code prune} asks for; null when none. */
    public PruningSpec pruning() {
        return prune == null ? null : PruningSpec.parse(prune);
    }

    /**
     * What every evaluation of a run on a dataset carries: a text dataset trains a language model,
     * whose evaluations carry {@link EvaluationMetrics#LANGUAGE_MODEL_NAMES}; any other an image
     * classifier ({@link EvaluationMetrics#NAMES}).
     *
     * @param dataset a dataset name
     * @return the metric names, the held-out loss first
     */
    public static List<String> evaluationMetrics(String dataset) {
        return TEXT.equals(dataset) ? EvaluationMetrics.LANGUAGE_MODEL_NAMES : EvaluationMetrics.NAMES;
    }

    /** Whether the run trains a language model on a text file. */
    public boolean textDataset() {
        return TEXT.equals(dataset);
    }

    /** The precision and loss scaling of the run ({@code precision} with {@code loss-scale} resolved). */
    public dev.frugal.trainer.amp.MixedPrecision mixedPrecision() {
        return LossScalingSpec.resolve(lossScale, Precision.parse(precision));
    }

    /**
     * What {@code frugal train} does with no options: {@code cnn-small} on Fashion-MNIST, 3 epochs,
     * batches of 128, SGD with momentum 0.9 at the optimizer's default rate, constant schedule,
     * no augmentation, fp32, automatic device, seed 42, evaluation every epoch, no early stopping,
     * the newest 3 checkpoints kept; with a teacher, temperature 4 and alpha 0.5 (on Fashion-MNIST,
     * mobilenet-tiny distilled from cnn-small:width=2 beat the student alone at 0.5 and fell behind it
     * at 0.9: docs/benchmarks.md). These are the global defaults, under every model's recipe;
     * {@link #layered} gives what {@code frugal train} actually uses.
     *
     * @return the defaults
     */
    public static TrainConfig defaults() {
        return new TrainConfig("cnn-small", FASHION_MNIST, null, "byte", 0.1, 3, 0, 128, null, "sgd", 0.9, false, null,
            "constant", 0.0, "none", "fp32", "auto", "auto", null, null, null, 0, "evaluate-less,checkpoint,shrink-batch,stop",
            EstimatedEnergyMeter.DEFAULT_TDP_WATTS, null, null, 42, null, 1, 1, "test_accuracy", 0, 0.0, 3, true, null, null, null, null,
            null, 4.0, 0.5, null, null);
    }

    /**
     * The configuration of a run from its layers, later ones winning key by key: the global
     * {@link #defaults()}, the model's recipe ({@link ModelRecipes#applicable}), the configuration
     * file, the command-line flags. The model (and so the recipe) is the one the file or flags
     * name, else the default model. The maps are merged first and the result is validated once,
     * so a rule that spans keys (nesterov needs momentum) sees the final values. A run on the
     * text dataset watches {@code val_loss} for early stopping unless a layer names a metric
     * (the global default, {@code test_accuracy}, is an image classifier's).
     *
     * @param file options from a configuration file ({@link ConfigFiles#readOverrides}); may be empty
     * @param flags options from the command line; may be empty
     * @return the configuration (not yet {@link #resolved()})
     * @throws ConfigException as {@link #withOverrides}
     */
    public static TrainConfig layered(Map<String, ?> file, Map<String, ?> flags) {
        Map<String, Object> user = new LinkedHashMap<>(file);
        user.putAll(flags);
        Object model = user.containsKey("model") ? user.get("model") : defaults().model();
        Map<String, Object> merged = new LinkedHashMap<>();
        if (model instanceof String spec) {
            merged.putAll(ModelRecipes.applicable(spec, user));
        }
        merged.putAll(user);
        if (TEXT.equals(merged.get("dataset")) && !merged.containsKey("early-stopping-metric")) {
            merged.put("early-stopping-metric", EvaluationMetrics.VAL_LOSS);
        }
        return defaults().withOverrides(merged);
    }

    /**
     * The augmentation to train with.
     *
     * @return {@code augment} parsed
     */
    public AugmentSpec augmentation() {
        return AugmentSpec.parse(augment);
    }

    /**
     * The default learning rate of an optimizer.
     *
     * @param optimizer {@code sgd} or {@code adamw}
     * @return 0.05 for SGD (with momentum 0.9), 1e-3 for AdamW (PyTorch's default)
     * @throws ConfigException for another optimizer
     */
    public static double defaultLr(String optimizer) {
        return switch (optimizer) {
            case "sgd" -> 0.05;
            case "adamw" -> 1e-3;
            default -> throw new ConfigException("unknown optimizer '" + optimizer + "'; valid: " + String.join(", ", OPTIMIZERS));
        };
    }

    /**
     * The default weight decay of an optimizer: PyTorch's, so that the comparison benchmarks agree.
     *
     * @param optimizer {@code sgd} or {@code adamw}
     * @return 0 for SGD, 0.01 for AdamW
     * @throws ConfigException for another optimizer
     */
    public static double defaultWeightDecay(String optimizer) {
        return switch (optimizer) {
            case "sgd" -> 0.0;
            case "adamw" -> 0.01;
            default -> throw new ConfigException("unknown optimizer '" + optimizer + "'; valid: " + String.join(", ", OPTIMIZERS));
        };
    }

    /**
     * The learning rate to train with.
     *
     * @return {@code lr}, or the optimizer's default when it is {@code null}
     */
    public double effectiveLr() {
        return lr != null ? lr : defaultLr(optimizer);
    }

    /**
     * The weight decay to train with.
     *
     * @return {@code weightDecay}, or the optimizer's default when it is {@code null}
     */
    public double effectiveWeightDecay() {
        return weightDecay != null ? weightDecay : defaultWeightDecay(optimizer);
    }

    /**
     * This configuration with the optimizer's defaults written in, as {@code config.json} should
     * record it.
     *
     * @return a copy whose {@code lr} and {@code weightDecay} are not {@code null}
     */
    public TrainConfig resolved() {
        return withOverrides(Map.of("lr", effectiveLr(), "weight-decay", effectiveWeightDecay()));
    }

    /**
     * The memory budget in bytes.
     *
     * @return {@code memory-budget} parsed, or -1 when there is none
     */
    public long memoryBudgetBytes() {
        return memoryBudget == null ? -1 : ByteFormat.parse(memoryBudget);
    }

    /**
     * The time, energy and step budgets; the memory budget is {@link #memoryBudgetBytes()}.
     *
     * @return the budgets ({@link Budgets#NONE} when none is set)
     */
    public Budgets runBudgets() {
        return Budgets.parse(budgetTime, budgetEnergy, null, budgetSteps == 0 ? null : budgetSteps);
    }

    /**
     * The guardrails, in order.
     *
     * @return the parsed list
     */
    public List<Guardrail> guardrailList() {
        return Guardrail.parseList(guardrails);
    }

    /**
     * Whether the batch size is {@code auto}.
     *
     * @return true when {@code batchSize} is {@link #AUTO_BATCH_SIZE}
     */
    public boolean autoBatchSize() {
        return batchSize == AUTO_BATCH_SIZE;
    }

    /**
     * Whether early stopping is on.
     *
     * @return true when {@code earlyStoppingPatience > 0}
     */
    public boolean earlyStoppingEnabled() {
        return earlyStoppingPatience > 0;
    }

    /**
     * Which way the early-stopping metric improves.
     *
     * @return false for a metric whose name ends in {@code loss}, true otherwise (accuracies);
     *     the trainer uses the same rule ({@link EvaluationMetrics#higherIsBetter})
     */
    public boolean earlyStoppingHigherIsBetter() {
        return EvaluationMetrics.higherIsBetter(earlyStoppingMetric);
    }

    /**
     * Every key, in declaration order: the valid keys of a configuration file and of
     * {@link #withOverrides}.
     *
     * @return the keys, for example {@code batch-size}
     */
    public static List<String> keys() {
        return KEYS;
    }

    /**
     * This configuration as a map from key to value, in declaration order.
     *
     * @return a modifiable copy; paths as {@link Path}, absent values as {@code null}
     */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < COMPONENTS.size(); i++) {
            map.put(KEYS.get(i), valueOf(COMPONENTS.get(i)));
        }
        return map;
    }

    /**
     * A copy with some options replaced: how a configuration file and then the command line are
     * applied over the defaults.
     *
     * @param overrides key to value; values as Jackson reads JSON or YAML ({@code String},
     *     {@code Integer}/{@code Long}/{@code BigInteger}, {@code Double}, {@code Boolean},
     *     {@code null}) or the Java types of the components ({@code Path} for paths, any
     *     {@code Number} for numbers). {@code null} is allowed for {@code data}, {@code lr},
     *     {@code weight-decay}, {@code memory-budget}, {@code budget-time}, {@code budget-energy},
     *     {@code plateau}, {@code curriculum},
     *     {@code run-dir}, {@code resume}, {@code init-from}, {@code init-map}, {@code freeze}, {@code teacher} and {@code prune} and means
     *     "the default"; {@code batch-size} also takes {@code "auto"}, {@code memory-budget} a size
     *     text or a whole number of bytes
     * @return the new configuration
     * @throws ConfigException for an unknown key (listing the valid ones), a value of the wrong
     *     type (naming the key and the expected type) or out of range
     */
    public TrainConfig withOverrides(Map<String, ?> overrides) {
        Object[] values = new Object[COMPONENTS.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = valueOf(COMPONENTS.get(i));
        }
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            int index = KEYS.indexOf(e.getKey());
            if (index < 0) {
                throw new ConfigException(unknownKeyMessage(String.valueOf(e.getKey())));
            }
            values[index] = convert(e.getKey(), COMPONENTS.get(index).getType(), e.getValue());
        }
        return construct(values);
    }

    /**
     * The message for an unknown key: the key, a suggestion when only case, dashes or
     * underscores differ from a valid one, and every valid key.
     *
     * @param key the unknown key
     * @return the message
     */
    static String unknownKeyMessage(String key) {
        String normalised = normalise(key);
        String hint = KEYS.stream().filter(k -> normalise(k).equals(normalised)).findFirst()
            .map(k -> " (did you mean '" + k + "'?)").orElse("");
        return "unknown key '" + key + "'" + hint + "; valid keys: " + String.join(", ", KEYS);
    }

    private static String normalise(String key) {
        return key.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
    }

    private Object valueOf(RecordComponent component) {
        try {
            return component.getAccessor().invoke(this);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException(e);
        }
    }

    private static TrainConfig construct(Object[] values) {
        try {
            Class<?>[] types = COMPONENTS.stream().map(RecordComponent::getType).toArray(Class<?>[]::new);
            Constructor<TrainConfig> constructor = TrainConfig.class.getDeclaredConstructor(types);
            return constructor.newInstance(values);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object convert(String key, Class<?> type, Object value) {
        if (key.equals("batch-size")) {
            if (value instanceof String s && s.strip().equalsIgnoreCase("auto")) {
                return AUTO_BATCH_SIZE;
            }
            if (value instanceof Number n && !(n instanceof Double || n instanceof Float) && n.longValue() < 1) {
                throw new ConfigException("batch-size must be at least 1 or auto, got " + n);
            }
        }
        if (key.equals("memory-budget") && (value instanceof Integer || value instanceof Long || value instanceof BigInteger)) {
            return value.toString(); // a plain byte count
        }
        if (value == null) {
            if (type.isPrimitive() || (type == String.class && !NULLABLE_TEXT.contains(key))) {
                throw wrongType(key, type, null);
            }
            return null;
        }
        if (type == String.class) {
            if (value instanceof String s) {
                return s;
            }
        } else if (type == int.class || type == long.class) {
            BigInteger whole = switch (value) {
                case Integer i -> BigInteger.valueOf(i);
                case Long l -> BigInteger.valueOf(l);
                case Short s -> BigInteger.valueOf(s);
                case Byte b -> BigInteger.valueOf(b);
                case BigInteger b -> b;
                default -> null;
            };
            if (whole != null) {
                BigInteger min = BigInteger.valueOf(type == int.class ? Integer.MIN_VALUE : Long.MIN_VALUE);
                BigInteger max = BigInteger.valueOf(type == int.class ? Integer.MAX_VALUE : Long.MAX_VALUE);
                if (whole.compareTo(min) < 0 || whole.compareTo(max) > 0) {
                    throw new ConfigException("key '" + key + "': " + whole + " is out of range (" + min + " to " + max + ")");
                }
                return type == int.class ? (Object) whole.intValue() : (Object) whole.longValue();
            }
        } else if (type == double.class || type == Double.class) {
            if (value instanceof Number n) {
                return n.doubleValue();
            }
        } else if (type == boolean.class) {
            if (value instanceof Boolean b) {
                return b;
            }
        } else if (type == Path.class) {
            if (value instanceof Path p) {
                return p;
            }
            if (value instanceof String s) {
                try {
                    return Path.of(s);
                } catch (InvalidPathException e) {
                    throw new ConfigException("key '" + key + "': not a valid path: " + e.getMessage(), e);
                }
            }
        }
        throw wrongType(key, type, value);
    }

    private static ConfigException wrongType(String key, Class<?> type, Object value) {
        String expected;
        if (type == String.class) {
            expected = "a string";
        } else if (type == int.class || type == long.class) {
            expected = "a whole number";
        } else if (type == double.class || type == Double.class) {
            expected = "a number";
        } else if (type == boolean.class) {
            expected = "true or false";
        } else {
            expected = "a path (a string)";
        }
        String got = value == null ? "null" : describe(value);
        return new ConfigException("key '" + key + "': expected " + expected + ", got " + got);
    }

    private static String describe(Object value) {
        String kind = switch (value) {
            case String s -> "a string";
            case Boolean b -> "a boolean";
            case Integer i -> "a whole number";
            case Long l -> "a whole number";
            case BigInteger b -> "a whole number";
            case Number n -> "a number";
            case List<?> l -> "a list";
            case Map<?, ?> m -> "a mapping";
            default -> value.getClass().getSimpleName();
        };
        String text = value instanceof String s ? "\"" + s + "\"" : String.valueOf(value);
        return kind + ", " + (text.length() > 60 ? text.substring(0, 57) + "..." : text);
    }

    private static void requireText(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(key + " must not be empty");
        }
    }

    private static void atLeast(String key, long value, long min) {
        if (value < min) {
            throw new ConfigException(key + " must be at least " + min + ", got " + value);
        }
    }

    private static void finiteAtLeastZero(String key, double value) {
        if (!(Double.isFinite(value) && value >= 0)) {
            throw new ConfigException(key + " must be a finite number >= 0, got " + value);
        }
    }
}
