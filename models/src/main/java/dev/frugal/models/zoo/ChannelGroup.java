package dev.frugal.models.zoo;

import java.util.List;

/**
 * Channels that structured pruning keeps or removes together: the output channels of one layer
 * (a convolution's filters, a linear layer's units) with every tensor indexed by them. Removing
 * channel {@code c} removes slice {@code c} of each member along the member's axis; for a
 * {@link Role#CONSUMER} flattened from a feature map, slice {@code c} is the {@code block}
 * consecutive elements {@code c*block .. c*block+block-1} (a linear layer reading {@code C x 7 x 7}
 * features has {@code block = 49}).
 *
 * <p>A group's size is set by a model option, so the pruned model is the same zoo model with that
 * option lowered ({@link PrunableChannels#prunedSpec}). Several groups may share an option (every
 * deep-mlp block's inner units are {@code hidden}); structured pruning removes the same share of
 * each group, so they keep the same count of channels, though not the same channels.
 *
 * @param name    the group's name, unique in its model: its option when no other group shares it,
 *                else the layer's name, e.g. {@code blocks.3.hidden}
 * @param option  the model option giving the group's size, e.g. {@code channels1}
 * @param size    the number of channels in the group for the spec it was declared for
 * @param members the tensors indexed by the group's channels, sources first
 */
public record ChannelGroup(String name, String option, int size, List<Member> members) {
    /** What a member does with the group's channels. */
    public enum Role {
        /** Produces the channels (a filter or unit per channel): its norms rank them, and pruning zeroes it. */
        SOURCE,
        /** Indexed by the channels after the source (bias, batch-norm scale and shift, running statistics): zeroed with it. */
        FOLLOWER,
        /** Reads the channels as input (the next layer's weight along its input axis): only sliced when channels are removed. */
        CONSUMER
    }

    /**
     * One tensor of a group.
     *
     * @param variable the variable's full name, e.g. {@code block1.0.weight}
     * @param axis     the axis the channels index
     * @param block    elements per channel along that axis (1, or the spatial size of a flattened feature map)
     * @param role     what the member does with the channels
     */
    public record Member(String variable, int axis, int block, Role role) {
        /** Checks the axis and block. */
        public Member {
            if (axis < 0 || block < 1) {
                throw new IllegalArgumentException("channel group member " + variable + ": axis " + axis + " and block " + block
                        + ", expected axis >= 0 and block >= 1");
            }
        }

        /** A member with one element per channel along {@code axis}. */
        public static Member of(String variable, int axis, Role role) {
            return new Member(variable, axis, 1, role);
        }
    }

    /** Copies the members and checks there is at least one source. */
    public ChannelGroup {
        members = List.copyOf(members);
        if (size < 1) {
            throw new IllegalArgumentException("channel group " + name + ": size " + size + ", expected at least 1");
        }
        if (members.stream().noneMatch(m -> m.role() == Role.SOURCE)) {
            throw new IllegalArgumentException("channel group " + name + " has no source member");
        }
    }

    /** A group named by the option that sets its size (no other group shares it). */
    public ChannelGroup(String option, int size, List<Member> members) {
        this(option, option, size, members);
    }

    /** The members with this role, in declaration order. */
    public List<Member> members(Role role) {
        return members.stream().filter(m -> m.role() == role).toList();
    }
}
