package dev.frugal.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code frugal} command line: the top-level command and its subcommands. Run through the
 * {@code ./frugal} launcher at the repository root, which finds a JDK 25 and builds the jar.
 */
@Command(name = "frugal",
        mixinStandardHelpOptions = true,
        versionProvider = FrugalVersion.class,
        description = "Frugal: train compact models fast on one NVIDIA GPU, or correctly on a CPU.",
        subcommands = {TrainCommand.class, PlanCommand.class, EvalCommand.class, SampleCommand.class, DevicesCommand.class, ModelsCommand.class, BenchCommand.class,
                ReportCommand.class, CompareCommand.class, ExportCommand.class, QuantizeCommand.class, KernelsCommand.class,
                CommandLine.HelpCommand.class})
public final class FrugalCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Without a subcommand, print the usage. */
    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Entry point of frugal.jar. */
    public static void main(String[] args) {
        // This JVM was started for this one command: its start is the command's start.
        launchedAt = System.nanoTime() - java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() * 1_000_000L;
        System.exit(newCommandLine().execute(args));
    }

    /** {@link System#nanoTime()} when the JVM of a command-line run started; 0 when embedded (tests, services). */
    private static volatile long launchedAt;

    /**
     * When the command being run started, in {@link System#nanoTime()}'s terms: the JVM's start
     * when {@link #main} started it for the command, else {@code fallback} (the command object's
     * creation, for an embedded command line).
     */
    static long commandStart(long fallback) {
        long l = launchedAt;
        return l != 0 ? l : fallback;
    }

    /** The configured command line (also used by tests). */
    public static CommandLine newCommandLine() {
        CommandLine cli = new CommandLine(new FrugalCommand());
        // Bad input gets one clear line, not a stack trace; --debug-style traces come from FRUGAL_DEBUG.
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("frugal " + commandLine.getCommandName() + ": " + ex.getMessage());
            if (System.getenv("FRUGAL_DEBUG") != null) {
                ex.printStackTrace(commandLine.getErr());
            }
            return 2;
        });
        return cli;
    }
}
