package dev.frugal.cli;

import dev.frugal.trainer.report.RunReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code frugal report RUN_DIR}: writes the run's {@code report.html} with its plots (see
 * {@link RunReport}) and prints where it is.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write RUN_DIR/report.html: the run's summary and plots (loss, accuracy, learning rate, memory, throughput).")
public final class ReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "A run directory written by frugal train.")
    Path runDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public ReportCommand() {
    }

    /** Writes the report and prints its path; exit 0. */
    @Override
    public Integer call() throws Exception {
        Path html = RunReport.write(runDir);
        PrintWriter out = spec.commandLine().getOut();
        out.println(html);
        out.flush();
        return 0;
    }
}
