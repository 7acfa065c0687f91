package dev.frugal.models.zoo;

import dev.frugal.models.Module;
import dev.frugal.runtime.Shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The named models Frugal trains out of the box, and the parser for model specs
 * {@code NAME} or {@code NAME:key=value,key=value} (e.g. {@code deep-mlp:depth=64,width=512}).
 * The image classifiers take 1x28x28 images (MNIST, Fashion-MNIST) and give 10 logits;
 * {@code tiny-gpt} takes {@code [context]} I32 token ids and gives {@code [context, vocab]} logits
 * (its {@link ZooEntry#inputShape(ModelSpec)} and {@link ZooEntry#classes(ModelSpec)} follow its
 * options, and {@link Model#inputDType()} says I32).
 *
 * <p>A bad spec is an {@link IllegalArgumentException} whose message names what was wrong and
 * lists what is valid (the model names, or the model's options with defaults and ranges).
 */
public final class ModelZoo {
    /** One 28x28 grey-scale image. */
    public static final Shape IMAGE_28 = Shape.of(1, 28, 28);
    /** MNIST and Fashion-MNIST have ten classes. */
    public static final int CLASSES = 10;
    /** mobilenet-tiny's promise: at most this many parameters, whatever its width. */
    public static final long MOBILENET_TINY_MAX_PARAMETERS = 300_000;

    private static final int IMAGE_FEATURES = 28 * 28;
    /** tiny-gpt's default context: 256 tokens. */
    private static final int TINY_GPT_CONTEXT = 256;
    /** tiny-gpt's default vocabulary: the 256 byte values. */
    private static final int TINY_GPT_VOCAB = 256;

    private static final List<ZooEntry> ENTRIES = List.of(
            new ZooEntry("mlp", "multilayer perceptron 784-256-128-10 with ReLU", IMAGE_28, CLASSES,
                    List.of(new ModelOption("hidden1", 256, 1, 65536, "units of the first hidden layer"),
                            new ModelOption("hidden2", 128, 1, 65536, "units of the second hidden layer")),
                    s -> new Mlp(IMAGE_FEATURES, s.get("hidden1"), s.get("hidden2"), CLASSES)),
            new ZooEntry("cnn-small", "two conv3x3-BN-ReLU-maxpool blocks, then two linear layers", IMAGE_28, CLASSES,
                    List.of(new ModelOption("channels1", 32, 1, 4096, "channels of the first convolution"),
                            new ModelOption("channels2", 64, 1, 4096, "channels of the second convolution"),
                            new ModelOption("hidden", 128, 1, 65536, "units of the hidden linear layer"),
                            new ModelOption("width", 1, 1, 64, "multiplies channels1, channels2 and hidden (cnn-small:width=2 is twice as wide)")),
                    s -> new CnnSmall(1, 28, 28, s.get("channels1") * s.get("width"), s.get("channels2") * s.get("width"),
                            s.get("hidden") * s.get("width"), CLASSES)),
            new ZooEntry("mobilenet-tiny", "MobileNet-style: conv stem, 6 depthwise-separable blocks, global average pool",
                    IMAGE_28, CLASSES,
                    mobileNetTinyOptions(), ModelZoo::mobileNetTiny),
            new ZooEntry("deep-mlp", "MLP of pre-norm residual blocks (LayerNorm, linear, ReLU, linear)", IMAGE_28, CLASSES,
                    List.of(new ModelOption("depth", 8, 0, 4096, "number of residual blocks"),
                            new ModelOption("width", 256, 1, 16384, "units of every block"),
                            ModelOption.derived("hidden", 65536, "units inside every block, between its two linear layers; 0: width")),
                    s -> new DeepMlp(IMAGE_FEATURES, s.get("width"), DeepMlp.hiddenUnits(s), s.get("depth"), CLASSES)),
            new ZooEntry("tiny-gpt", "GPT-style byte/character language model: pre-norm transformer blocks, fused causal attention, tied embedding",
                    Shape.of(TINY_GPT_CONTEXT), TINY_GPT_VOCAB,
                    List.of(new ModelOption("layers", 6, 0, 256, "transformer blocks"),
                            new ModelOption("width", 384, 1, 16384, "model width (a multiple of heads)"),
                            new ModelOption("heads", 6, 1, 1024, "attention heads per block"),
                            new ModelOption("context", TINY_GPT_CONTEXT, 1, 65536, "longest sequence, in tokens (input shape [context])"),
                            new ModelOption("vocab", TINY_GPT_VOCAB, 1, 1 << 20, "tokens in the vocabulary (logits per position)"),
                            ModelOption.derived("hidden", 1 << 20, "units of every block's MLP; 0: 4 x width")),
                    s -> new TinyGpt(s.get("vocab"), s.get("context"), s.get("layers"), s.get("width"), s.get("heads"), TinyGpt.hiddenUnits(s)),
                    s -> Shape.of(s.get("context")), s -> s.get("vocab")));

    private ModelZoo() {
    }

    /**
     * mobilenet-tiny's options: {@code width} (the stem's channels, and the base of every block's
     * default) and {@code block1} .. {@code block6}, each block's output channels, where 0 (the
     * default) means width times the block's multiplier. Structured pruning writes the blocks'
     * kept counts there.
     */
    private static List<ModelOption> mobileNetTinyOptions() {
        List<ModelOption> options = new ArrayList<>();
        options.add(new ModelOption("width", 32, 1, 44, "stem channels; blocks use 2, 4 and 8 times as many (<= 300K parameters)"));
        int[] multipliers = MobileNetTiny.defaultBlockChannels(1);
        for (int i = 0; i < MobileNetTiny.BLOCKS; i++) {
            options.add(ModelOption.derived(MobileNetTiny.blockOption(i), 4096,
                    "output channels of depthwise-separable block " + (i + 1) + "; 0: " + multipliers[i] + " x width"));
        }
        return options;
    }

    private static Module mobileNetTiny(ModelSpec spec) {
        MobileNetTiny m = new MobileNetTiny(1, spec.get("width"), MobileNetTiny.blockChannels(spec), CLASSES);
        if (m.parameterCount() > MOBILENET_TINY_MAX_PARAMETERS) {
            throw new IllegalArgumentException("mobilenet-tiny: " + spec + " gives " + m.parameterCount() + " parameters, more than the "
                    + MOBILENET_TINY_MAX_PARAMETERS + " the model promises; use a smaller width");
        }
        return m;
    }

    /** Every zoo model, in the order {@code frugal models} lists them. */
    public static List<ZooEntry> entries() {
        return ENTRIES;
    }

    /** The zoo names, in listing order. */
    public static List<String> names() {
        return ENTRIES.stream().map(ZooEntry::name).toList();
    }

    /**
     * The entry with this name.
     *
     * @throws IllegalArgumentException naming the unknown model and listing the valid names
     */
    public static ZooEntry entry(String name) {
        for (ZooEntry e : ENTRIES) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown model '" + name + "'; valid models: " + String.join(", ", names()));
    }

    /**
     * Parses {@code NAME} or {@code NAME:key=value,...} (integer values), filling in defaults.
     *
     * @param spec the text, e.g. {@code deep-mlp:depth=64,width=512}
     * @return the spec with every option of the model resolved
     * @throws IllegalArgumentException for an unknown model (lists the models), an unknown or
     *     repeated option (lists the model's options), a value that is not an integer or is out of
     *     range (names the option, its range and the value given), or malformed text
     */
    public static ModelSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty model spec; expected NAME or NAME:key=value,...; valid models: " + String.join(", ", names()));
        }
        String text = spec.strip();
        int colon = text.indexOf(':');
        String name = colon < 0 ? text : text.substring(0, colon);
        ZooEntry entry = entry(name);
        Map<String, Integer> given = new LinkedHashMap<>();
        if (colon >= 0) {
            String rest = text.substring(colon + 1);
            if (rest.isBlank()) {
                throw new IllegalArgumentException("model spec '" + text + "' has a ':' but no options; " + optionList(entry));
            }
            for (String pair : rest.split(",", -1)) {
                int eq = pair.indexOf('=');
                if (eq <= 0 || eq == pair.length() - 1) {
                    throw new IllegalArgumentException("model spec '" + text + "': '" + pair + "' is not key=value; " + optionList(entry));
                }
                String key = pair.substring(0, eq).strip();
                String raw = pair.substring(eq + 1).strip();
                ModelOption option = entry.option(key);
                if (option == null) {
                    throw new IllegalArgumentException("model '" + name + "' has no option '" + key + "'; " + optionList(entry));
                }
                if (given.containsKey(key)) {
                    throw new IllegalArgumentException("model spec '" + text + "' gives option '" + key + "' twice");
                }
                given.put(key, parseValue(name, option, raw));
            }
        }
        Map<String, Integer> resolved = new LinkedHashMap<>();
        for (ModelOption o : entry.options()) {
            resolved.put(o.name(), given.getOrDefault(o.name(), o.defaultValue()));
        }
        return new ModelSpec(name, resolved);
    }

    private static int parseValue(String model, ModelOption option, String raw) {
        int value;
        try {
            value = Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("model '" + model + "': option '" + option.name() + "' must be an integer in "
                    + option.min() + ".." + option.max() + ", got '" + raw + "'");
        }
        if (value < option.min() || value > option.max()) {
            throw new IllegalArgumentException("model '" + model + "': option '" + option.name() + "' must be in "
                    + option.min() + ".." + option.max() + ", got " + value);
        }
        return value;
    }

    private static String optionList(ZooEntry entry) {
        if (entry.options().isEmpty()) {
            return "model '" + entry.name() + "' takes no options";
        }
        return "valid options of '" + entry.name() + "': " + entry.options().stream().map(ModelOption::describe).collect(Collectors.joining("; "));
    }

    /**
     * Builds the module for a spec string, without allocating its values (for listing parameter
     * counts and FLOPs); call {@link Module#initialize(long)} before training.
     *
     * @throws IllegalArgumentException for a bad spec (see {@link #parse(String)})
     */
    public static Model build(String spec) {
        return build(parse(spec));
    }

    /** Builds the module for a parsed spec, without allocating its values. */
    public static Model build(ModelSpec spec) {
        ZooEntry entry = entry(spec.name());
        return new Model(entry, spec, entry.builder().apply(spec));
    }

    /**
     * Builds the model for a spec string and initialises every variable from {@code seed}: the same
     * spec and seed give bit-identical weights.
     *
     * @param spec the model spec, e.g. {@code cnn-small} or {@code deep-mlp:depth=16}
     * @param seed the initialisation seed
     * @return the model; the caller closes it
     * @throws IllegalArgumentException for a bad spec (see {@link #parse(String)})
     */
    public static Model create(String spec, long seed) {
        Model m = build(spec);
        m.module().initialize(seed);
        return m;
    }
}
