package dev.frugal.trainer;

import dev.frugal.cuda.CudaDiscovery;
import dev.frugal.cuda.CudaException;
import dev.frugal.memory.AllocatorConfig;
import dev.frugal.runtime.Device;
import dev.frugal.runtime.cuda.CudaBackend;
import dev.frugal.runtime.cuda.DriverDeviceApi;
import dev.frugal.runtime.exec.Executor;
import java.util.function.Consumer;

/**
 * The device a run trains on, chosen from {@code --device}: {@code cpu}; {@code cuda} or
 * {@code cuda:N}, a GPU through the {@link CudaBackend} (an error naming what is missing when it
 * cannot be opened); or {@code auto}, the first GPU when one is present and opens, else the CPU
 * (saying why). Closing it closes the GPU backend, after the programs compiled on it.
 */
public final class TrainingDevice implements AutoCloseable {
    private final Device device;
    private final CudaBackend cuda;
    private final String note;

    private TrainingDevice(Device device, CudaBackend cuda, String note) {
        this.device = device;
        this.cuda = cuda;
        this.note = note;
    }

    /**
     * Opens the device {@code spec} names.
     *
     * @param spec         {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}
     * @param memoryBudget the device memory budget in bytes, or at most 0 for none (a GPU's
     *                     memory manager refuses allocations beyond it)
     * @param log          where {@code auto} says which device it chose and why
     * @throws IllegalArgumentException for an unknown spec, or a GPU that cannot be opened (the
     *                                  message says what is missing)
     */
    public static TrainingDevice open(String spec, long memoryBudget, Consumer<String> log) {
        long limit = memoryBudget > 0 ? memoryBudget : AllocatorConfig.UNLIMITED;
        if (spec.equals("auto")) {
            String why;
            try {
                if (CudaDiscovery.report().devices().isEmpty()) {
                    why = "no CUDA GPU found";
                } else {
                    TrainingDevice d = cuda(0, limit, "auto: the first CUDA GPU");
                    log.accept("device: " + d.describe() + " (auto)");
                    return d;
                }
            } catch (CudaException | UnsupportedOperationException | LinkageError e) {
                why = "the GPU could not be opened: " + e.getMessage();
            }
            log.accept("device: cpu (auto: " + why + ")");
            return new TrainingDevice(Device.CPU, null, "auto: " + why);
        }
        Device d;
        try {
            d = Device.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--device " + spec + ": expected auto, cpu, cuda or cuda:N");
        }
        if (d.kind() == Device.Kind.CPU) {
            return new TrainingDevice(Device.CPU, null, null);
        }
        try {
            return cuda(d.index(), limit, null);
        } catch (CudaException | UnsupportedOperationException | LinkageError e) {
            throw new IllegalArgumentException("--device " + spec + ": cannot open the GPU: " + e.getMessage()
                    + " (frugal devices lists what the driver and libraries report; --device cpu trains without one)", e);
        }
    }

    private static TrainingDevice cuda(int ordinal, long limit, String note) {
        return new TrainingDevice(Device.cuda(ordinal), new CudaBackend(DriverDeviceApi.open(ordinal, limit)), note);
    }

    /** The device, e.g. {@code cpu} or {@code cuda:0}. */
    public Device device() {
        return device;
    }

    /** Whether runs go to a GPU. */
    public boolean isCuda() {
        return cuda != null;
    }

    /** {@code cpu}, or {@code cuda:0 (NVIDIA ... (sm_90))}. */
    public String describe() {
        return cuda == null ? "cpu" : device + " (" + cuda.deviceApi().description() + ")";
    }

    /** Why {@code auto} chose what it chose; null for an explicit device. */
    public String note() {
        return note;
    }

    /**
     * The executor of programs on the GPU (its memory budget is the device memory manager's
     * limit); null on the CPU, where the trainer plans host memory of its own under a budget.
     */
    public Executor gpuExecutor() {
        return cuda == null ? null : new Executor(cuda);
    }

    /** The GPU backend; null on the CPU. */
    public CudaBackend backend() {
        return cuda;
    }

    @Override
    public void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @Override
    public String toString() {
        return describe();
    }
}
