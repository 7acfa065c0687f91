package dev.frugal.trainer.report;

import java.util.List;

/**
 * One plot: curves read from metrics records, drawn against one x field.
 *
 * @param file the PNG's file name
 * @param title the plot's title
 * @param xField the x field of the records ({@code step}, {@code wall_seconds}, ...)
 * @param xName the x axis's name, without unit
 * @param x what the x field measures
 * @param yName the y axis's name, without unit
 * @param y what the curves measure
 * @param curves the curves on the left axis
 * @param secondary a curve on a logarithmic right axis (the loss scale), or null
 * @param guardrails whether to mark the guardrail actions (only for an x of {@code step})
 */
record PlotSpec(String file, String title, String xField, String xName, Quantity x, String yName, Quantity y,
                List<Curve> curves, Curve secondary, boolean guardrails) {

    /** Where a curve's points come from. */
    enum Source {
        /** The {@code "step"} records. */
        STEPS,
        /** The {@code "eval"} records. */
        EVALS
    }

    /**
     * One curve.
     *
     * @param name its legend entry (a comparison names it by run instead)
     * @param source which records
     * @param field the y field of those records
     */
    record Curve(String name, Source source, String field) {
    }

    private static final Curve TRAIN_LOSS = new Curve("training loss", Source.STEPS, "loss");
    private static final Curve TEST_LOSS = new Curve("test loss", Source.EVALS, "test_loss");
    private static final Curve TEST_ACCURACY = new Curve("test accuracy", Source.EVALS, "test_accuracy");
    /** A language model's held-out loss; an image classifier's run has none, so the curve is left out. */
    private static final Curve VAL_LOSS = new Curve("validation loss", Source.EVALS, "val_loss");

    /** The plots of one run's report, in page order. */
    static final List<PlotSpec> REPORT = List.of(
        new PlotSpec("loss-step.png", "Loss by step", "step", "step", Quantity.COUNT, "loss", Quantity.PLAIN,
            List.of(TRAIN_LOSS, TEST_LOSS, VAL_LOSS), null, true),
        new PlotSpec("accuracy-step.png", "Test accuracy by step", "step", "step", Quantity.COUNT, "test accuracy", Quantity.FRACTION,
            List.of(TEST_ACCURACY), null, false),
        new PlotSpec("loss-wall.png", "Loss by wall time", "wall_seconds", "wall time", Quantity.SECONDS, "loss", Quantity.PLAIN,
            List.of(TRAIN_LOSS, TEST_LOSS, VAL_LOSS), null, false),
        new PlotSpec("accuracy-wall.png", "Test accuracy by wall time", "wall_seconds", "wall time", Quantity.SECONDS,
            "test accuracy", Quantity.FRACTION, List.of(TEST_ACCURACY), null, false),
        new PlotSpec("loss-energy.png", "Loss by energy", "energy_joules", "energy", Quantity.JOULES, "loss", Quantity.PLAIN,
            List.of(TRAIN_LOSS, TEST_LOSS, VAL_LOSS), null, false),
        new PlotSpec("accuracy-energy.png", "Test accuracy by energy", "energy_joules", "energy", Quantity.JOULES,
            "test accuracy", Quantity.FRACTION, List.of(TEST_ACCURACY), null, false),
        new PlotSpec("lr-step.png", "Learning rate by step", "step", "step", Quantity.COUNT, "learning rate", Quantity.PLAIN,
            List.of(new Curve("learning rate", Source.STEPS, "lr")), new Curve("loss scale", Source.STEPS, "loss_scale"), false),
        new PlotSpec("memory-step.png", "Memory by step", "step", "step", Quantity.COUNT, "memory", Quantity.BYTES,
            List.of(new Curve("device memory", Source.STEPS, "device_bytes"),
                new Curve("peak device memory", Source.STEPS, "peak_device_bytes"),
                new Curve("host memory", Source.STEPS, "host_bytes")), null, false),
        new PlotSpec("throughput-step.png", "Throughput by step", "step", "step", Quantity.COUNT, "throughput", Quantity.RATE,
            List.of(new Curve("throughput", Source.STEPS, "samples_per_second")), null, false));

    /** The plots of a comparison: one curve each, drawn once per run. */
    static final List<PlotSpec> COMPARISON = List.of(
        new PlotSpec("train-loss-step.png", "Training loss by step", "step", "step", Quantity.COUNT, "training loss", Quantity.PLAIN,
            List.of(TRAIN_LOSS), null, false),
        new PlotSpec("test-loss-step.png", "Test loss by step", "step", "step", Quantity.COUNT, "test loss", Quantity.PLAIN,
            List.of(TEST_LOSS), null, false),
        new PlotSpec("accuracy-step.png", "Test accuracy by step", "step", "step", Quantity.COUNT, "test accuracy", Quantity.FRACTION,
            List.of(TEST_ACCURACY), null, false),
        new PlotSpec("train-loss-wall.png", "Training loss by wall time", "wall_seconds", "wall time", Quantity.SECONDS,
            "training loss", Quantity.PLAIN, List.of(TRAIN_LOSS), null, false),
        new PlotSpec("accuracy-wall.png", "Test accuracy by wall time", "wall_seconds", "wall time", Quantity.SECONDS,
            "test accuracy", Quantity.FRACTION, List.of(TEST_ACCURACY), null, false),
        new PlotSpec("train-loss-energy.png", "Training loss by energy", "energy_joules", "energy", Quantity.JOULES,
            "training loss", Quantity.PLAIN, List.of(TRAIN_LOSS), null, false),
        new PlotSpec("accuracy-energy.png", "Test accuracy by energy", "energy_joules", "energy", Quantity.JOULES,
            "test accuracy", Quantity.FRACTION, List.of(TEST_ACCURACY), null, false),
        new PlotSpec("lr-step.png", "Learning rate by step", "step", "step", Quantity.COUNT, "learning rate", Quantity.PLAIN,
            List.of(new Curve("learning rate", Source.STEPS, "lr")), null, false),
        new PlotSpec("memory-step.png", "Device memory by step", "step", "step", Quantity.COUNT, "device memory", Quantity.BYTES,
            List.of(new Curve("device memory", Source.STEPS, "device_bytes")), null, false),
        new PlotSpec("throughput-step.png", "Throughput by step", "step", "step", Quantity.COUNT, "throughput", Quantity.RATE,
            List.of(new Curve("throughput", Source.STEPS, "samples_per_second")), null, false));
}
