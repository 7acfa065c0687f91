package dev.frugal.runtime.cuda;

import dev.frugal.runtime.graph.Value;
import java.util.List;

/**
 * The CUDA C of one elementwise kernel: a fused group or a single elementwise node, specialised to
 * its shapes ({@link ElementwiseCodegen}). The kernel's parameters are the {@link #inputs()}'
 * device pointers, then the {@link #outputs()}', in order; it runs a grid-stride loop over
 * {@link #elements()} output elements, so any grid covers it.
 *
 * @param name     the {@code extern "C"} kernel name, derived from the body's text
 * @param body     the kernel's CUDA C without the shared prelude ({@link #source()} adds it)
 * @param inputs   the values read, one pointer parameter each
 * @param outputs  the values written, one pointer parameter each, after the inputs
 * @param elements elements of the output
 */
public record ElementwiseKernel(String name, String body, List<Value> inputs, List<Value> outputs, long elements) {
    /** Copies the lists. */
    public ElementwiseKernel {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** The complete CUDA C translation unit: the shared prelude, then the body. */
    public String source() {
        return ElementwiseCodegen.PRELUDE + "\n" + body;
    }

    /**
     * The name of the host-callable function computing one element: {@code NAME_element(i, in..., out...)}.
     * Tests compile the source on the host and call it for every {@code i}, to check the generated
     * arithmetic without a GPU.
     */
    public String elementFunction() {
        return name + "_element";
    }
}
