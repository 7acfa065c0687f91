package dev.frugal.cli;

import dev.frugal.models.zoo.Model;
import dev.frugal.trainer.config.ConfigFiles;
import dev.frugal.trainer.config.TrainConfig;
import dev.frugal.trainer.export.OnnxExporter;
import dev.frugal.trainer.run.RunDirectory;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code frugal export RUN_DIR --format onnx}: rebuilds the run's model from its
 * {@code config.json}, loads the latest checkpoint's weights and writes the model's inference
 * graph (eval mode, dynamic batch) as a standard ONNX model, atomically.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export the latest checkpoint of a run directory as an ONNX model (eval mode, dynamic batch size).")
public final class ExportCommand implements Callable<Integer> {
    /** The default file name, inside the run directory. */
    public static final String DEFAULT_FILE = "model.onnx";

    @Parameters(paramLabel = "RUN_DIR", description = "A run directory written by frugal train.")
    Path runDir;
    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "onnx", description = "The export format: onnx (default: ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--output", paramLabel = "FILE", description = "Where to write the model (default: RUN_DIR/" + DEFAULT_FILE + ").")
    Path output;
    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public ExportCommand() {
    }

    /** Exports and prints one line; exit 0. */
    @Override
    public Integer call() throws Exception {
        try {
            return export();
        } catch (Exception e) {
            if (verbose) {
                e.printStackTrace(spec.commandLine().getErr());
            }
            throw e;
        }
    }

    private int export() throws Exception {
        if (!format.toLowerCase(Locale.ROOT).equals("onnx")) {
            throw new IllegalArgumentException("unknown --format '" + format + "'; expected onnx");
        }
        Path configFile = runDir.resolve(RunDirectory.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException(runDir + " has no " + RunDirectory.CONFIG_FILE + "; expected a run directory of frugal train");
        }
        TrainConfig cfg = ConfigFiles.load(configFile);
        if (cfg.textDataset()) {
            throw new IllegalArgumentException("ONNX export of language models is not supported (" + cfg.model() + "); it covers the image models");
        }
        Path target = output != null ? output : runDir.resolve(DEFAULT_FILE);
        // a structured-pruning run exports its smaller model
        RunModel run = RunModel.load(runDir, cfg);
        try (Model m = run.model()) {
            OnnxExporter.write(m.module(), m.inputShape(), m.inputDType(), m.name(), target);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "%s step %d: wrote %s (ONNX opset %d, %d bytes, dynamic batch)%n", run.label(), run.step(), target,
                    dev.frugal.trainer.export.OnnxGraphBuilder.OPSET, Files.size(target));
            out.flush();
        }
        return 0;
    }
}
