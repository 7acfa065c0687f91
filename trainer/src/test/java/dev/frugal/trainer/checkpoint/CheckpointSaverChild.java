package dev.frugal.trainer.checkpoint;

import dev.frugal.runtime.DType;
import dev.frugal.runtime.Shape;
import dev.frugal.runtime.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The child process of {@link CheckpointKillTest}: saves large checkpoints in a loop until it is
 * killed. Every element of checkpoint {@code s}'s tensors equals {@code s}, so the parent can tell
 * a complete checkpoint from a torn one. Prints {@code saved <step>} after each save returns.
 */
final class CheckpointSaverChild {
    private CheckpointSaverChild() {
    }

    /**
     * Arguments: store root, first step, elements per tensor.
     *
     * @param args the arguments
     * @throws Exception on any failure (the parent then sees no progress and fails)
     */
    public static void main(String[] args) throws Exception {
        CheckpointStore store = new CheckpointStore(Path.of(args[0]));
        long step = Long.parseLong(args[1]);
        int elements = Integer.parseInt(args[2]);
        try (Tensor weight = Tensor.zeros(Shape.of(elements), DType.F32); Tensor moment = Tensor.zeros(Shape.of(elements), DType.F64)) {
            while (true) {
                fill(weight.segment(), ValueLayout.JAVA_FLOAT, elements, step);
                fill(moment.segment(), ValueLayout.JAVA_DOUBLE, elements, step);
                SequencedMap<String, Tensor> model = new LinkedHashMap<>();
                model.put("w", weight);
                SequencedMap<String, Tensor> optimizer = new LinkedHashMap<>();
                optimizer.put("m", moment);
                store.save(new Checkpoint(step, 0, model, optimizer, new long[] {step, -step}, Map.of("step", Long.toString(step))));
                // keep the disk use bounded however long the parent lets this run
                store.prune(2);
                System.out.println("saved " + step);
                System.out.flush();
                step++;
            }
        }
    }

    private static void fill(MemorySegment seg, ValueLayout layout, int n, long value) {
        for (int i = 0; i < n; i++) {
            if (layout == ValueLayout.JAVA_FLOAT) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
            } else {
                seg.setAtIndex(ValueLayout.JAVA_DOUBLE, i, value);
            }
        }
    }
}
