package dev.frugal.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ./frugal launcher's JDK search, run as a real process. */
class LauncherTest {
    private static final Path LAUNCHER = Path.of(System.getProperty("user.dir")).getParent().resolve("frugal");

    @Test
    void withoutJdk25SaysSoAndExitsNonZero(@TempDir Path empty) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "--version").redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("JAVA_HOME", empty.toString());          // not a JDK at all
        env.put("PATH", "/usr/bin:/bin");                 // may hold an older java
        env.put("FRUGAL_JVM_DIRS", empty.toString());     // no system JDKs
        String out = run(pb);
        assertTrue(out.contains("no JDK 25 or newer found"), out);
    }

    @Test
    void findsTheRunningJdkThroughJavaHome() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "source <(sed -n '/^java_major()/,/^}/p;/^find_java()/,/^}/p' " + LAUNCHER + ") && find_java")
                .redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("FRUGAL_JVM_DIRS", "/nonexistent");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals(Path.of(System.getProperty("java.home"), "bin", "java").toRealPath(), Path.of(out).toRealPath());
    }

    private static String run(ProcessBuilder pb) throws IOException, InterruptedException {
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "launcher did not finish");
        assertEquals(1, p.exitValue(), out);
        return out;
    }
}
