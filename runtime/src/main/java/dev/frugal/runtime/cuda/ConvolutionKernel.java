package dev.frugal.runtime.cuda;

import dev.frugal.memory.Allocation;
import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Node;
import dev.frugal.runtime.graph.OpAttrs;

/**
 * CONV2D and its two gradients on cuDNN. The algorithm is chosen when the kernel is prepared
 * (the device caches the choice per shape) and its workspace is allocated then, from the device's
 * caching allocator, and held until the kernel closes, so a run allocates nothing.
 */
final class ConvolutionKernel implements Kernel {
    private final DeviceApi.Convolution convolution;
    private final int first;
    private final int second;
    private final int out;
    private final Allocation workspace;

    private ConvolutionKernel(DeviceApi.Convolution convolution, int first, int second, int out, Allocation workspace) {
        this.convolution = convolution;
        this.first = first;
        this.second = second;
        this.out = out;
        this.workspace = workspace;
    }

    /** The convolution of a CONV2D, CONV2D_GRAD_INPUT or CONV2D_GRAD_WEIGHT node. */
    static ConvolutionKernel prepare(DeviceApi device, Node node, int[] in, int outSlot) {
        ConvolutionCall call = callOf(node);
        DeviceApi.Convolution c = device.convolution(call);
        Allocation ws = c.workspaceBytes() > 0 ? device.memory().allocate(c.workspaceBytes(), device.computeStream(), "workspace") : null;
        return new ConvolutionKernel(c, in[0], in[1], outSlot, ws);
    }

    /** The cuDNN call a convolution node makes: its operands are the node's inputs in order. */
    static ConvolutionCall callOf(Node node) {
        OpAttrs.Conv2d g = node.attrs(OpAttrs.Conv2d.class);
        int[] a = node.input(0).shape().dims();
        int[] b = node.input(1).shape().dims();
        int[] o = node.output().shape().dims();
        return switch (node.op()) {
            case CONV2D -> new ConvolutionCall(ConvolutionCall.Kind.FORWARD, node.output().dtype(), a, b, o, g);
            case CONV2D_GRAD_INPUT -> new ConvolutionCall(ConvolutionCall.Kind.BACKWARD_DATA, node.output().dtype(), o, b, a, g);
            case CONV2D_GRAD_WEIGHT -> new ConvolutionCall(ConvolutionCall.Kind.BACKWARD_FILTER, node.output().dtype(), a, o, b, g);
            default -> throw new IllegalArgumentException("not a convolution: " + node);
        };
    }

    @Override
    public void run(Buffer[] slots) {
        convolution.run(CudaBuffer.address(slots, first), CudaBuffer.address(slots, second), CudaBuffer.address(slots, out),
                workspace == null ? 0 : workspace.address());
    }

    @Override
    public long workspaceBytes() {
        return workspace == null ? 0 : workspace.size();
    }

    @Override
    public void close() {
        if (workspace != null && workspace.isLive()) {
            workspace.close();
        }
    }
}
