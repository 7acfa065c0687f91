package dev.frugal.runtime.cuda;

import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of one generated kernel, specialised to its shapes: a fused group or an elementwise
 * node ({@link ElementwiseCodegen}), a reduction, a copy or index op, a pooling op, an argmax or a
 * random draw (the other generators in this package). The kernel's parameters are the
 * {@link #inputs()}' device pointers, then the {@link #outputs()}', in order; it loops over
 * {@link #elements()} work items with a grid stride, so any grid covers them. A kernel whose
 * {@link #blockThreads()} is 0 computes one item per thread (any block size); otherwise one block
 * of exactly that many threads computes each item (a reduction's output, a row of a row-wise op,
 * an attention slice), cooperating through shared memory.
 *
 * @param name     the {@code extern "C"} kernel name, derived from the body's text
 * @param body     the kernel's CUDA C without the shared prelude ({@link #source()} adds it)
 * @param inputs   the values read, one pointer parameter each
 * @param outputs  the values written, one pointer parameter each, after the inputs
 * @param elements     work items: output elements (output rows for a reduction)
 * @param blockThreads 0 for one item per thread; else the threads of the one block per item
 */
public record GeneratedKernel(String name, String body, List<Value> inputs, List<Value> outputs, long elements, int blockThreads) {
    /** Copies the lists. */
    public GeneratedKernel {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (blockThreads < 0 || blockThreads > 1024) {
            throw new IllegalArgumentException("blockThreads must be 0 or a CUDA block size (1..1024), got " + blockThreads);
        }
    }

    /** Whether one block computes each work item ({@link #blockThreads()} threads cooperating). */
    public boolean blockPerItem() {
        return blockThreads > 0;
    }

    /** The complete CUDA C translation unit: the shared prelude, then the body. */
    public String source() {
        return ElementwiseCodegen.PRELUDE + "\n" + body;
    }

    /**
     * The name of the host-callable function computing one work item: {@code NAME_element(i, in..., out...)}.
     * Tests compile the source on the host and call it for every {@code i}, to check the generated
     * arithmetic without a GPU.
     */
    public String elementFunction() {
        return name + "_element";
    }
}
