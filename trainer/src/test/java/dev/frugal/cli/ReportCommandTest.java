package dev.frugal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.trainer.report.SyntheticRuns;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code frugal report} and {@code frugal compare} through the command line, on hand-written run directories. */
class ReportCommandTest {
    @TempDir
    Path tmp;

    /** Output, error text and exit code of one command. */
    record Result(int code, String out, String err) {
    }

    static Result frugal(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = FrugalCommand.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    /** Number of images in a page, after checking each is a readable PNG. */
    static int checkImages(Path html) throws IOException {
        Matcher m = Pattern.compile("<img src=\"([^\"]+)\"").matcher(Files.readString(html));
        int n = 0;
        while (m.find()) {
            Path png = html.getParent().resolve(m.group(1).replace("%20", " "));
            BufferedImage image = ImageIO.read(png.toFile());
            assertTrue(image != null && image.getWidth() >= 400 && image.getHeight() >= 200, png.toString());
            n++;
        }
        return n;
    }

    @Test
    void reportWritesThePageAndPrintsItsPath() throws IOException {
        Path run = SyntheticRuns.full(tmp.resolve("run"), "mobilenet-tiny", 1.0);
        Result r = frugal("report", run.toString());
        assertEquals(0, r.code(), r.err());
        Path html = run.toAbsolutePath().resolve("report.html");
        assertEquals(html.toString(), r.out().strip());
        String page = Files.readString(html);
        assertTrue(page.contains("mobilenet-tiny"), page);
        assertTrue(page.contains("Loss by step") && page.contains("Memory by step") && page.contains("Test accuracy by energy"), page);
        assertEquals(9, checkImages(html));
    }

    @Test
    void reportOfAnOldRunSkipsPlotsWithoutFailing() throws IOException {
        Path run = SyntheticRuns.old(tmp.resolve("old"), true);
        Result r = frugal("report", run.toString());
        assertEquals(0, r.code(), r.err());
        String page = Files.readString(run.resolve("report.html"));
        assertTrue(page.contains("Not plotted"), page);
        assertEquals(4, checkImages(run.resolve("report.html")));
    }

    @Test
    void reportOfADirectoryThatIsNotARunExitsTwoNamingIt() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("just-a-dir"));
        Result r = frugal("report", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(dir.toString()) && r.err().contains("not a run directory"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(Files.exists(dir.resolve("report.html")));
    }

    @Test
    void compareNamesBothRunsAndTheirModels() throws IOException {
        Path a = SyntheticRuns.full(tmp.resolve("runs/adamw-run"), "cnn-small", 1.4);
        Path b = SyntheticRuns.full(tmp.resolve("runs/sgd-run"), "mlp", 0.7);
        Path out = tmp.resolve("cmp.html");
        Result r = frugal("compare", a.toString(), b.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(out.toAbsolutePath().toString(), r.out().strip());
        String page = Files.readString(out);
        assertTrue(page.contains("adamw-run") && page.contains("sgd-run"), page);
        assertTrue(page.contains("cnn-small") && page.contains("mlp"), page);
        assertEquals(10, checkImages(out));
        assertTrue(Files.isDirectory(tmp.resolve("cmp-plots")));
    }

    @Test
    void compareRefusesADirectoryThatIsNotARun() throws IOException {
        Path a = SyntheticRuns.full(tmp.resolve("a"), "mlp", 1.0);
        Path notRun = Files.createDirectories(tmp.resolve("b"));
        Result r = frugal("compare", a.toString(), notRun.toString(), "--output", tmp.resolve("c.html").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(notRun.toString()), r.err());
        assertFalse(Files.exists(tmp.resolve("c.html")));
    }

    @Test
    void compareNeedsARun() {
        Result r = frugal("compare");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("RUN_DIR"), r.err());
    }
}
