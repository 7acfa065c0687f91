package dev.frugal.models.zoo;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Physically removes channels from a zoo model: builds the smaller model of
 * {@link PrunableChannels#prunedSpec} and copies into it the kept slices of every variable a
 * channel group indexes (and every other variable whole). The result computes what the source
 * computes when the removed channels' sources and followers are zero, which is how pruning masks
 * them during training.
 */
public final class ChannelSurgery {
    private ChannelSurgery() {
    }

    /**
     * The model with only the kept channels.
     *
     * @param source an initialised model listed by {@link PrunableChannels}
     * @param kept   per group option, the channel indices to keep (ascending, distinct, at least one)
     * @param seed   the seed the new model is initialised with before the copy (it matters only
     *               for what is not copied: nothing, for the zoo's models)
     * @return a new initialised model; the caller closes it
     * @throws IllegalArgumentException for a missing group, bad indices, or a variable that is not float32
     */
    public static Model keep(Model source, Map<String, int[]> kept, long seed) {
        List<ChannelGroup> groups = PrunableChannels.of(source.spec());
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, List<Selection>> selections = new LinkedHashMap<>();
        for (ChannelGroup g : groups) {
            int[] idx = kept.get(g.name());
            checkIndices(g, idx);
            counts.put(g.name(), idx.length);
            for (ChannelGroup.Member m : g.members()) {
                selections.computeIfAbsent(m.variable(), k -> new ArrayList<>()).add(new Selection(m.axis(), m.block(), idx));
            }
        }
        ModelSpec spec = PrunableChannels.prunedSpec(source.spec(), counts);
        Map<String, Tensor> sliced = new LinkedHashMap<>();
        Model pruned = ModelZoo.create(spec.toString(), seed);
        try {
            for (Map.Entry<String, Tensor> e : source.module().state().entrySet()) {
                Tensor t = e.getValue();
                for (Selection s : selections.getOrDefault(e.getKey(), List.of())) {
                    Tensor next = select(e.getKey(), t, s);
                    if (t != e.getValue()) {
                        t.close();
                    }
                    t = next;
                }
                sliced.put(e.getKey(), t);
            }
            pruned.module().loadState(sliced);
            return pruned;
        } catch (RuntimeException | Error e) {
            pruned.close();
            throw e;
        } finally {
            Map<String, Tensor> original = source.module().state();
            sliced.forEach((name, t) -> {
                if (t != original.get(name)) {
                    t.close();
                }
            });
        }
    }

    /** Keep {@code indices} (each {@code block} elements wide) along {@code axis}. */
    private record Selection(int axis, int block, int[] indices) {
    }

    private static void checkIndices(ChannelGroup g, int[] idx) {
        if (idx == null || idx.length == 0) {
            throw new IllegalArgumentException("channel group " + g.name() + ": no kept channels given; at least one must stay");
        }
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= g.size() || (i > 0 && idx[i] <= idx[i - 1])) {
                throw new IllegalArgumentException("channel group " + g.name() + ": kept channels " + Arrays.toString(idx)
                        + ", expected ascending distinct indices in 0.." + (g.size() - 1));
            }
        }
    }

    /** A contiguous copy of {@code t} with only the selected slices along the selection's axis. */
    private static Tensor select(String name, Tensor t, Selection s) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException("channel surgery: variable " + name + " is " + t.dtype() + ", expected F32");
        }
        int[] dims = t.shape().dims();
        if (s.axis() >= dims.length || dims[s.axis()] % s.block() != 0) {
            throw new IllegalArgumentException("channel surgery: variable " + name + " of shape " + t.shape() + " has no axis "
                    + s.axis() + " of whole " + s.block() + "-element channels");
        }
        float[] src = t.toFloatArray(); // in logical order, whatever the strides
        long outer = 1;
        for (int i = 0; i < s.axis(); i++) {
            outer *= dims[i];
        }
        long inner = 1;
        for (int i = s.axis() + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        int axisLen = dims[s.axis()];
        int keptLen = s.indices().length * s.block();
        float[] dst = new float[(int) (outer * keptLen * inner)];
        int w = 0;
        for (long o = 0; o < outer; o++) {
            for (int c : s.indices()) {
                for (int b = 0; b < s.block(); b++) {
                    long from = (o * axisLen + (long) c * s.block() + b) * inner;
                    System.arraycopy(src, (int) from, dst, w, (int) inner);
                    w += (int) inner;
                }
            }
        }
        int[] newDims = dims.clone();
        newDims[s.axis()] = keptLen;
        return Tensor.of(dst, newDims);
    }
}
