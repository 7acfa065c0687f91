package dev.frugal.cli;

import dev.frugal.trainer.report.RunComparison;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code frugal compare RUN_DIR... [--output FILE]}: several runs on the same axes, in one HTML
 * page (see {@link RunComparison}), and prints where it is.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Compare runs: their summaries side by side and their curves on the same axes, in one HTML page.")
public final class CompareCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", arity = "1..*", description = "Run directories written by frugal train.")
    List<Path> runDirs;
    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "The page to write (default: ${DEFAULT-VALUE}); the plots go beside it, in FILE-plots/.")
    Path output = Path.of(RunComparison.DEFAULT_FILE);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The command; picocli fills in the options. */
    public CompareCommand() {
    }

    /** Writes the comparison and prints its path; exit 0. */
    @Override
    public Integer call() throws Exception {
        Path html = RunComparison.write(runDirs, output);
        PrintWriter out = spec.commandLine().getOut();
        out.println(html);
        out.flush();
        return 0;
    }
}
