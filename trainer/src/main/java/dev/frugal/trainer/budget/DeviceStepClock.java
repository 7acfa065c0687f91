package dev.frugal.trainer.budget;

import dev.frugal.runtime.cuda.DeviceApi;
import java.util.ArrayList;
import java.util.List;

/**
 * GPU time of the training steps, measured with CUDA events: a mark is recorded on the compute
 * stream before and after each step, and the time between them is added when the clock is read
 * ({@link #seconds()}), which the trainer does after reading a loss back, when the marks have
 * passed: recording a mark never waits for the device, so steps queued without reading their loss
 * stay asynchronous. What {@code summary.json} reports as {@code device_seconds} on a GPU.
 */
public final class DeviceStepClock implements AutoCloseable {
    private final DeviceApi device;
    /** Steps marked but not yet added: their start and end marks. */
    private final List<DeviceApi.Mark[]> pending = new ArrayList<>();
    private double seconds;
    private DeviceApi.Mark start;

    /** A clock over {@code device}'s compute stream. */
    public DeviceStepClock(DeviceApi device) {
        this.device = device;
    }

    /** Marks the start of a step (before its work is queued). */
    public void begin() {
        if (start != null) {
            start.close(); // a step that failed before its end
        }
        start = device.mark();
    }

    /** Marks the end of the step begun last; its time is added at the next {@link #seconds()}. */
    public void end() {
        if (start == null) {
            return;
        }
        DeviceApi.Mark end;
        try {
            end = device.mark();
        } catch (RuntimeException | Error e) {
            start.close();
            start = null;
            throw e;
        }
        pending.add(new DeviceApi.Mark[] {start, end});
        start = null;
    }

    /** Device seconds of the steps marked so far (waits for the last one's end on the device). */
    public double seconds() {
        try {
            for (DeviceApi.Mark[] step : pending) {
                seconds += step[0].millisTo(step[1]) / 1e3;
            }
        } finally {
            closePending();
        }
        return seconds;
    }

    private void closePending() {
        for (DeviceApi.Mark[] step : pending) {
            step[0].close();
            step[1].close();
        }
        pending.clear();
    }

    /** Releases the marks not read yet (their steps are not counted). */
    @Override
    public void close() {
        closePending();
        if (start != null) {
            start.close();
            start = null;
        }
    }
}
