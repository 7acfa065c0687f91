package dev.frugal.runtime.cuda;

import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;
import dev.frugal.runtime.graph.Value;
import java.util.List;
import java.util.Map;

/**
 * A prepared launch of one {@link GeneratedKernel}: its arguments are the device addresses of
 * the buffers in its slots (read on every run, since checkpoint recomputation and rebinding move
 * slots between buffers), launched on a grid sized once at prepare time.
 */
final class GeneratedKernelCall implements Kernel {
    /** Threads per block for kernels that compute one item per thread. */
    static final int ITEM_THREADS = 256;
    /** Blocks per multiprocessor a grid-stride kernel's grid is capped at: enough waves to hide latency. */
    static final int BLOCKS_PER_MULTIPROCESSOR = 32;

    private final DeviceApi device;
    private final DeviceApi.LoadedKernel loaded;
    private final int[] argumentSlots;
    private final long[] pointers;
    private final int blocks;
    private final int threads;

    private GeneratedKernelCall(DeviceApi device, DeviceApi.LoadedKernel loaded, int[] argumentSlots, int blocks, int threads) {
        this.device = device;
        this.loaded = loaded;
        this.argumentSlots = argumentSlots;
        this.pointers = new long[argumentSlots.length];
        this.blocks = blocks;
        this.threads = threads;
    }

    /**
     * Loads {@code kernel} on {@code device} and maps its parameters to slots.
     *
     * @param slotOf the slot of every value the kernel reads or writes
     */
    static GeneratedKernelCall of(DeviceApi device, GeneratedKernel kernel, Map<Value, Integer> slotOf) {
        List<Value> params = new java.util.ArrayList<>(kernel.inputs());
        params.addAll(kernel.outputs());
        int[] slots = new int[params.size()];
        for (int i = 0; i < slots.length; i++) {
            Integer slot = slotOf.get(params.get(i));
            if (slot == null) {
                throw new IllegalStateException("kernel " + kernel.name() + " reads or writes " + params.get(i) + ", which has no slot");
            }
            slots[i] = slot;
        }
        int threads = kernel.blockPerItem() ? kernel.blockThreads() : ITEM_THREADS;
        return new GeneratedKernelCall(device, device.load(kernel), slots, gridBlocks(kernel, device.multiprocessors()), threads);
    }

    /**
     * Blocks to launch: one per item for a block-per-item kernel, one per {@link #ITEM_THREADS}
     * items otherwise, capped at a few waves over the multiprocessors (every kernel loops with a
     * grid stride, so a smaller grid still covers all items); 0 when there is no work.
     */
    static int gridBlocks(GeneratedKernel kernel, int multiprocessors) {
        long items = kernel.elements();
        long wanted = kernel.blockPerItem() ? items : (items + ITEM_THREADS - 1) / ITEM_THREADS;
        long cap = (long) Math.max(1, multiprocessors) * BLOCKS_PER_MULTIPROCESSOR;
        return (int) Math.min(wanted, cap);
    }

    /** The kernel's name. */
    String name() {
        return loaded.name();
    }

    @Override
    public void run(Buffer[] slots) {
        if (blocks == 0) {
            return;
        }
        for (int i = 0; i < argumentSlots.length; i++) {
            pointers[i] = CudaBuffer.address(slots, argumentSlots[i]);
        }
        device.launch(loaded, blocks, threads, pointers);
    }

    @Override
    public String toString() {
        return "launch " + loaded.name() + " <<<" + blocks + ", " + threads + ">>>";
    }
}
