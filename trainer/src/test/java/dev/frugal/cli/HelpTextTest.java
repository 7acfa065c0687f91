package dev.frugal.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every command's {@code --help} renders cleanly: picocli formats descriptions with
 * {@code String.format}, so a bare {@code %} in an option's text (as in {@code warmup=P%}) makes
 * it print a warning and the raw text instead.
 */
class HelpTextTest {
    @Test
    void everyCommandsHelpRendersWithoutFormatWarnings() {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            CommandLine cli = FrugalCommand.newCommandLine();
            String top = cli.getUsageMessage();
            assertTrue(top.contains("train"), top);
            for (CommandLine sub : cli.getSubcommands().values()) {
                String usage = sub.getUsageMessage();
                assertTrue(usage.contains("Usage:"), usage);
            }
        } finally {
            System.setErr(saved);
        }
        String warnings = captured.toString(StandardCharsets.UTF_8);
        assertFalse(warnings.contains("picocli WARN"), warnings);
    }
}
