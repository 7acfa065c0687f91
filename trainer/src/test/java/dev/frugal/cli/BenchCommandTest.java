package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code frugal bench}: runs the real executor and prints one positive rate per benchmark; rejects bad options. */
class BenchCommandTest {

    private static final Pattern ROW = Pattern.compile("^(matmul|conv2d).*?\\s+([0-9.]+)\\s+([0-9.]+)$", Pattern.MULTILINE);

    @Test
    void printsOnePositiveRatePerBenchmark() {
        StringWriter out = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setOut(new PrintWriter(out));
        int code = cli.execute("bench", "--size", "64", "--warmup", "2", "--repeat", "3");
        assertEquals(0, code, out::toString);
        Matcher m = ROW.matcher(out.toString());
        int rows = 0;
        while (m.find()) {
            rows++;
            assertTrue(Double.parseDouble(m.group(2)) > 0 && Double.parseDouble(m.group(3)) > 0, m.group());
        }
        assertEquals(4, rows, out::toString);
        assertTrue(out.toString().contains("matmul f32 64x64x64"), out::toString);
    }

    @Test
    void rejectsANonPositiveRepeatCountWithOneClearLine() {
        StringWriter err = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("bench", "--repeat", "0");
        assertEquals(2, code);
        assertTrue(err.toString().startsWith("frugal bench: --warmup must be >= 0, --repeat >= 1"), err::toString);
        assertEquals(1, err.toString().strip().lines().count(), err::toString);
    }
}
