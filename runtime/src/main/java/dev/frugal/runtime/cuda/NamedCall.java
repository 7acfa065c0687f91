package dev.frugal.runtime.cuda;

import dev.frugal.runtime.exec.Buffer;
import dev.frugal.runtime.exec.Kernel;

/**
 * A prepared call that names its op to the device before queuing its work
 * ({@link DeviceApi#nameCalls}), so a kernel failure the device reports at a later wait says
 * which op, and where it was traced, launched the failing kernel: the kernel names alone
 * ({@code fused_3f2a...}) do not tell a user which layer broke.
 */
final class NamedCall implements Kernel {
    private final DeviceApi device;
    private final Kernel call;
    private final String op;

    /**
     * @param op e.g. {@code matmul %42 traced at Linear.forward(Linear.java:57)}
     */
    NamedCall(DeviceApi device, Kernel call, String op) {
        this.device = device;
        this.call = call;
        this.op = op;
    }

    @Override
    public void run(Buffer[] slots) {
        device.nameCalls(op);
        call.run(slots);
    }

    @Override
    public long workspaceBytes() {
        return call.workspaceBytes();
    }

    @Override
    public void close() {
        call.close();
    }

    @Override
    public String toString() {
        return op;
    }
}
