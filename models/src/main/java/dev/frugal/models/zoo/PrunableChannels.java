package dev.frugal.models.zoo;

import dev.frugal.models.zoo.ChannelGroup.Member;
import dev.frugal.models.zoo.ChannelGroup.Role;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The channel groups of the zoo models that structured pruning can shrink, and the spec of the
 * smaller model once channels are removed. A model is listed here when every group's size is one
 * of its options, so the pruned network is an ordinary zoo model (checkpoints, evaluation and
 * export need nothing new).
 *
 * <p>In {@code deep-mlp} and {@code tiny-gpt} only the units inside each block's MLP are prunable:
 * the residual stream ties every block's width together (and tiny-gpt's attention heads stay whole).
 */
public final class PrunableChannels {
    private PrunableChannels() {
    }

    /** The zoo models with channel groups. */
    public static List<String> models() {
        return List.of("mlp", "cnn-small", "mobilenet-tiny", "deep-mlp", "tiny-gpt");
    }

    /** Whether {@code name} declares channel groups. */
    public static boolean supports(String name) {
        return models().contains(name);
    }

    /**
     * The channel groups of a model, in forward order.
     *
     * @throws IllegalArgumentException for a model that declares none (naming the models that do)
     */
    public static List<ChannelGroup> of(ModelSpec spec) {
        return switch (spec.name()) {
            case "mlp" -> List.of(
                    linearUnits("hidden1", spec.get("hidden1"), "fc1", "fc2", 1),
                    linearUnits("hidden2", spec.get("hidden2"), "fc2", "fc3", 1));
            case "cnn-small" -> {
                int width = spec.get("width");
                yield List.of(
                        convBlockChannels("channels1", spec.get("channels1") * width, "block1", "block2.0.weight", 1),
                        // fc1 reads the flattened C x 7 x 7 map of block 2: 49 inputs per channel
                        convBlockChannels("channels2", spec.get("channels2") * width, "block2", "fc1.weight", 7 * 7),
                        linearUnits("hidden", spec.get("hidden") * width, "fc1", "fc2", 1));
            }
            case "mobilenet-tiny" -> mobileNetTinyGroups(spec);
            case "deep-mlp" -> innerUnitGroups(spec, "depth", DeepMlp.hiddenUnits(spec), ".body.1", ".body.3", "residual blocks");
            case "tiny-gpt" -> innerUnitGroups(spec, "layers", TinyGpt.hiddenUnits(spec), ".mlp.0", ".mlp.2", "transformer blocks");
            default -> throw new IllegalArgumentException("structured pruning: model '" + spec.name()
                    + "' declares no prunable channel groups; models that do: " + String.join(", ", models()));
        };
    }

    /**
     * The spec of the model with {@code kept} channels in each group: the group options set to
     * their kept counts, and for {@code cnn-small} the width multiplier reset to 1 (the counts are
     * absolute). For {@code mobilenet-tiny} {@code width} is itself a group (the stem's channels)
     * and every block is given its count, so no block falls back to a multiple of the new width.
     *
     * @param spec the unpruned spec
     * @param kept channels kept per group name; every group of the model must be given, and groups
     *             sharing an option must keep the same count
     * @throws IllegalArgumentException for a missing group, a count outside {@code [1, size]}, or
     *     groups of one option with different counts
     */
    public static ModelSpec prunedSpec(ModelSpec spec, Map<String, Integer> kept) {
        Map<String, Integer> options = new LinkedHashMap<>(spec.options());
        Map<String, String> setBy = new LinkedHashMap<>();
        for (ChannelGroup g : of(spec)) {
            Integer k = kept.get(g.name());
            if (k == null || k < 1 || k > g.size()) {
                throw new IllegalArgumentException("pruned " + spec.name() + ": group " + g.name() + " keeps " + k
                        + " channels, expected 1.." + g.size());
            }
            String first = setBy.putIfAbsent(g.option(), g.name());
            if (first != null && options.get(g.option()) != k.intValue()) {
                throw new IllegalArgumentException("pruned " + spec.name() + ": groups " + first + " and " + g.name() + " share option "
                        + g.option() + " but keep " + options.get(g.option()) + " and " + k + " channels; one option needs one count");
            }
            options.put(g.option(), k);
        }
        if (options.containsKey("width") && spec.name().equals("cnn-small")) {
            options.put("width", 1);
        }
        return new ModelSpec(spec.name(), options);
    }

    /**
     * The groups of a model of residual blocks (deep-mlp, tiny-gpt): the units between each block's
     * two MLP layers ({@code blocks.I<producer>} makes them, {@code blocks.I<consumer>} reads them;
     * GELU and ReLU map 0 to 0, so a unit with zero weights and bias adds nothing), all sized by the
     * {@code hidden} option. The residual stream itself is not prunable.
     *
     * @param countOption the option giving the number of blocks
     * @param kind        what the blocks are, for the error when there are none
     */
    private static List<ChannelGroup> innerUnitGroups(ModelSpec spec, String countOption, int hidden, String producer, String consumer,
                                                      String kind) {
        int blocks = spec.get(countOption);
        if (blocks == 0) {
            throw new IllegalArgumentException("structured pruning: " + spec + " has no " + kind + ", whose inner units are what "
                    + "structured pruning removes from " + spec.name() + "; use " + countOption + " >= 1");
        }
        List<ChannelGroup> groups = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            String block = "blocks." + i;
            groups.add(linearUnits(block + ".hidden", "hidden", hidden, block + producer, block + consumer, 1));
        }
        return groups;
    }

    /**
     * mobilenet-tiny's groups: the stem's channels ({@code width}) and each block's pointwise
     * output channels ({@code block1} .. {@code block6}). A depthwise convolution has one filter
     * per input channel, so the channels a group produces also index the next block's depthwise
     * filters and their batch norm ({@code bn1}): those follow the group, and only the next
     * pointwise convolution (or the classifier, after global pooling) reads them as input.
     */
    private static List<ChannelGroup> mobileNetTinyGroups(ModelSpec spec) {
        int[] channels = MobileNetTiny.blockChannels(spec);
        List<ChannelGroup> groups = new ArrayList<>();
        List<Member> stem = new ArrayList<>();
        stem.add(Member.of("stem.weight", 0, Role.SOURCE));
        stem.addAll(batchNormFollowers("stem_bn"));
        stem.addAll(readByBlock(0));
        groups.add(new ChannelGroup("width", spec.get("width"), stem));
        for (int i = 0; i < MobileNetTiny.BLOCKS; i++) {
            List<Member> members = new ArrayList<>();
            members.add(Member.of("blocks." + i + ".pointwise.weight", 0, Role.SOURCE));
            members.addAll(batchNormFollowers("blocks." + i + ".bn2"));
            if (i + 1 < MobileNetTiny.BLOCKS) {
                members.addAll(readByBlock(i + 1));
            } else {
                members.add(Member.of("classifier.weight", 1, Role.CONSUMER));
            }
            groups.add(new ChannelGroup(MobileNetTiny.blockOption(i), channels[i], members));
        }
        return groups;
    }

    /** Block {@code i}'s input channels: its depthwise filters and their batch norm follow them, its pointwise convolution reads them. */
    private static List<Member> readByBlock(int i) {
        String block = "blocks." + i;
        List<Member> members = new ArrayList<>();
        members.add(Member.of(block + ".depthwise.weight", 0, Role.FOLLOWER));
        members.addAll(batchNormFollowers(block + ".bn1"));
        members.add(Member.of(block + ".pointwise.weight", 1, Role.CONSUMER));
        return members;
    }

    /** A batch norm's scale, shift and running statistics, one element per channel. */
    private static List<Member> batchNormFollowers(String norm) {
        return List.of(
                Member.of(norm + ".weight", 0, Role.FOLLOWER),
                Member.of(norm + ".bias", 0, Role.FOLLOWER),
                Member.of(norm + ".running_mean", 0, Role.FOLLOWER),
                Member.of(norm + ".running_var", 0, Role.FOLLOWER));
    }

    /** Units of linear layer {@code producer} ({@code [out, in]} weight and bias), read by {@code consumer}; the group named by its option. */
    private static ChannelGroup linearUnits(String option, int size, String producer, String consumer, int block) {
        return linearUnits(option, option, size, producer, consumer, block);
    }

    /** Units of linear layer {@code producer} ({@code [out, in]} weight and bias), read by {@code consumer}. */
    private static ChannelGroup linearUnits(String name, String option, int size, String producer, String consumer, int block) {
        return new ChannelGroup(name, option, size, List.of(
                Member.of(producer + ".weight", 0, Role.SOURCE),
                Member.of(producer + ".bias", 0, Role.FOLLOWER),
                new Member(consumer + ".weight", 1, block, Role.CONSUMER)));
    }

    /** Filters of a conv, batch-norm, ReLU, pool block ({@code block.0} the conv, {@code block.1} the norm). */
    private static ChannelGroup convBlockChannels(String option, int size, String block, String consumerWeight, int consumerBlock) {
        List<Member> members = new ArrayList<>();
        members.add(Member.of(block + ".0.weight", 0, Role.SOURCE));
        members.addAll(batchNormFollowers(block + ".1"));
        members.add(new Member(consumerWeight, 1, consumerBlock, Role.CONSUMER));
        return new ChannelGroup(option, size, members);
    }
}
