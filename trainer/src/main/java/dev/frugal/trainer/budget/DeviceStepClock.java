package dev.frugal.trainer.budget;

import dev.frugal.runtime.cuda.DeviceApi;

/**
 * GPU time of the training steps, measured with CUDA events: a mark is recorded on the compute
 * stream before and after each step, and the time between them is added once the step's loss has
 * come back (so reading the events never waits longer than the step itself). What
 * {@code summary.json} reports as {@code device_seconds} on a GPU.
 */
public final class DeviceStepClock {
    private final DeviceApi device;
    private double seconds;
    private DeviceApi.Mark start;

    /** A clock over {@code device}'s compute stream. */
    public DeviceStepClock(DeviceApi device) {
        this.device = device;
    }

    /** Marks the start of a step (before its work is queued). */
    public void begin() {
        if (start != null) {
            start.close();
        }
        start = device.mark();
    }

    /** Marks the end of the step begun last and adds its device time. */
    public void end() {
        if (start == null) {
            return;
        }
        try (DeviceApi.Mark end = device.mark()) {
            seconds += start.millisTo(end) / 1e3;
        } finally {
            start.close();
            start = null;
        }
    }

    /** Device seconds of the steps timed so far. */
    public double seconds() {
        return seconds;
    }
}
